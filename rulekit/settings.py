"""Declared study settings of a rules module: type, allowed values or range, checked in one place.

Why: a stored study setting must always be one the rules accept (issue 10 item 3). Each rules
module declares its settings once — ``SETTINGS_DEFAULTS`` (the default gives the type),
``SETTINGS_CHOICES`` (coded values) and ``SETTINGS_RANGES`` (numbers) — and both its rule
functions and the study-settings layer call :func:`check_settings` on them, so the page cannot
store what a rule would refuse.

Types follow the default: ``bool`` (true/false only, never 1/0), text, and numbers. A number
setting must have a :class:`Range`; ``whole`` numbers refuse fractions (2.0 is accepted as 2).
Booleans are never numbers, and NaN or infinite values are refused.
"""

from __future__ import annotations

import math
import numbers
from collections.abc import Mapping
from dataclasses import dataclass
from decimal import Decimal

from rulekit.validation import allowed_text, choice


@dataclass(frozen=True)
class Range:
    """The inclusive range of a number setting; ``unit`` is shown beside the value."""

    minimum: float
    maximum: float
    whole: bool = False
    unit: str = ""

    def describe(self) -> str:
        kind = "a whole number" if self.whole else "a number"
        unit = f" {self.unit}" if self.unit else ""
        return f"{kind} from {_text(self.minimum)} to {_text(self.maximum)}{unit}"


class SettingsError(ValueError):
    """Every refused setting at once: ``errors`` maps the setting name to its message."""

    def __init__(self, errors: Mapping[str, str]):
        self.errors = dict(errors)
        super().__init__("; ".join(f"{k}: {v}" for k, v in self.errors.items()))


def _text(number: float) -> str:
    return f"{number:g}" if isinstance(number, float) else str(number)


def _finite_number(value: object) -> bool:
    if isinstance(value, bool) or not isinstance(value, numbers.Real | Decimal):
        return False
    if isinstance(value, Decimal):
        return value.is_finite()
    return math.isfinite(value)


def check_value(name: str, value: object, *, default: object, allowed, limits) -> object:
    """One setting's value, cleaned, or ``ValueError`` with a message an administrator reads."""
    if allowed is not None:
        return choice(value, name, allowed)
    if isinstance(default, bool):
        if not isinstance(value, bool):
            raise ValueError(f"{name} must be true or false; got {value!r}")
        return value
    if isinstance(default, numbers.Real | Decimal):
        if limits is None:
            raise ValueError(f"{name} has no declared range (a rules module bug)")
        if not _finite_number(value):
            raise ValueError(f"{name} must be {limits.describe()}; got {value!r}")
        if limits.whole:
            if value != int(value):
                raise ValueError(f"{name} must be {limits.describe()}; got {value!r}")
            value = int(value)
        if not limits.minimum <= value <= limits.maximum:
            raise ValueError(f"{name} must be {limits.describe()}; got {value!r}")
        return value
    if isinstance(default, str):
        if not isinstance(value, str) or not value.strip():
            raise ValueError(f"{name} must be non-empty text; got {value!r}")
        return value.strip()
    raise ValueError(f"{name} has a default of an unsupported type (a rules module bug)")


def check_settings(
    values: Mapping[str, object],
    *,
    defaults: Mapping[str, object],
    choices: Mapping[str, tuple],
    ranges: Mapping[str, Range],
) -> dict[str, object]:
    """The complete settings (defaults filled in), or ``SettingsError`` naming every bad one.

    Unknown names are refused: a misspelt setting silently ignored would change a decision.
    """
    if not isinstance(values, Mapping):
        raise SettingsError({"": f"the settings must be an object of settings; got {values!r}"})
    errors: dict[str, str] = {}
    cleaned: dict[str, object] = dict(defaults)
    for name, value in values.items():
        if name not in defaults:
            errors[str(name)] = f"{name} is not a setting; known: {allowed_text(sorted(defaults))}"
            continue
        try:
            cleaned[name] = check_value(
                name,
                value,
                default=defaults[name],
                allowed=choices.get(name),
                limits=ranges.get(name),
            )
        except ValueError as exc:
            errors[name] = str(exc)
    if errors:
        raise SettingsError(errors)
    return cleaned


def undeclared(
    defaults: Mapping[str, object], choices: Mapping[str, tuple], ranges: Mapping[str, Range]
) -> list[str]:
    """Number settings without a range or choices (each must have one; tested per module)."""
    return [
        name
        for name, default in defaults.items()
        if isinstance(default, numbers.Real | Decimal)
        and not isinstance(default, bool)
        and name not in choices
        and name not in ranges
    ]
