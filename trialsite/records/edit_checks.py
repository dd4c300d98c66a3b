"""Edit checks: declarative data checks run by the service on every save (docs/architecture.md §10).

A CRF declares its checks next to its fields, as a class attribute::

    class ScreeningLabs(ScreeningCRF):
        edit_checks = (
            range_check("LB-PLT-RANGE", "platelets_10e9_l", 0, 2000, "×10⁹/L"),
            soft("LB-ALT-HIGH", "alt_u_l", alt_far_above_uln, _("ALT above 5 × ULN: confirm.")),
        )

*Hard* checks refuse the save with a field error (forms, API and imports alike, because they all
call the service). *Soft* checks let the save through and open an automatic data query on the
field, which the service closes when the data is corrected (``trialsite.records.queries``).
Checks declared on a base class run for all its subclasses (the MRO is walked), and apps may
add checks to any model with :func:`register`. ``manage.py run_edit_checks`` runs every check
over existing data after a check is added.

A check's ``test(record)`` returns a false value when the data is fine, and otherwise ``True``
(the declared message), a message, or — for a check that covers many fields at once (e.g. "no
date in the future" on every date field) — a ``{field: message}`` mapping.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass

from django.core.exceptions import ValidationError

HARD = "hard"
SOFT = "soft"

Test = Callable[[object], object]


@dataclass(frozen=True)
class EditCheck:
    ref: str  # stable rule reference: automatic queries are keyed by it
    field: str  # the field the message lands on ("" for a many-field check)
    test: Test
    message: object = ""
    severity: str = HARD


@dataclass(frozen=True)
class Failure:
    ref: str
    field: str
    message: str
    severity: str


def hard(ref: str, field: str, test: Test, message: object = "") -> EditCheck:
    return EditCheck(ref, field, test, message, HARD)


def soft(ref: str, field: str, test: Test, message: object = "") -> EditCheck:
    return EditCheck(ref, field, test, message, SOFT)


_REGISTERED: dict[type, list[EditCheck]] = {}


def register(model: type, *checks: EditCheck) -> None:
    """Add checks to ``model`` (and so to its subclasses) from outside its module."""
    existing = _REGISTERED.setdefault(model, [])
    for check in checks:
        if check not in existing:
            existing.append(check)


def checks_for(model: type) -> list[EditCheck]:
    """Every check that applies to ``model``: its own, its bases', and registered ones."""
    found: list[EditCheck] = []
    for klass in reversed(model.__mro__):
        found.extend(klass.__dict__.get("edit_checks", ()))
        found.extend(_REGISTERED.get(klass, ()))
    return found


def failures(record, *, severity: str | None = None) -> list[Failure]:
    """Run the checks of the record's model on the record as it is (saved or not)."""
    result = []
    for check in checks_for(type(record)):
        if severity and check.severity != severity:
            continue
        outcome = check.test(record)
        if not outcome:
            continue
        if isinstance(outcome, Mapping):
            items: Iterable = outcome.items()
        elif outcome is True:
            items = [(check.field, check.message)]
        else:
            items = [(check.field, outcome)]
        result.extend(Failure(check.ref, f, str(m), check.severity) for f, m in items)
    return result


def refuse_hard_failures(record) -> None:
    """Raise one ``ValidationError`` with every hard failure on its field (code = rule ref)."""
    found = failures(record, severity=HARD)
    if not found:
        return
    errors: dict[str, list[ValidationError]] = {}
    for failure in found:
        errors.setdefault(failure.field or "__all__", []).append(
            ValidationError(failure.message, code=failure.ref)
        )
    raise ValidationError(errors)


def soft_failures(record) -> list[Failure]:
    return failures(record, severity=SOFT)


# --- Building blocks for declarations --------------------------------------------------------


def range_check(ref: str, field: str, low: float, high: float, unit: str = "") -> EditCheck:
    """A hard plausibility check: a value no living patient can have is refused."""
    from django.utils.translation import gettext_lazy as _

    shown = f" {unit}" if unit else ""
    message = _("%(value)s is not a possible value here (plausible: %(low)s–%(high)s%(unit)s).")

    def test(record):
        value = getattr(record, field)
        if value is None or low <= value <= high:
            return None
        return message % {"value": value, "low": low, "high": high, "unit": shown}

    return hard(ref, field, test)
