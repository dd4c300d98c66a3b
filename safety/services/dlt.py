"""DLT writes: the subject's DLT evaluation (a derived record) and the investigator's
adjudication of each candidate (a signed record), and the daily closing of windows.

The clinical decision is ``safety.rules.evaluate_dlt_window`` alone (DESIGN.md §4): this module
maps the CRF data to its inputs (docs/rules/safety.md "From the AE CRF to AdverseEventFacts"),
passes the investigator's verdicts as its ``adjudications`` input, and stores what it returns
in the same transaction as the save that changed the data (issue #11 Requirement 3).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable

from django.contrib.auth import get_user_model
from django.core.exceptions import ValidationError
from django.db import transaction
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from enrollment.models import Consent, OffStudy, Subject
from safety import rules
from safety.models import (
    AdverseEvent,
    AdverseEventGrade,
    DLTAdjudication,
    DLTEvaluation,
    DLTStatus,
)
from safety.models.adverse_events import RESOLVED_OUTCOMES
from trialsite import clock
from trialsite.records import notifications
from trialsite.records import services as records
from trialsite.records.exceptions import BAD_PASSWORD, field_error
from trialsite.records.models import RecordStatus
from trialsite.records.services import UNREAD
from trialsite.studies import permissions
from trialsite.studies.roles import Action, Role
from trialsite.studies.selectors import site_staff

ADJUDICATION_MEANING = _(
    "I have reviewed this adverse event against the study's DLT criteria and sign my verdict."
)
RATIONALE_REQUIRED = _("Give the rationale for your verdict.")
NOT_A_CANDIDATE = _(
    "This event is not a DLT candidate in the subject's DLT window: there is nothing to adjudicate."
)
NO_DAY0 = _("The subject has no Day 0 (CAR-T infusion) yet: there is no DLT window.")
NOT_INVESTIGATOR = _("Only an investigator of the subject's site adjudicates DLTs.")
VERDICT_REQUIRED = _("Say whether the event is a DLT.")
RESOLVED_BY_ADJUDICATION = "dlt adjudicated"
SYSTEM_USERNAME = "trialsite-system"


# --- Inputs of the rule -------------------------------------------------------------------------


def _blood_counts(subject: Subject) -> list[rules.BloodCount]:
    """The subject's blood counts after infusion, for the count-recovery (hematologic DLT) rule
    (``safety.selectors_labs.blood_counts``: the lab results, by study day)."""
    from safety.selectors_labs import blood_counts

    return blood_counts([subject]).get(subject.pk, [])


def _days(on: dt.date | None, day0: dt.date) -> int | None:
    return None if on is None else (on - day0).days


def event_facts(
    event: AdverseEvent, steps: list[AdverseEventGrade], day0: dt.date
) -> rules.AdverseEventFacts:
    """The facts the DLT rule needs about one AE, from the CRF and its grade history.

    grade = the worst grade; grade_3_study_day = the first history step at grade >= 3;
    hours_to_grade_2_or_less = whole days x 24 from that step to the first later step at grade
    <= 2, or to the resolution date (the history holds dates, not times); unknown (``None``)
    while the event is still at grade >= 3. If it rose to grade >= 3 again after coming down,
    the later stretch is still running: unknown again, counted from the first grade-3 day (the
    conservative reading: the allowed hours are never granted twice).
    """
    grade = event.worst_grade or event.grade
    severe_from = next((s.from_date for s in steps if s.grade >= 3), None)
    if grade >= 3 and severe_from is None:
        severe_from = event.worst_grade_date or event.onset_date
    hours = None
    if severe_from is not None:
        after = [s for s in steps if s.from_date > severe_from]
        down = next((s for s in after if s.grade <= 2), None)
        again = down is not None and any(
            s.grade >= 3 for s in after if s.from_date > down.from_date
        )
        if down is not None and not again:
            hours = (down.from_date - severe_from).days * 24
        elif down is None and event.resolution_date and event.outcome in RESOLVED_OUTCOMES:
            hours = (event.resolution_date - severe_from).days * 24
    onset_day = _days(event.onset_date, day0)
    severe_day = _days(severe_from, day0)
    if severe_day is not None:
        severe_day = max(severe_day, onset_day)
    return rules.AdverseEventFacts(
        term=event.display_term,
        category=event.term.dlt_category,
        grade=grade,
        relatedness=event.relationship_car_t or None,
        onset_study_day=onset_day,
        grade_3_study_day=severe_day if grade >= 3 else None,
        hours_to_grade_2_or_less=hours,
        event_id=event.pk,
    )


def _left_study_day(subject: Subject, events: Iterable[AdverseEvent]) -> int | None:
    """The study day the subject left: consent withdrawn, died (a grade 5 AE's death date), or
    went off study (the off-study record's date, ``enrollment.models.OffStudy``); the earliest.
    """
    day0 = subject.day0
    dates = [e.death_date for e in events if e.death_date]
    off_study = (
        OffStudy.objects.filter(subject=subject).values_list("off_study_date", flat=True).first()
    )
    if off_study is not None:
        dates.append(off_study)
    withdrawn = (
        Consent.objects.filter(subject=subject, withdrawn_at__isnull=False)
        .order_by("withdrawn_at")
        .values_list("withdrawn_at", flat=True)
        .first()
    )
    if withdrawn is not None:
        dates.append(timezone.localtime(withdrawn).date())
    days = [max(0, (d - day0).days) for d in dates]
    return min(days) if days else None


def _study_settings(subject: Subject) -> tuple[dict, dict, int, int]:
    data_version, settings_version, settings = (
        type(subject.study)
        .objects.values_list("data_version", "settings_version", "settings")
        .get(pk=subject.study_id)
    )
    criteria = settings.get("dlt_criteria") or rules.DEFAULT_DLT_CRITERIA.to_dict()
    window = rules.settings_for(rules.evaluate_dlt_window, settings.get("safety", {}))
    return criteria, window, data_version, settings_version


def _current_verdicts(subject: Subject) -> dict[int, DLTAdjudication]:
    """Adjudications that still cover their event as it is (``DLTAdjudication.current``)."""
    rows = DLTAdjudication.objects.filter(subject=subject).select_related("event")
    return {a.event_id: a for a in rows if a.current}


def evaluate(subject: Subject, *, blood_counts=None):
    """Run the DLT window rule on the subject's data as of today (no write).

    Returns ``(result, inputs)``: the rule's ``DLTWindowResult`` and what was passed to it.
    ``None`` while the subject has no Day 0.
    """
    if subject.day0 is None:
        return None
    day0 = subject.day0
    events = list(
        AdverseEvent.objects.filter(subject=subject).select_related("term").order_by("pk")
    )
    steps: dict[int, list[AdverseEventGrade]] = {}
    for step in AdverseEventGrade.objects.filter(event__subject=subject).order_by(
        "from_date", "pk"
    ):
        steps.setdefault(step.event_id, []).append(step)
    facts = [event_facts(e, steps.get(e.pk, []), day0) for e in events]
    verdicts = _current_verdicts(subject)
    counts = _blood_counts(subject) if blood_counts is None else list(blood_counts)
    criteria, window, data_version, settings_version = _study_settings(subject)
    # Today's study day by the clock seam; data typed in another time zone may be a day ahead.
    latest = [f.onset_study_day for f in facts] + [
        f.grade_3_study_day for f in facts if f.grade_3_study_day is not None
    ]
    latest += [c.study_day for c in counts]
    as_of = max([0, (clock.today() - day0).days, *latest])
    left = _left_study_day(subject, events)
    result = rules.evaluate_dlt_window(
        events=facts,
        as_of_day=as_of,
        left_study_day=left,
        count_recovery=counts,
        criteria=criteria,
        adjudications={pk: a.is_dlt for pk, a in verdicts.items()},
        **window,
    )
    inputs = {
        "as_of": as_of,
        "left": left,
        "criteria": criteria,
        "window": window,
        "events": {e.pk: e for e in events},
        "verdicts": verdicts,
        "data_version": data_version,
        "settings_version": settings_version,
    }
    return result, inputs


def _candidates(result, inputs) -> list[dict]:
    """Every event the rule called a DLT (or could not yet decide), with its reasons."""
    rows = []
    for facts, assessment in result.assessments:
        adjudication = inputs["verdicts"].get(facts.event_id)
        if assessment.is_candidate is False and adjudication is None:
            continue
        rows.append(
            {
                "event_id": facts.event_id,
                "term": facts.term,
                "category": facts.category,
                "grade": facts.grade,
                "relatedness": facts.relatedness,
                "onset_day": facts.onset_study_day,
                "is_candidate": assessment.is_candidate,
                "code": assessment.code,
                "reasons": list(assessment.reasons),
                "adjudication_id": adjudication.pk if adjudication else None,
                "adjudicated_dlt": adjudication.is_dlt if adjudication else None,
            }
        )
    return rows


def _values(subject: Subject, result, inputs) -> dict:
    criteria = rules.DLTCriteria.from_dict(inputs["criteria"])
    candidates = _candidates(result, inputs)
    recovery = result.count_recovery
    return {
        "dlt_status": result.status,
        "dlt": result.dlt,
        "evaluable": result.evaluable,
        "max_related_grade": result.max_related_grade,
        "max_unassessed_grade": result.max_unassessed_grade,
        "window_start": subject.day0,
        "window_end_day": result.window_end_day,
        "closes_on_day": result.closes_on_day,
        "grace_days": criteria.recovery_grace_days if recovery is not None else 0,
        "first_dlt_day": result.first_dlt_day,
        "as_of_day": inputs["as_of"],
        "as_of_date": subject.day0 + dt.timedelta(days=inputs["as_of"]),
        "left_study_day": inputs["left"],
        "count_recovery": recovery.status if recovery is not None else "",
        "reasons": list(result.reasons),
        "candidates": candidates,
        "awaiting_adjudication": sum(
            1 for c in candidates if c["adjudication_id"] is None and c["is_candidate"] is not False
        ),
        "settings_used": {"dlt_criteria": inputs["criteria"], "safety": inputs["window"]},
        "settings_version": inputs["settings_version"],
        "data_version": inputs["data_version"],
    }


_COMPARED = (
    "dlt_status",
    "dlt",
    "evaluable",
    "max_related_grade",
    "max_unassessed_grade",
    "window_start",
    "window_end_day",
    "closes_on_day",
    "grace_days",
    "first_dlt_day",
    "left_study_day",
    "count_recovery",
    "reasons",
    "candidates",
    "awaiting_adjudication",
    "settings_used",
)


def refresh_dlt_evaluation(
    subject: Subject, *, actor, reason: str, blood_counts=None
) -> DLTEvaluation | None:
    """Recompute and store the subject's DLT evaluation; ``None`` while there is no Day 0.

    Called at the end of every AE save and every adjudication, inside their transaction (the
    caller holds the subject lock), and by the daily beat task. The evaluation is audited as a
    system record stamped with the data and settings versions it was computed from; when its
    result changes the study's data version is bumped, so the escalation state follows.
    A new day with the same result is no change (nothing is written).
    ``blood_counts``: the subject's ``safety.rules.BloodCount`` list (default ``_blood_counts``).
    """
    subject = Subject.objects.select_related("study", "site").get(pk=subject.pk)
    computed = evaluate(subject, blood_counts=blood_counts)
    existing = DLTEvaluation.objects.filter(subject=subject).first()
    if computed is None:
        return existing
    result, inputs = computed
    values = _values(subject, result, inputs)
    if existing is None:
        evaluation = records.create_record(
            DLTEvaluation,
            actor=actor,
            study=subject.study,
            status=RecordStatus.SUBMITTED,
            values={**values, "subject": subject},
            reason=reason,
            derived=True,
        )
        records.bump_data_version(subject.study_id)
        _notify_candidates(subject, evaluation, previous=[])
        return evaluation
    if all(getattr(existing, k) == values[k] for k in _COMPARED):
        # A new day with the same result is no change: "as of" stays the day it last changed,
        # so the audit trail is not one row per subject per day.
        return existing
    previous = existing.candidates
    evaluation = records.update_record(
        existing,
        actor=actor,
        values=values,
        expected_version=UNREAD,  # derived: recomputed from the data, not from a read
        reason=reason or "DLT evaluation recomputed",
        derived=True,
    )
    records.bump_data_version(subject.study_id)
    _notify_candidates(subject, evaluation, previous=previous)
    return evaluation


def _notify_candidates(subject: Subject, evaluation: DLTEvaluation, *, previous: list) -> None:
    """A new candidate notifies the site's investigators; an adjudicated or cleared one's
    notice is resolved (``trialsite.records.notifications``)."""
    awaiting = {
        c["event_id"]
        for c in evaluation.candidates
        if c["adjudication_id"] is None and c["is_candidate"] is not False
    }
    before = {c["event_id"] for c in previous if c["adjudication_id"] is None}
    for event_id in before - awaiting:
        notifications.resolve(AdverseEvent(pk=event_id), RESOLVED_BY_ADJUDICATION)
    new = awaiting - before
    if not new:
        return
    investigators = list(site_staff(subject.site, [Role.INVESTIGATOR]))
    url = reverse("safety:dlt-evaluation", args=[subject.pk])
    for row in evaluation.candidates:
        if row["event_id"] not in new:
            continue
        records.notify(
            subject.study,
            investigators,
            message=str(
                _(
                    "DLT candidate for %(subject)s: %(term)s grade %(grade)s (Day %(day)s) awaits "
                    "your adjudication."
                )
                % {
                    "subject": subject,
                    "term": row["term"],
                    "grade": row["grade"],
                    "day": row["onset_day"],
                }
            ),  # fmt: skip
            url=url,
            target=AdverseEvent(pk=row["event_id"]),
            resolved_when=RESOLVED_BY_ADJUDICATION,
            email=True,
        )


# --- The investigator's adjudication ------------------------------------------------------------


def adjudicate_dlt(
    event: AdverseEvent,
    *,
    actor,
    is_dlt: bool | None,
    rationale: str,
    password: str,
    event_version: int | None = None,
) -> DLTAdjudication:
    """The investigator's verdict on one DLT candidate: DLT yes/no, rationale, e-signature.

    Refused (field errors, nothing saved) for anyone but an investigator of the subject's site,
    without a verdict or a rationale, with a wrong password, or for an event the rule does not
    call a candidate (or cannot yet decide) inside the window. A second verdict on the same
    event replaces the first (audited, signed again). The evaluation is recomputed in the same
    transaction and the investigators' notice about the candidate is resolved.
    ``event_version``: the AE version the investigator read (the form and the API send it); a
    different current version is refused (``StaleVersion``: judge the event as it is now).
    """
    rationale = (rationale or "").strip()
    with transaction.atomic():
        subject = Subject.objects.select_for_update().get(pk=event.subject_id)  # one writer
        if not permissions.can(
            actor, Action.ADJUDICATE_DLT, study=subject.study_id, site=subject.site_id
        ):
            raise ValidationError(NOT_INVESTIGATOR, code="not_investigator")
        errors = {}
        if is_dlt is None:
            errors["is_dlt"] = ValidationError(VERDICT_REQUIRED, code="required")
        if not rationale:
            errors["rationale"] = ValidationError(RATIONALE_REQUIRED, code="required")
        if errors:
            raise ValidationError(errors)
        if not password or not actor.check_password(password):
            raise field_error("password", BAD_PASSWORD, "bad_password")
        event = AdverseEvent.objects.select_related("term").get(pk=event.pk)
        if event_version is not None:
            records._check_version(event, event_version)
        if subject.day0 is None:
            raise ValidationError(NO_DAY0, code="no_day0")
        computed = evaluate(subject)
        result, _inputs = computed
        open_to_verdict = {
            f.event_id
            for f, a in result.assessments
            if a.is_candidate is not False or a.code.startswith("adjudicated")
        }
        if event.pk not in open_to_verdict:
            raise ValidationError(NOT_A_CANDIDATE, code="not_candidate")
        values = {
            "event_version": event.version,
            "is_dlt": bool(is_dlt),
            "rationale": rationale,
            "decided_on": clock.today(),
        }
        existing = DLTAdjudication.objects.filter(event=event).first()
        if existing is None:
            adjudication = records.create_record(
                DLTAdjudication,
                actor=actor,
                study=subject.study,
                status=RecordStatus.SUBMITTED,
                values={**values, "subject": subject, "event": event},
            )
        else:
            adjudication = records.update_record(
                existing,
                actor=actor,
                values=values,
                expected_version=UNREAD,  # the signature below is the investigator's read
                reason=f"DLT adjudication revised: {rationale}",
            )
        records.sign_record(
            adjudication,
            actor=actor,
            password=password,
            meaning=str(ADJUDICATION_MEANING),
            expected_version=adjudication.version,
        )
        notifications.resolve(event, RESOLVED_BY_ADJUDICATION)
        refresh_dlt_evaluation(subject, actor=actor, reason="DLT adjudicated by the investigator")
    adjudication.refresh_from_db()
    return adjudication


# --- The daily closing of windows (beat) ----------------------------------------------------------


def system_actor():
    """The account automatic writes are attributed to (the beat task has no user).

    Inactive, with no usable password: it can never log in; its audit rows say "the system".
    """
    user_model = get_user_model()
    user, created = user_model.objects.get_or_create(
        username=SYSTEM_USERNAME,
        defaults={"first_name": "trialsite", "last_name": "(automatic)", "is_active": False},
    )
    if created:
        user.set_unusable_password()
        user.save(update_fields=["password"])
    return user


def close_dlt_windows(study) -> dict:
    """Refresh every open DLT evaluation of the study last computed before today, and create
    the evaluation of every infused subject who has none yet.

    Why: an evaluation changes with time alone — the window closes after Day 28 (plus the
    count-recovery grace), a grade 3 event's allowed 72 h run out — with no save to trigger it.
    Run daily by the beat task, so at the closing day the evaluation completes by itself. Each
    subject in its own transaction under its lock; idempotent (an unchanged result writes
    nothing).
    """
    today = clock.today()
    stale = list(
        DLTEvaluation.objects.filter(
            study=study, dlt_status=DLTStatus.OPEN, as_of_date__lt=today
        ).values_list("subject_id", flat=True)
    )
    # Infused subjects without an evaluation yet (Day 0 set, no AE saved since).
    stale += list(
        Subject.objects.filter(study=study, day0__isnull=False, day0__lte=today)
        .exclude(pk__in=DLTEvaluation.objects.filter(study=study).values("subject_id"))
        .values_list("pk", flat=True)
    )
    actor = system_actor() if stale else None
    changed = []
    for subject_id in stale:
        with transaction.atomic():
            subject = Subject.objects.select_for_update().get(pk=subject_id)  # one writer
            before = DLTEvaluation.objects.filter(subject=subject).values_list("version", flat=True)
            before = before[0] if before else None
            evaluation = refresh_dlt_evaluation(
                subject, actor=actor, reason="DLT window re-evaluated on a new study day"
            )
            if evaluation is not None and evaluation.version != before:
                changed.append(subject_id)
    return {"refreshed": len(stale), "changed": changed}
