"""From CRF values to the rules' inputs, and from the rules' answer to a grade and a sentence.

One function per CRF (``grade_crs_values``, ``grade_icans_values``) turns the values a user typed
into the inputs of ``safety.rules.crs_assessment`` / ``icans_grade`` (docs/rules/safety.md
"Daily CRS and ICANS CRFs"), refuses impossible or incomplete input with coded field errors, and
names the deciding parameter. The save (``safety.services.crs_icans``) and the live-grade
endpoint both call these functions, so the grade shown while typing is the grade stored.
No grading happens here: the rules decide; this module only explains which domain reached the
grade the rules returned.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from decimal import Decimal

from django.core.exceptions import ValidationError
from django.utils.translation import gettext_lazy as _

from safety import rules
from safety.models.crs_icans import ICE_ITEMS, VASOPRESSOR_DOSES

DOSE_REQUIRED = _("Give the dose of %(drug)s (%(unit)s): a vasopressor without a dose is refused.")
DOSE_WITHOUT_DRUG = _("A dose is given but %(drug)s is not ticked.")
UNKNOWN_VASOPRESSOR = _("Unknown vasopressor: %(value)s.")
FLOW_REQUIRED = _("Give the flow: a nasal cannula above 6 L/min is high flow (grade 3).")
ROOM_AIR_FLOW = _("Room air has no oxygen flow: choose the device or clear the flow.")
FIO2_REQUIRED = _("Give the FiO₂: this study grades CRS with CTCAE v5.0, which needs it.")
TEMPERATURE_REQUIRED = _("Give the day's maximum temperature.")
GIVEN_NEEDS_DOSE = _("Give the dose.")
GIVEN_NEEDS_DRUG = _("Name the corticosteroid.")
NOT_GIVEN = _("Tick 'given' or clear this field.")
ICE_ITEM_REQUIRED = _("Score this ICE item, or tick 'ICE not assessable'.")
ICE_ITEM_RANGE = _("The score must be a whole number from 0 to %(high)s.")
ICE_NOT_ASSESSABLE = _("ICE is marked not assessable: leave the items empty.")
UNAROUSABLE_ICE = _("An unarousable patient scores 0 on every ICE item.")
RULE_REFUSED = _("Not a value the grading accepts: %(message)s")

ICE_HIGH = {
    "ice_orientation": 4,
    "ice_naming": 3,
    "ice_commands": 1,
    "ice_writing": 1,
    "ice_attention": 1,
}

_CRS_SENTENCES = {
    "not_crs": _("no fever and no earlier CRS treatment: not CRS"),
    "not_crs_review": _(
        "hypotension or hypoxia without fever: not CRS by ASTCT; look for another cause "
        "(investigator review)"
    ),
    "fever": _("fever without hypotension or oxygen need"),
    "treated": _("CRS already treated, so fever is not needed; no hypotension or oxygen need"),
    "hypotension_no_vasopressor": _("hypotension not needing vasopressors"),
    "hypotension_one_vasopressor": _("hypotension needing one vasopressor"),
    "hypotension_multiple_vasopressors": _("hypotension needing more than one vasopressor"),
    "oxygen_low_flow": _("oxygen by low-flow nasal cannula (≤ 6 L/min) or blow-by"),
    "oxygen_high_flow": _(
        "oxygen by high-flow nasal cannula, face mask, non-rebreather or Venturi"
    ),
    "oxygen_positive_pressure": _("positive-pressure ventilation (CPAP, BiPAP, intubation)"),
    "unknown": _("cannot be graded yet"),
}

_ICANS_SENTENCES = {
    "none": _("ICE score 10 and no other finding: no ICANS"),
    "ice": _("ICE score %(ice)s"),
    "consciousness": _("depressed level of consciousness (%(consciousness)s)"),
    "seizure": _("seizure (%(seizure)s)"),
    "motor": _("deep focal motor weakness"),
    "raised_icp": _("raised intracranial pressure / cerebral oedema (%(raised_icp)s)"),
    "not_assessable": _("ICE not assessable and no other finding: no ICANS"),
}


@dataclass(frozen=True)
class Grading:
    """A day's grade (``None`` when it cannot be given), the deciding codes and the sentence."""

    grade: int | None
    deciding: str
    sentence: str
    fever: bool | None = None
    needs_review: bool = False
    ice_score: int | None = None

    def as_dict(self) -> dict:
        return {
            "grade": self.grade,
            "deciding": self.deciding,
            "sentence": self.sentence,
            "fever": self.fever,
            "needs_review": self.needs_review,
            "ice_score": self.ice_score,
        }


def _headline(grade: int | None, parts: list[str]) -> str:
    text = str(_(" and ")).join(parts)
    if grade is None:
        return str(_("Grade not yet known: %(why)s")) % {"why": text}
    return str(_("Grade %(grade)s: %(why)s")) % {"grade": grade, "why": text}


