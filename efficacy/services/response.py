"""Response assessments: the ELN 2022 category and MRD status, derived on save and while typing.

``classify(subject, values, record=)`` turns the CRF's values into the inputs of
``efficacy.rules.classify_response`` and ``mrd_status`` with the study's efficacy settings
(``Study.rule_settings("efficacy")``, checked by ``efficacy.rules.validate_settings``) and says
why in one sentence ("CRi: blasts 2 % < 5 %, ANC 0.6 < 1.0 ×10⁹/L, platelets 120 ≥ 100"). The
save (``save_response_assessment``) and the live endpoint (``efficacy.views.response_live``)
both call it, so the category shown while typing is the one stored. No rule runs elsewhere.

Baseline marrow blasts (the PR comparison, ELN 2022 Table 6): the screening AML history's marrow
blast percentage; only when screening has none, the "baseline marrow blasts" typed on this CRF.

The investigator then confirms the computed category or overrides it with a reason
(``confirm_response``: both kept, audited, e-signed with the password). A later change of the
inputs that changes the computed category or MRD status clears the decision (audited): the
investigator's word covered the values they saw.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from decimal import Decimal

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils.translation import gettext_lazy as _

from efficacy import rules
from efficacy.models import ResponseAssessment, ResponseDecision
from efficacy.models.follow_up import DiseaseEvent, DiseaseEventType
from efficacy.models.response import TIMEPOINT_VISIT, ResponseTimepoint
from enrollment.models import Subject, Visit
from enrollment.models.screening import AmlHistory
from enrollment.services import mark_entered, require_data_entry
from trialsite import clock
from trialsite.records import services as records
from trialsite.records.exceptions import field_error
from trialsite.records.models import ClinicalRecord, RecordStatus
from trialsite.studies import permissions
from trialsite.studies.roles import Action

NO_DAY0 = _("Record the CAR-T infusion (Day 0) before the response assessments.")
BEFORE_DAY0 = _("The assessment is before Day 0 (%(day0)s), the CAR-T infusion.")
AFTER_DEATH = _("The assessment is after the recorded death (%(death)s).")
ONE_PER_VISIT = _("A %(visit)s response assessment is already recorded: open it to correct it.")
OUT_OF_RANGE = _("A percentage must be between 0 and 100; got %(value)s.")
CELLS_BELOW_EVENTS = _(
    "Cells acquired (%(cells)s) cannot be fewer than the leukaemic events (%(events)s)."
)
NOTHING_TO_UPDATE = _("There is no saved assessment to update: leave out the version to create it.")
WRONG_SUBJECT = _("This assessment belongs to another subject.")
NOT_INVESTIGATOR = _("Only an investigator of the subject's site confirms a response.")
OVERRIDE_REASON = _("Give the reason for overriding the computed category.")
OVERRIDE_SAME = _("%(category)s is the computed category: confirm it instead of overriding.")
BAD_PASSWORD = _("The password is not correct: the response was not confirmed.")
CONFIRM_MEANING = _(
    "I confirm the ELN 2022 response category %(category)s (computed %(computed)s)."
)
OVERRIDE_MEANING = _(
    "I record the ELN 2022 response category %(category)s instead of the computed %(computed)s."
)

#: Inputs the form and the API write (derived and decision fields are the service's).
_BOOKKEEPING = {f.name for f in ClinicalRecord._meta.concrete_fields} | {"id", "subject", "visit"}
INPUT_FIELDS = [
    f.name
    for f in ResponseAssessment._meta.concrete_fields
    if f.editable and f.name not in _BOOKKEEPING
]
_PCT_FIELDS = ("bm_blasts_pct", "bm_cellularity_pct", "pb_blasts_pct", "baseline_bm_blasts_entered")
_FINDING = {"yes": True, "no": False, "not_assessed": None}
#: ELN 2022: marrow blasts are counted on at least 200 nucleated cells.
MIN_MARROW_CELLS = 200
_ANC_CR, _ANC_CRH, _PLT_CR, _PLT_CRH = Decimal("1.0"), Decimal("0.5"), Decimal(100), Decimal(50)


@dataclass(frozen=True)
class Classification:
    """What the rules say of one assessment, and why."""

    category: str
    mrd_status: str
    sentence: str
    baseline_bm_blasts_pct: Decimal | None
    baseline_source: str
    settings: dict

    def as_dict(self) -> dict:
        return {
            "grade": self.category,  # static/js/live_grade.js shows ``sentence``
            "category": self.category,
            "mrd_status": self.mrd_status,
            "sentence": self.sentence,
            "baseline_bm_blasts_pct": (
                None if self.baseline_bm_blasts_pct is None else str(self.baseline_bm_blasts_pct)
            ),
            "baseline_source": self.baseline_source,
        }


def _merged(existing, values: Mapping) -> dict:
    defaults = {
        f.name: f.get_default()
        for f in ResponseAssessment._meta.concrete_fields
        if f.name in INPUT_FIELDS
    }
    base = {n: getattr(existing, n) for n in INPUT_FIELDS} if existing is not None else {}
    return {**defaults, **base, **values}


def _fmt(value) -> str:
    if value is None:
        return "?"
    text = f"{Decimal(value):f}"
    return text.rstrip("0").rstrip(".") if "." in text else text


def check_inputs(values: Mapping) -> None:
    """Field errors for input no rule may read: percentages outside 0–100, fewer cells than
    leukaemic events (RULES.md §1.2–1.3)."""
    errors = {}
    for name in _PCT_FIELDS:
        value = values.get(name)
        if value is not None and not (Decimal(0) <= Decimal(value) <= Decimal(100)):
            errors[name] = ValidationError(
                OUT_OF_RANGE % {"value": _fmt(value)}, code="out_of_range"
            )
    events, cells = values.get("flow_leukemic_events"), values.get("flow_cells_acquired")
    if events is not None and cells is not None and cells < events:
        errors["flow_cells_acquired"] = ValidationError(
            CELLS_BELOW_EVENTS % {"cells": cells, "events": events}, code="below_events"
        )
    if errors:
        raise ValidationError(errors)


def baseline_blasts(subject: Subject, values: Mapping) -> tuple[Decimal | None, str]:
    """(baseline marrow blasts %, "screening" | "entered" | "")."""
    screening = (
        AmlHistory.objects.filter(subject=subject)
        .values_list("marrow_blasts_pct", flat=True)
        .first()
    )
    if screening is not None:
        return screening, "screening"
    entered = values.get("baseline_bm_blasts_entered")
    if entered is not None:
        return Decimal(entered), "entered"
    return None, ""


def _marrow_adequate(values: Mapping) -> bool | None:
    """Adequate as ticked, and with ≥ 200 nucleated cells counted when the count is given
    (ELN 2022: a marrow of fewer cells cannot show < 5 % blasts)."""
    adequacy = values.get("bm_adequacy")
    if adequacy == "not_done":
        return None
    cells = values.get("bm_cells_counted")
    too_few = cells is not None and cells < MIN_MARROW_CELLS
    return adequacy != "inadequate" and not too_few


def _counts_text(anc, plt) -> str:
    def part(label, value, cut, unit=""):
        if value is None:
            return f"{label} not recorded"
        sign = "≥" if Decimal(value) >= cut else "<"
        return f"{label} {_fmt(value)} {sign} {_fmt(cut)}{unit}"

    return ", ".join((part("ANC", anc, _ANC_CR, " ×10⁹/L"), part("platelets", plt, _PLT_CR)))


def explain(category: str, facts: Mapping, baseline) -> str:
    """The sentence naming why the rules gave ``category`` (the values against ELN thresholds)."""
    blasts, anc, plt = facts["bm_blasts_pct"], facts["anc"], facts["platelets"]
    pb, emd = facts["pb_blasts"], facts["extramedullary_disease"]
    if category == "NE":
        if facts["marrow_adequate"] is not True:
            cells = facts.get("cells")
            if cells is not None and cells < MIN_MARROW_CELLS:
                return f"NE: {cells} marrow cells counted < 200 (no adequate marrow)"
            return "NE: no adequate marrow (ELN 2022 needs ≥ 200 cells on an aspirate)"
        if blasts is None:
            return "NE: marrow blasts not recorded"
        return "NE: a finding that decides the category is not recorded"
    blast_text = f"blasts {_fmt(blasts)} %"
    if category in ("CR", "CRi", "MLFS"):
        return f"{category}: {blast_text} < 5 %, {_counts_text(anc, plt)}"
    if category == "CRh":
        return (
            f"CRh: {blast_text} < 5 %, ANC {_fmt(anc)} ≥ 0.5 and platelets {_fmt(plt)} ≥ 50 "
            f"×10⁹/L, not both at CR level ({_counts_text(anc, plt)})"
        )
    if category == "PR":
        fall = (Decimal(baseline) - Decimal(blasts)) / Decimal(baseline) * 100
        return (
            f"PR: {blast_text} (5–25 %), {fall:.1f} % below the baseline {_fmt(baseline)} %, "
            f"{_counts_text(anc, plt)}"
        )
    why = []
    if pb:
        why.append("circulating blasts")
    if emd:
        why.append("extramedullary disease")
    if blasts is not None and Decimal(blasts) >= 5:
        if Decimal(blasts) > 25:
            why.append(f"{blast_text} > 25 %")
        elif baseline is None or Decimal(baseline) == 0:
            why.append(f"{blast_text} ≥ 5 % with no baseline to compare")
        elif Decimal(baseline) < 2 * Decimal(blasts):
            fall = (Decimal(baseline) - Decimal(blasts)) / Decimal(baseline) * 100
            why.append(f"{blast_text}, a fall of {fall:.1f} % < 50 % from {_fmt(baseline)} %")
        else:
            why.append(f"{blast_text} ≥ 5 %, {_counts_text(anc, plt)}")
    return "No response: " + ("; ".join(why) if why else blast_text)


def _mrd_text(status: str, events, cells, settings: Mapping) -> str:
    if status == "not_applicable":
        return ""
    threshold = settings.get("threshold", 1e-4)
    if status == "not_evaluable":
        if events is None or not cells:
            return "; flow MRD not evaluable (no result)"
        return f"; flow MRD not evaluable ({cells} cells, sensitivity not reached)"
    level = Decimal(events) / Decimal(cells)
    sign = "<" if status == "negative" else "≥"
    return f"; flow MRD {status} ({events}/{cells} = {level:.1E} {sign} {threshold:g})"


def classify(
    subject: Subject, values: Mapping, *, record: ResponseAssessment | None = None
) -> Classification:
    """The category and MRD status this assessment gets if saved now (live endpoint and save).

    Field errors (``ValidationError``) for input the rules cannot read.
    """
    values = _merged(record, values)
    check_inputs(values)
    stored = subject.study.rule_settings("efficacy")
    try:
        response_settings = rules.settings_for(rules.classify_response, stored)
        mrd_settings = rules.settings_for(rules.mrd_status, stored)
    except ValueError as exc:
        raise ValidationError(str(exc), code="bad_settings") from exc
    baseline, source = baseline_blasts(subject, values)
    facts = {
        "bm_blasts_pct": values.get("bm_blasts_pct"),
        "baseline_bm_blasts_pct": baseline,
        "anc": values.get("anc_10e9_l"),
        "platelets": values.get("platelets_10e9_l"),
        "pb_blasts": _FINDING.get(values.get("pb_blasts")),
        "extramedullary_disease": _FINDING.get(values.get("extramedullary_disease")),
        "marrow_adequate": _marrow_adequate(values),
    }
    try:
        category = rules.classify_response(**facts, **response_settings)
        events, cells = values.get("flow_leukemic_events"), values.get("flow_cells_acquired")
        mrd = rules.mrd_status(
            response=category, leukemic_events=events, cells_acquired=cells, **mrd_settings
        )
    except ValueError as exc:
        raise ValidationError(str(exc), code="invalid") from exc
    sentence = explain(
        category, {**facts, "cells": values.get("bm_cells_counted")}, baseline
    ) + _mrd_text(mrd, events, cells, mrd_settings)
    return Classification(
        category=category,
        mrd_status=mrd,
        sentence=sentence,
        baseline_bm_blasts_pct=baseline,
        baseline_source=source,
        settings={**response_settings, **mrd_settings},
    )


def _death_date(subject: Subject):
    return (
        DiseaseEvent.objects.filter(subject=subject, event_type=DiseaseEventType.DEATH)
        .values_list("event_date", flat=True)
        .first()
    )


def _check_assessment(subject: Subject, values: Mapping, existing) -> None:
    day = values.get("assessment_date")
    if subject.day0 is None:
        raise field_error("assessment_date", NO_DAY0, "no_day0")
    if day is not None and day < subject.day0:
        raise field_error(
            "assessment_date", BEFORE_DAY0 % {"day0": subject.day0.isoformat()}, "before_day0"
        )
    death = _death_date(subject)
    if day is not None and death is not None and day > death:
        raise field_error("assessment_date", AFTER_DEATH % {"death": death}, "after_death")
    timepoint = values.get("timepoint")
    if timepoint and timepoint != ResponseTimepoint.UNSCHEDULED:
        clash = ResponseAssessment.objects.filter(subject=subject, timepoint=timepoint)
        if existing is not None:
            clash = clash.exclude(pk=existing.pk)
        if clash.exists():
            label = ResponseTimepoint(timepoint).label
            raise field_error("timepoint", ONE_PER_VISIT % {"visit": label}, "one_per_visit")


def _visit_for(subject: Subject, timepoint: str | None) -> Visit | None:
    code = TIMEPOINT_VISIT.get(timepoint or "")
    if code is None:
        return None
    return Visit.objects.filter(subject=subject, code=code).first()


def save_response_assessment(
    subject: Subject,
    *,
    actor,
    values: Mapping,
    record: ResponseAssessment | None = None,
    expected_version: int | None = None,
    reason: str = "",
) -> ResponseAssessment:
    """Add (``record=None``) or correct a response assessment; category and MRD are derived.

    Refused with field errors, nothing saved: a percentage outside 0–100 (``out_of_range``),
    fewer cells acquired than leukaemic events (``below_events``), an assessment before Day 0
    (``before_day0``) or without one (``no_day0``), after the recorded death (``after_death``),
    a second assessment for the same scheduled visit (``one_per_visit``).
    """
    with transaction.atomic():
        subject = Subject.objects.select_for_update().get(pk=subject.pk)  # one writer per subject
        existing = None
        if record is not None:
            existing = ResponseAssessment.objects.filter(pk=record.pk).first()
            if existing is None:
                raise field_error("version", NOTHING_TO_UPDATE, "no_record")
            if existing.subject_id != subject.pk:
                raise field_error("subject", WRONG_SUBJECT, "wrong_subject")
        else:
            require_data_entry(subject)
            if expected_version is not None:
                raise field_error("version", NOTHING_TO_UPDATE, "no_record")
        merged = _merged(existing, values)
        _check_assessment(subject, merged, existing)
        result = classify(subject, merged)
        derived = {
            "computed_category": result.category,
            "computed_reason": result.sentence[:300],
            "mrd_status": result.mrd_status,
            "baseline_bm_blasts_pct": result.baseline_bm_blasts_pct,
            "baseline_source": result.baseline_source,
            "rule_settings": result.settings,
        }
        visit = _visit_for(subject, merged.get("timepoint"))
        if existing is None:
            saved = records.create_record(
                ResponseAssessment,
                actor=actor,
                study=subject.study,
                status=RecordStatus.SUBMITTED,
                values={**values, **derived, "subject": subject, "visit": visit},
                reason=reason,
            )
        else:
            if existing.decision and (
                existing.computed_category != result.category
                or existing.mrd_status != result.mrd_status
            ):
                derived |= {
                    "decision": "",
                    "decided_category": "",
                    "override_reason": "",
                    "decided_by": None,
                    "decided_at": None,
                }
            saved = records.update_record(
                existing,
                actor=actor,
                values={**values, **derived, "visit": visit},
                expected_version=expected_version,
                reason=reason,
            )
        mark_entered(subject, visit, ResponseAssessment.crf_code)
    return saved


def confirm_response(
    record: ResponseAssessment,
    *,
    actor,
    password: str,
    expected_version: int | None,
    override_category: str = "",
    reason: str = "",
) -> ResponseAssessment:
    """The investigator confirms the computed category, or overrides it with a reason; e-signed.

    Both the computed category and the decision are kept (the category of record is the
    override if any). Refused with field errors, nothing saved: not an investigator of the
    subject's site, an override without a reason (``reason_required``) or equal to the computed
    category, a wrong password (``bad_password``), a stale version (``StaleVersion``).
    """
    reason = (reason or "").strip()
    override_category = override_category or ""
    with transaction.atomic():
        subject = Subject.objects.select_for_update().get(pk=record.subject_id)
        if not permissions.can(actor, Action.SIGN, study=subject.study_id, site=subject.site_id):
            raise ValidationError(NOT_INVESTIGATOR, code="not_investigator")
        current = ResponseAssessment.objects.get(pk=record.pk)
        if override_category:
            if override_category not in rules.RESPONSE_CATEGORIES:
                raise field_error(
                    "override_category",
                    _("Choose one of %s.") % ", ".join(rules.RESPONSE_CATEGORIES),
                    "invalid_choice",
                )
            if override_category == current.computed_category:
                raise field_error(
                    "override_category",
                    OVERRIDE_SAME % {"category": override_category},
                    "same_as_computed",
                )
            if not reason:
                raise field_error("reason", OVERRIDE_REASON, "reason_required")
        if not password or not actor.check_password(password):
            raise field_error("password", BAD_PASSWORD, "bad_password")
        decision = ResponseDecision.OVERRIDDEN if override_category else ResponseDecision.CONFIRMED
        category = override_category or current.computed_category
        updated = records.update_record(
            current,
            actor=actor,
            values={
                "decision": decision,
                "decided_category": category,
                "override_reason": reason if override_category else "",
                "decided_by": actor,
                "decided_at": clock.now(),
            },
            expected_version=expected_version,
            reason=(
                f"Response overridden to {category}: {reason}"
                if override_category
                else f"Response {category} confirmed by the investigator"
                + (f": {reason}" if reason else "")
            ),
        )
        meaning = (OVERRIDE_MEANING if override_category else CONFIRM_MEANING) % {
            "category": category,
            "computed": current.computed_category,
        }
        records.sign_record(
            updated,
            actor=actor,
            password=password,
            meaning=str(meaning),
            expected_version=updated.version,
        )
    updated.refresh_from_db()
    return updated
