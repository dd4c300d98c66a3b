"""Every dosing write: dose levels from the settings, cohort assignment and the treatment CRFs.

Each function follows the CRF service shape of ``enrollment.services.save_screening_crf``: the
subject first, keyword-only ``actor``, ``values``, ``record``, ``expected_version``, ``reason``;
one transaction; the subject row locked (one writer per subject) before the existing record is
read; the write through ``trialsite.records.services`` (audit, versions, edit checks, data
version). ``record_infusion`` sets Day 0 through ``enrollment.services.anchor_schedule``
(docs/architecture.md §2: enrollment owns Day 0 and the schedule).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils.translation import gettext_lazy as _

from dosing import rules, selectors
from dosing.models import (
    Apheresis,
    CohortAssignment,
    DecisionAction,
    DoseLevel,
    DosingCRF,
    EscalationDecision,
    Infusion,
    Lymphodepletion,
    ProductRelease,
    ReleaseResult,
)
from enrollment import plausibility
from enrollment import selectors as enrollment_selectors
from enrollment import services as enrollment
from enrollment.models import Subject, SubjectStatus, Visit
from safety import services as safety_services
from trialsite import clock
from trialsite.records import services as records
from trialsite.records.exceptions import StaleVersion, VersionRequired, field_error
from trialsite.records.models import RecordStatus
from trialsite.records.services import UNREAD

NOT_CONFIRMED = selectors.NOT_CONFIRMED
NO_CONSENT = selectors.NO_CONSENT
ALREADY_ASSIGNED = _("%(subject)s is already assigned to %(level)s (cohort %(cohort)s).")
NO_SUCH_LEVEL = _("%(level)s is not a configured dose level of this study.")
NOT_ASSIGNED = selectors.NOT_ASSIGNED
NO_APHERESIS = selectors.NO_APHERESIS
NO_RELEASE = selectors.NO_RELEASE
RELEASE_FAILED = selectors.RELEASE_FAILED
ALREADY_INFUSED = _(
    "%(subject)s was already infused on %(date)s: correct that infusion instead of adding one."
)
AFTER_INFUSION = selectors.AFTER_INFUSION
BEFORE_CONSENT = _("%(date)s is before informed consent was signed (%(icf)s).")
BEFORE_CONFIRMATION = _("%(date)s is before eligibility was confirmed (%(confirmed)s).")
BEFORE_RELEASE = _("%(date)s is before the product was released (%(release)s).")
BEFORE_LYMPHODEPLETION = _("%(date)s is before lymphodepletion started (%(start)s).")
SENTINEL = _(
    "Sentinel dosing: %(first)s, the first subject of %(level)s cohort %(cohort)s, was infused on "
    "%(day)s; the next subject of the cohort may be infused from %(earliest)s (%(days)s days)."
)
NO_DECISION = _(
    "No slot is open: the safety review committee has not signed a decision yet. The "
    "investigator records it on the escalation dashboard."
)
NOT_ENROLLING = _(
    "No slot is open: the latest signed decision (%(when)s) is to %(action)s, not to enroll."
)
LEVEL_CLOSED = _("%(level)s is closed: the latest signed decision opened slots at %(open)s only.")
SLOTS_FULL = _(
    "No slot is left: the latest signed decision opened %(slots)s at %(level)s and all are "
    "taken. A new safety-review decision is needed."
)
NOTHING_TO_UPDATE = enrollment.NOTHING_TO_UPDATE
ALREADY_ENTERED = enrollment.ALREADY_ENTERED


# --- Dose levels ----------------------------------------------------------------------------


def configured_levels(study) -> list[dict]:
    """The study's levels from its settings: DL−1 (level 0) first when it is configured."""
    document = study.settings or {}
    levels = [dict(item) for item in document.get("dose_levels") or []]
    dosing = document.get("dosing") or {}
    if dosing.get("dose_level_minus1"):
        crf = rules.validate_dosing_crf_settings(document.get("dosing_crf") or {})
        levels.insert(
            0,
            {
                "level": 0,
                "label": "DL-1",
                "dose_cells_per_kg": crf["dose_level_minus1_cells_per_kg"],
            },
        )
    return levels


