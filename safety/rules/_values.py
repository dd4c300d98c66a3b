"""Exact number and whole-number checks shared by the safety rules (package-private).

Boundaries are compared in decimal (``Decimal(str(x))``, never ``Decimal(float)``) so that binary
floating-point error cannot move a value into the wrong grade (golden cases BIL-01, BIL-03).
"""

from __future__ import annotations

import numbers
from decimal import Decimal, InvalidOperation

# ---------------------------------------------------------------------------------------------
# Small validation helpers
# ---------------------------------------------------------------------------------------------


def _decimal(
    value: object,
    name: str,
    *,
    minimum: Decimal | int | None = None,
    positive: bool = False,
    allow_none: bool = False,
) -> Decimal | None:
    """A number as an exact Decimal of its shortest decimal text (never Decimal(float))."""
    if value is None:
        if allow_none:
            return None
        raise ValueError(f"{name} is required (a number); got None")
    if isinstance(value, bool):
        raise ValueError(f"{name} must be a number (int, float or Decimal); got {value!r}")
    try:
        if isinstance(value, Decimal):
            result = value
        elif isinstance(value, numbers.Integral):
            result = Decimal(int(value))
        elif isinstance(value, numbers.Real):
            result = Decimal(str(float(value)))
        else:
            raise TypeError
    except (TypeError, ValueError, InvalidOperation):
        raise ValueError(
            f"{name} must be a number (int, float or Decimal); got {value!r}"
        ) from None
    if not result.is_finite():
        raise ValueError(f"{name} must be a finite number; got {value!r}")
    if positive and result <= 0:
        raise ValueError(f"{name} must be greater than 0; got {value!r}")
    if minimum is not None and result < minimum:
        raise ValueError(f"{name} must be at least {minimum}; got {value!r}")
    return result


def _whole(
    value: object,
    name: str,
    *,
    low: int | None = None,
    high: int | None = None,
    allow_none: bool = False,
    allow_bool: bool = False,
) -> int | None:
    """A whole number (int, or an integral float/Decimal), optionally within [low, high]."""
    if value is None and allow_none:
        return None
    if isinstance(value, bool) and allow_bool:
        number = int(value)
    else:
        exact = _decimal(value, name)
        if exact != exact.to_integral_value():
            raise ValueError(f"{name} must be a whole number; got {value!r}")
        number = int(exact)
    if (low is not None and number < low) or (high is not None and number > high):
        bounds = f"{low}..{high}" if high is not None else f">= {low}"
        raise ValueError(f"{name} must be a whole number in {bounds}; got {value!r}")
    return number


def _fmt(value: Decimal | int | float) -> str:
    """Decimal text without a trailing exponent or needless zeros (for messages)."""
    if isinstance(value, Decimal):
        text = format(value.normalize(), "f")
        return text
    return str(value)