def crs_sentence(grade: int | None, deciding: str) -> str:
    parts = [str(_CRS_SENTENCES.get(code, code)) for code in deciding.split("+") if code]
    return _headline(grade, parts or [str(_CRS_SENTENCES["unknown"])])


def _raise(errors: dict[str, ValidationError]) -> None:
    if errors:
        raise ValidationError(errors)


def crs_rule_inputs(values: Mapping) -> dict:
    """The inputs of ``crs_assessment`` from the CRF values (field errors for bad input).

    Mapping (docs/rules/safety.md): ``max_temperature_c`` -> ``temperature_c``; the ticked
    ``vasopressors`` and ``hypotension`` -> ``hypotension_category``; ``oxygen_device`` and
    ``oxygen_flow_l_min`` -> ``oxygen_category``; ``fio2_percent`` for CTCAE v5.0.
    """
    errors: dict[str, ValidationError] = {}
    temperature = values.get("max_temperature_c")
    if temperature is None:
        errors["max_temperature_c"] = ValidationError(TEMPERATURE_REQUIRED, code="required")
    ticked = list(values.get("vasopressors") or [])
    for drug in ticked:
        if drug not in VASOPRESSOR_DOSES:
            errors["vasopressors"] = ValidationError(
                UNKNOWN_VASOPRESSOR % {"value": drug}, code="invalid_choice"
            )
    for drug, (field, unit, _low, _high) in VASOPRESSOR_DOSES.items():
        dose = values.get(field)
        label = drug.replace("_", " ")
        if drug in ticked and (dose is None or Decimal(dose) <= 0):
            errors[field] = ValidationError(
                DOSE_REQUIRED % {"drug": label, "unit": unit}, code="dose_required"
            )
        elif drug not in ticked and dose is not None:
            errors[field] = ValidationError(
                DOSE_WITHOUT_DRUG % {"drug": label}, code="inconsistent"
            )
    device = values.get("oxygen_device") or "room_air"
    flow = values.get("oxygen_flow_l_min")
    if device == "nasal_cannula" and flow is None:
        errors["oxygen_flow_l_min"] = ValidationError(FLOW_REQUIRED, code="required_if")
    if device == "room_air" and flow not in (None, 0):
        errors["oxygen_flow_l_min"] = ValidationError(ROOM_AIR_FLOW, code="inconsistent")
    _treatment_errors(values, errors, tocilizumab=True)
    _raise(errors)
    try:
        hypotension = rules.hypotension_category(
            hypotension=bool(values.get("hypotension")), vasopressors=ticked
        )
        oxygen = rules.oxygen_category(device, flow)
    except ValueError as exc:
        raise ValidationError(
            {"oxygen_device": ValidationError(RULE_REFUSED % {"message": exc}, code="rule_input")}
        ) from None
    return {
        "temperature_c": temperature,
        "hypotension": hypotension,
        "oxygen": oxygen,
        "fio2_percent": values.get("fio2_percent"),
    }


def _treatment_errors(values: Mapping, errors: dict, *, tocilizumab: bool) -> None:
    if tocilizumab:
        given = bool(values.get("tocilizumab_given"))
        dose = values.get("tocilizumab_dose_mg")
        if given and dose is None:
            errors["tocilizumab_dose_mg"] = ValidationError(GIVEN_NEEDS_DOSE, code="required_if")
        elif not given and dose is not None:
            errors["tocilizumab_dose_mg"] = ValidationError(NOT_GIVEN, code="inconsistent")
    given = bool(values.get("corticosteroid_given"))
    for field, message in (
        ("corticosteroid_drug", GIVEN_NEEDS_DRUG),
        ("corticosteroid_dose_mg", GIVEN_NEEDS_DOSE),
    ):
        value = values.get(field)
        if given and value in (None, ""):
            errors[field] = ValidationError(message, code="required_if")
        elif not given and value not in (None, ""):
            errors[field] = ValidationError(NOT_GIVEN, code="inconsistent")


def grade_crs_values(values: Mapping, *, fever_treated: bool, settings: Mapping) -> Grading:
    """Grade one day's CRS from its CRF values (``fever_treated`` comes from the earlier days)."""
    inputs = crs_rule_inputs(values)
    options = rules.settings_for(rules.crs_assessment, settings)
    try:
        result = rules.crs_assessment(**inputs, fever_treated=fever_treated, **options)
    except ValueError as exc:
        field = "max_temperature_c" if str(exc).startswith("temperature") else "fio2_percent"
        raise ValidationError(
            {field: ValidationError(RULE_REFUSED % {"message": exc}, code="out_of_range")}
        ) from None
    if result.grade is None and result.scale == "CTCAE5" and result.oxygen_grade is None:
        raise ValidationError({"fio2_percent": ValidationError(FIO2_REQUIRED, code="required_if")})
    deciding = _crs_deciding(result, inputs)
    return Grading(
        grade=result.grade,
        deciding=deciding,
        sentence=crs_sentence(result.grade, deciding),
        fever=result.fever_present,
        needs_review=result.needs_review,
    )