def sync_dose_levels(study, *, actor=None, reason: str = "") -> list[DoseLevel]:
    """Make the study's ``DoseLevel`` rows match its settings (a settings change hook).

    Why rows and not just the settings: assignments point at a level, and the escalation gate
    will lock and count them. A level the settings no longer hold stays, inactive, so no
    assignment loses its level; a changed dose updates the row (infusions keep the planned dose
    they copied). Idempotent; ``actor`` and ``reason`` are the hook's signature (the settings
    change itself is the audited fact).
    """
    wanted = {item["level"]: item for item in configured_levels(study)}
    existing = {row.level: row for row in DoseLevel.objects.filter(study=study)}
    version = getattr(study, "settings_version", 0)
    for level, item in wanted.items():
        row = existing.get(level) or DoseLevel(study=study, level=level)
        changed = (
            row.pk is None
            or row.label != item["label"]
            or row.dose_cells_per_kg != float(item["dose_cells_per_kg"])
            or not row.is_active
        )
        if changed:
            # update_or_create: two first uses at once meet on the unique (study, level).
            DoseLevel.objects.update_or_create(
                study=study,
                level=level,
                defaults={
                    "label": item["label"],
                    "dose_cells_per_kg": float(item["dose_cells_per_kg"]),
                    "is_active": True,
                    "settings_version": version,
                },
            )
    for level, row in existing.items():
        if level not in wanted and row.is_active:
            row.is_active = False
            row.settings_version = version
            row.save()
    return list(DoseLevel.objects.filter(study=study, is_active=True).order_by("level"))


def dose_levels(study) -> list[DoseLevel]:
    """The active levels, built from the settings on first use."""
    levels = list(DoseLevel.objects.filter(study=study, is_active=True).order_by("level"))
    if not levels:
        levels = sync_dose_levels(study)
    return levels


# --- Prerequisites --------------------------------------------------------------------------


eligibility_confirmed_on = selectors.eligibility_confirmed_on
active_assignment = selectors.active_assignment
_local_date = selectors.local_date


def _require_confirmed(subject: Subject) -> dt.date:
    enrollment.require_data_entry(subject)
    if enrollment_selectors.active_consent(subject) is None:
        raise ValidationError(NO_CONSENT, code="no_consent")
    confirmed = eligibility_confirmed_on(subject)
    if confirmed is None:
        raise ValidationError(NOT_CONFIRMED, code="not_confirmed")
    return confirmed


def entry_blocked(subject: Subject, model: type[DosingCRF]) -> str:
    """Why ``model`` cannot be entered for the subject now ('' when it can)."""
    return selectors.blocked_reason(selectors.treatment_state(subject), model)


def _visit(subject: Subject, code: str) -> Visit | None:
    return Visit.objects.filter(subject=subject, code=code).first()


# --- Cohort assignment ----------------------------------------------------------------------


