"""Number, flag, count and date checks shared by the efficacy rules (package-private).

Thresholds are compared in decimal (``Decimal(str(x))``), never on binary floats.
"""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal

import numpy as np

from efficacy.rules.settings import SETTINGS_CHOICES
from rulekit.validation import choice

# ---------------------------------------------------------------------------------------------
# Validation helpers
# ---------------------------------------------------------------------------------------------

Number = int | float | Decimal


def _choice(name: str, value: object) -> object:
    """Check a setting's value against ``SETTINGS_CHOICES[name]``."""
    return choice(value, name, SETTINGS_CHOICES[name])


def _dec(name: str, value: object) -> Decimal:
    """A finite number as Decimal via ``str`` (never ``Decimal(float)``)."""
    if isinstance(value, bool | np.bool_) or value is None:
        raise ValueError(f"{name} must be a number (int, float or Decimal); got {value!r}")
    if isinstance(value, Decimal):
        d = value
    elif isinstance(value, int | np.integer):
        d = Decimal(int(value))
    elif isinstance(value, float | np.floating):
        d = Decimal(repr(float(value)))
    else:
        raise ValueError(f"{name} must be a number (int, float or Decimal); got {value!r}")
    if not d.is_finite():
        raise ValueError(f"{name} must be a finite number; got {value!r}")
    return d


def _opt_dec(
    name: str, value: object, *, lo: Decimal | None = None, hi: Decimal | None = None
) -> Decimal | None:
    """``None`` (not known) or a number within [lo, hi]."""
    if value is None:
        return None
    d = _dec(name, value)
    if (lo is not None and d < lo) or (hi is not None and d > hi):
        if hi is None:
            raise ValueError(f"{name} must be ≥ {lo}; got {value!r}")
        raise ValueError(f"{name} must be between {lo} and {hi}; got {value!r}")
    return d


def _opt_bool(name: str, value: object) -> bool | None:
    if value is None:
        return None
    if isinstance(value, bool | np.bool_):
        return bool(value)
    raise ValueError(f"{name} must be True, False or None (not known); got {value!r}")


def _bool(name: str, value: object) -> bool:
    if isinstance(value, bool | np.bool_):
        return bool(value)
    raise ValueError(f"{name} must be True or False; got {value!r}")


def _count(name: str, value: object) -> int:
    """A non-negative whole number (int, or a float/Decimal with no fractional part)."""
    d = _dec(name, value)
    if d < 0 or d != d.to_integral_value():
        raise ValueError(f"{name} must be a whole number ≥ 0; got {value!r}")
    return int(d)


def _date(name: str, value: object, *, optional: bool = True) -> date | None:
    if value is None and optional:
        return None
    if isinstance(value, datetime) or not isinstance(value, date):
        raise ValueError(f"{name} must be a datetime.date; got {value!r}")
    return value


_PCT_0 = Decimal(0)
_PCT_100 = Decimal(100)