def _crs_deciding(result: rules.CRSAssessment, inputs: Mapping) -> str:
    """Which domain(s) reached the grade the rule gave (the rule's own domain grades)."""
    grade = result.grade
    if grade is None:
        return "unknown"
    if grade == 0:
        return "not_crs_review" if result.needs_review else "not_crs"
    parts = []
    if result.hypotension_grade == grade and grade >= 2:
        parts.append(f"hypotension_{inputs['hypotension']}")
    if result.oxygen_grade == grade and grade >= 2:
        parts.append(f"oxygen_{inputs['oxygen']}")
    if not parts:
        parts.append("fever" if result.fever_present else "treated")
    return "+".join(parts)


# --- ICANS ------------------------------------------------------------------------------------


def icans_sentence(grade: int | None, deciding: str, values: Mapping) -> str:
    from safety.models.crs_icans import Consciousness, RaisedICP, Seizure

    shown = {
        "ice": values.get("ice_score"),
        "consciousness": _label(Consciousness, values.get("consciousness")),
        "seizure": _label(Seizure, values.get("seizure")),
        "raised_icp": _label(RaisedICP, values.get("raised_icp")),
    }
    parts = [str(_ICANS_SENTENCES[code]) % shown for code in deciding.split("+") if code]
    return _headline(grade, parts)


def _label(choices, value) -> str:
    try:
        return str(choices(value).label)
    except ValueError:
        return str(value)


def ice_from_values(values: Mapping) -> int | None:
    """The ICE score from the five items (``None`` when not assessable); field errors."""
    errors: dict[str, ValidationError] = {}
    not_assessable = bool(values.get("ice_not_assessable"))
    for item in ICE_ITEMS:
        value = values.get(item)
        if not_assessable:
            if value is not None:
                errors[item] = ValidationError(ICE_NOT_ASSESSABLE, code="inconsistent")
        elif value is None:
            errors[item] = ValidationError(ICE_ITEM_REQUIRED, code="required")
        elif not (isinstance(value, int) and 0 <= value <= ICE_HIGH[item]):
            errors[item] = ValidationError(
                ICE_ITEM_RANGE % {"high": ICE_HIGH[item]}, code="out_of_range"
            )
    _raise(errors)
    if not_assessable:
        return None
    return rules.ice_score(
        orientation=values["ice_orientation"],
        naming=values["ice_naming"],
        commands=values["ice_commands"],
        writing=values["ice_writing"],
        attention=values["ice_attention"],
    )


def grade_icans_values(values: Mapping, *, settings: Mapping) -> Grading:
    """Grade one day's ICANS from its CRF values and name the deciding domain(s)."""
    errors: dict[str, ValidationError] = {}
    _treatment_errors(values, errors, tocilizumab=False)
    _raise(errors)
    score = ice_from_values(values)
    domains = {
        "consciousness": values.get("consciousness") or "awake",
        "seizure": values.get("seizure") or "none",
        "motor": values.get("motor") or "none",
        "raised_icp": values.get("raised_icp") or "none",
    }
    if domains["consciousness"] == "unarousable" and score not in (None, 0):
        first = next(i for i in ICE_ITEMS if values.get(i))
        raise ValidationError({first: ValidationError(UNAROUSABLE_ICE, code="unarousable_ice")})
    options = rules.settings_for(rules.icans_grade, settings)
    try:
        grade = rules.icans_grade(ice_score=score, **domains, **options)
        # Each domain alone, graded by the same rule, says which domain reached the grade.
        by_domain = {
            "ice": rules.icans_grade(ice_score=score, **options) if score is not None else 0
        }
        for name, value in domains.items():
            by_domain[name] = rules.icans_grade(ice_score=None, **{name: value}, **options)
    except ValueError as exc:
        raise ValidationError(
            {"consciousness": ValidationError(RULE_REFUSED % {"message": exc}, code="rule_input")}
        ) from None
    if grade == 0:
        deciding = "none" if score is not None else "not_assessable"
    else:
        deciding = "+".join(name for name, g in by_domain.items() if g == grade)
    shown = {**values, "ice_score": score}
    return Grading(
        grade=grade,
        deciding=deciding,
        sentence=icans_sentence(grade, deciding, shown),
        ice_score=score,
    )


def stored_sentence(record) -> str:
    """The sentence of a saved day's stored grade and deciding parameter (for pages and API)."""
    if not record.deciding:
        return ""
    if hasattr(record, "max_temperature_c"):
        return crs_sentence(record.grade, record.deciding)
    values = {name: getattr(record, name) for name in ("consciousness", "seizure", "raised_icp")}
    return icans_sentence(record.grade, record.deciding, {**values, "ice_score": record.ice_score})