def assign_subject(
    subject: Subject,
    *,
    actor,
    dose_level: DoseLevel | int,
    phase: str | None = None,
    cohort_number: int | None = None,
    reason: str = "",
) -> CohortAssignment:
    """Assign an eligible subject to a dose level, phase and cohort; the subject is enrolled.

    Refused unless eligibility is confirmed (the investigator's signature still holds), the level
    is a configured level of the study, and the subject has no active assignment.

    The gate (issue 12 item 3): only the level and the number of slots the latest *signed*
    ``EscalationDecision`` opened. The decision's row is locked (``select_for_update``) before
    its assignments are counted, so two coordinators assigning at once are serialised on it and
    cannot overfill the cohort; only the latest decision counts, so slots never open at two
    levels at once. ``phase`` defaults to the decision's; ``cohort_number`` to the cohort the
    decision opened (the next number at the level).
    """
    with transaction.atomic():
        subject = Subject.objects.select_for_update().get(pk=subject.pk)  # one writer per subject
        _require_confirmed(subject)
        level_id = dose_level.pk if isinstance(dose_level, DoseLevel) else dose_level
        dose_levels(subject.study)  # first use builds the rows from the settings
        level = DoseLevel.objects.filter(study=subject.study, pk=level_id, is_active=True).first()
        if level is None:
            raise field_error("dose_level", NO_SUCH_LEVEL % {"level": level_id}, "no_such_level")
        current = active_assignment(subject)
        if current is not None:
            raise field_error(
                "dose_level",
                ALREADY_ASSIGNED
                % {
                    "subject": subject,
                    "level": current.dose_level.label,
                    "cohort": current.cohort_number,
                },
                "already_assigned",
            )
        decision = _open_decision(subject.study, level)
        phase = phase or decision.phase or "3+3"
        if cohort_number is None:
            cohort_number = _cohort_of(decision)
        now = clock.now()
        assignment = records.create_record(
            CohortAssignment,
            actor=actor,
            study=subject.study,
            status=RecordStatus.SUBMITTED,
            reason=reason,
            values={
                "subject": subject,
                "visit": None,
                "dose_level": level,
                "phase": phase,
                "cohort_number": cohort_number,
                "assigned_at": now,
                "assigned_by": actor,
                "decision": decision,
            },
        )
        if subject.enrollment_status == SubjectStatus.ELIGIBLE:
            records.update_record(
                subject,
                actor=actor,
                values={"enrollment_status": SubjectStatus.ENROLLED},
                expected_version=UNREAD,  # system transition under the subject lock
                reason=f"Assigned to {level.label}, cohort {cohort_number}",
            )
    return assignment


def latest_decision(study, *, lock: bool = False) -> EscalationDecision | None:
    """The latest signed safety-review decision of the study (locked when ``lock``)."""
    rows = EscalationDecision.objects.filter(study=study, status=RecordStatus.SIGNED)
    if lock:
        rows = rows.select_for_update(of=("self",))
    return rows.order_by("-pk").select_related("dose_level").first()


def _open_decision(study, level: DoseLevel) -> EscalationDecision:
    """The locked decision with a slot open at ``level``, or the field error saying why not."""
    decision = latest_decision(study, lock=True)
    if decision is None:
        raise field_error("dose_level", NO_DECISION, "no_decision")
    if decision.action != DecisionAction.ENROLL:
        raise field_error(
            "dose_level",
            NOT_ENROLLING
            % {
                "when": f"{decision.updated_at:%Y-%m-%d %H:%M}",
                "action": decision.get_action_display().lower(),
            },
            "not_enrolling",
        )
    if decision.dose_level_id != level.pk:
        raise field_error(
            "dose_level",
            LEVEL_CLOSED % {"level": level.label, "open": decision.dose_level.label},
            "level_closed",
        )
    taken = CohortAssignment.objects.filter(decision=decision, is_active=True).count()
    if taken >= decision.open_slots:
        raise field_error(
            "dose_level",
            SLOTS_FULL % {"slots": decision.open_slots, "level": level.label},
            "slots_full",
        )
    return decision


def open_slots(study) -> tuple[EscalationDecision | None, int]:
    """The latest signed decision and how many of its slots are still free (2 queries)."""
    decision = latest_decision(study)
    if decision is None or decision.action != DecisionAction.ENROLL:
        return decision, 0
    taken = CohortAssignment.objects.filter(decision=decision, is_active=True).count()
    return decision, max(0, decision.open_slots - taken)


def _cohort_of(decision: EscalationDecision) -> int:
    """The cohort number a decision's slots fill: the same as its first subject's, else the
    next number at the level."""
    first = CohortAssignment.objects.filter(decision=decision).order_by("pk").first()
    if first is not None:
        return first.cohort_number
    last = (
        CohortAssignment.objects.filter(dose_level=decision.dose_level)
        .order_by("-cohort_number")
        .values_list("cohort_number", flat=True)
        .first()
    )
    return (last or 0) + 1


# --- The treatment CRFs ---------------------------------------------------------------------


def _save_crf(
    subject: Subject,
    model: type[DosingCRF],
    *,
    actor,
    values: Mapping,
    record,
    expected_version,
    reason: str,
    extra: Mapping | None = None,
):
    """Create or update the subject's one ``model`` record (the subject is already locked).

    A first save with a version, or a change without one, is refused as in
    ``save_screening_crf``: nothing is overwritten that the user did not read.
    """
    existing = model.objects.filter(subject=subject).first()
    if existing is None:
        if record is not None or expected_version is not None:
            raise field_error("version", NOTHING_TO_UPDATE, "no_record")
        visit = _visit(subject, model.visit_code)
        saved = records.create_record(
            model,
            actor=actor,
            study=subject.study,
            status=RecordStatus.SUBMITTED,
            values={**values, **(extra or {}), "subject": subject, "visit": visit},
        )
        enrollment.mark_entered(subject, visit, model.crf_code)
        return saved
    if expected_version is None:
        if record is None:
            raise StaleVersion(
                user=str(existing.updated_by),
                when=records._when(existing.updated_at),
                current_version=existing.version,
                message=ALREADY_ENTERED
                % {
                    "form": model.crf_title,
                    "who": existing.updated_by,
                    "when": records._when(existing.updated_at),
                },
            )
        raise VersionRequired(current_version=existing.version)
    return records.update_record(
        existing,
        actor=actor,
        values={**values, **(extra or {})},
        expected_version=expected_version,
        reason=reason,
    )


def _not_before(field: str, day: dt.date | None, limit: dt.date | None, message, code: str):
    if day is not None and limit is not None and day < limit:
        names = {
            "before_consent": "icf",
            "before_confirmation": "confirmed",
            "before_release": "release",
            "before_lymphodepletion": "start",
        }
        raise field_error(
            field, message % {"date": day.isoformat(), names[code]: limit.isoformat()}, code
        )


def _consent_date(subject: Subject) -> dt.date | None:
    return plausibility.first_consent_date(subject)


def save_apheresis(
    subject: Subject,
    *,
    actor,
    values: Mapping,
    record: Apheresis | None = None,
    expected_version: int | None = None,
    reason: str = "",
) -> Apheresis:
    """Create or correct the apheresis: after consent and eligibility confirmation."""
    with transaction.atomic():
        subject = Subject.objects.select_for_update().get(pk=subject.pk)  # one writer per subject
        confirmed = _require_confirmed(subject)
        day = values.get("apheresis_date")
        _not_before("apheresis_date", day, _consent_date(subject), BEFORE_CONSENT, "before_consent")
        _not_before("apheresis_date", day, confirmed, BEFORE_CONFIRMATION, "before_confirmation")
        return _save_crf(
            subject,
            Apheresis,
            actor=actor,
            values=values,
            record=record,
            expected_version=expected_version,
            reason=reason,
        )


def save_product_release(
    subject: Subject,
    *,
    actor,
    values: Mapping,
    record: ProductRelease | None = None,
    expected_version: int | None = None,
    reason: str = "",
) -> ProductRelease:
    """Create or correct the product release of the subject's lot (after the apheresis)."""
    with transaction.atomic():
        subject = Subject.objects.select_for_update().get(pk=subject.pk)  # one writer per subject
        _require_confirmed(subject)
        apheresis = Apheresis.objects.filter(subject=subject).first()
        if apheresis is None:
            raise ValidationError(NO_APHERESIS, code="no_apheresis")
        day = values.get("release_date")
        if day is not None and day < apheresis.apheresis_date:
            raise field_error(
                "release_date",
                _("The lot cannot be released before the apheresis (%(date)s).")
                % {"date": apheresis.apheresis_date.isoformat()},
                "before_apheresis",
            )
        infusion = Infusion.objects.filter(subject=subject).first()
        if infusion is not None and values.get("release_result") == ReleaseResult.FAIL:
            raise field_error(
                "release_result",
                _("The lot was infused on %(date)s: it was released.")
                % {"date": _local_date(infusion.infusion_start, subject).isoformat()},
                "already_infused",
            )
        return _save_crf(
            subject,
            ProductRelease,
            actor=actor,
            values=values,
            record=record,
            expected_version=expected_version,
            reason=reason,
        )


def save_lymphodepletion(
    subject: Subject,
    *,
    actor,
    values: Mapping,
    record: Lymphodepletion | None = None,
    expected_version: int | None = None,
    reason: str = "",
) -> Lymphodepletion:
    """Create or correct lymphodepletion; refused once the subject has been infused."""
    with transaction.atomic():
        subject = Subject.objects.select_for_update().get(pk=subject.pk)  # one writer per subject
        confirmed = _require_confirmed(subject)
        if active_assignment(subject) is None:
            raise ValidationError(NOT_ASSIGNED, code="not_assigned")
        infusion = Infusion.objects.filter(subject=subject).first()
        if infusion is not None:
            raise field_error(
                "start_date",
                AFTER_INFUSION % {"date": _local_date(infusion.infusion_start, subject)},
                "after_infusion",
            )
        day = values.get("start_date")
        _not_before("start_date", day, _consent_date(subject), BEFORE_CONSENT, "before_consent")
        _not_before("start_date", day, confirmed, BEFORE_CONFIRMATION, "before_confirmation")
        return _save_crf(
            subject,
            Lymphodepletion,
            actor=actor,
            values=values,
            record=record,
            expected_version=expected_version,
            reason=reason,
        )


bsa_of = selectors.bsa_m2


def _sentinel_check(subject: Subject, assignment: CohortAssignment, infusion_day: dt.date):
    """Refuse an infusion inside the sentinel interval of its cohort (RULES.md §4.4)."""
    design = subject.study.settings.get("dosing") or {}
    days = int(design.get("sentinel_days") or 0)
    if not days:
        return
    first = (
        Infusion.objects.filter(
            subject__in=CohortAssignment.objects.filter(
                dose_level=assignment.dose_level_id,
                cohort_number=assignment.cohort_number,
                is_active=True,
            )
            .exclude(subject=subject)
            .values("subject")
        )
        .select_related("subject", "subject__site")
        .order_by("infusion_start")
        .first()
    )
    if first is None:
        return
    first_day = _local_date(first.infusion_start, first.subject)
    earliest = rules.sentinel_earliest_date(first_day, days)
    if earliest is not None and infusion_day < earliest:
        raise field_error(
            "infusion_start",
            SENTINEL
            % {
                "first": first.subject,
                "level": assignment.dose_level.label,
                "cohort": assignment.cohort_number,
                "day": first_day.isoformat(),
                "earliest": earliest.isoformat(),
                "days": days,
            },
            "sentinel",
        )


def record_infusion(
    subject: Subject,
    *,
    actor,
    values: Mapping,
    record: Infusion | None = None,
    expected_version: int | None = None,
    reason: str = "",
) -> Infusion:
    """Record (or correct) the CAR-T infusion; it sets Day 0 and builds the visit schedule.

    In one transaction under the subject lock: refuses a second infusion, an infusion before
    consent or before the eligibility confirmation, without an assignment, without a released
    lot or with a failed release, before the release or the start of lymphodepletion, inside
    the cohort's sentinel interval (``dosing.sentinel_days``), and a cell count without the
    weight it was dosed for. The planned dose is copied from the assigned level; the dose per kg
    and its deviation are checked by ``rules.check_infused_dose`` through the model's edit
    checks (a query beyond the tolerance, a refusal beyond the maximum). Then Day 0 is anchored
    (``enrollment.services.anchor_schedule``), the subject becomes *treated*, and the data
    version moves (``records`` bumps it on every write).
    """
    with transaction.atomic():
        subject = Subject.objects.select_for_update().get(pk=subject.pk)  # one writer per subject
        existing = Infusion.objects.filter(subject=subject).first()
        if existing is not None and record is None and expected_version is None:
            raise field_error(
                "infusion_start",
                ALREADY_INFUSED
                % {
                    "subject": subject,
                    "date": _local_date(existing.infusion_start, subject).isoformat(),
                },
                "already_infused",
            )
        confirmed = _require_confirmed(subject)
        assignment = active_assignment(subject)
        if assignment is None:
            raise ValidationError(NOT_ASSIGNED, code="not_assigned")
        release = ProductRelease.objects.filter(subject=subject).first()
        if release is None:
            raise ValidationError(NO_RELEASE, code="no_release")
        if release.release_result != ReleaseResult.PASS:
            raise ValidationError(
                RELEASE_FAILED % {"test": release.get_failed_test_display()},
                code="release_failed",
            )
        start = values.get("infusion_start")
        if start is None and existing is not None:
            start = existing.infusion_start
        day = _local_date(start, subject) if start is not None else None
        field = "infusion_start"
        _not_before(field, day, _consent_date(subject), BEFORE_CONSENT, "before_consent")
        _not_before(field, day, confirmed, BEFORE_CONFIRMATION, "before_confirmation")
        _not_before(field, day, release.release_date, BEFORE_RELEASE, "before_release")
        ld = Lymphodepletion.objects.filter(subject=subject).first()
        if ld is not None:
            _not_before(field, day, ld.start_date, BEFORE_LYMPHODEPLETION, "before_lymphodepletion")
        if day is not None:
            _sentinel_check(subject, assignment, day)
        extra = {}
        if existing is None:
            extra["planned_dose_cells_per_kg"] = assignment.dose_level.dose_cells_per_kg
        infusion = _save_crf(
            subject,
            Infusion,
            actor=actor,
            values=values,
            record=record,
            expected_version=expected_version,
            reason=reason,
            extra=extra,
        )
        day0 = _local_date(infusion.infusion_start, subject)
        if subject.day0 != day0:
            enrollment.anchor_schedule(
                subject,
                day0,
                actor=actor,
                reason=reason or f"Day 0 set by the CAR-T infusion of {day0.isoformat()}",
            )
            subject.refresh_from_db()
        _link_to_visits(subject, actor=actor)
        infusion.refresh_from_db()
        if subject.enrollment_status in (SubjectStatus.ELIGIBLE, SubjectStatus.ENROLLED):
            records.update_record(
                subject,
                actor=actor,
                values={"enrollment_status": SubjectStatus.TREATED},
                expected_version=UNREAD,  # system transition under the subject lock
                reason="CAR-T infusion recorded",
            )
        _mark_visit_done(subject, infusion.visit, day0)
        # Day 0 moves the lab baseline cut-off and opens the DLT window (safety owns both).
        safety_services.regrade_labs(subject, actor=actor, reason="Day 0 set by the infusion")
        safety_services.refresh_dlt_evaluation(
            subject, actor=actor, reason="DLT window opened by the CAR-T infusion"
        )
    return infusion


def _link_to_visits(subject: Subject, *, actor) -> None:
    """Put the treatment CRFs on the visits Day 0 has just created, and mark them entered.

    Apheresis, release and lymphodepletion are entered before Day 0 exists, so before their
    visits do (the schedule is anchored on Day 0); once it is set each record joins its visit
    (so its window is checked) and the visit's expectation row says the form is entered.
    """
    for model in (Apheresis, ProductRelease, Lymphodepletion, Infusion):
        record = model.objects.filter(subject=subject).first()
        if record is None:
            continue
        visit = _visit(subject, model.visit_code)
        if visit is not None and record.visit_id != visit.pk:
            record = records.update_record(
                record,
                actor=actor,
                values={"visit": visit},
                expected_version=UNREAD,  # derived placement, under the subject lock
                reason=f"Placed on the {visit.label} visit once Day 0 was set",
                derived=True,
            )
        enrollment.mark_entered(subject, visit, model.crf_code)


def _mark_visit_done(subject: Subject, visit: Visit | None, day: dt.date) -> None:
    """The Day-0 visit happened on the infusion day (visits are derived rows, not CRFs)."""
    if visit is not None and visit.actual_date != day:
        visit.actual_date = day
        visit.save(update_fields=["actual_date"])


def infusion_summary(infusion: Infusion | None) -> rules.DoseCheck | None:
    """Dose/kg, deviation and verdict of a saved infusion (for pages and the API)."""
    return infusion.dose_check() if infusion is not None else None
