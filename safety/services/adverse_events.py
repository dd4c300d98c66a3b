"""Adverse-event writes: the AE CRF and the AEs the system derives (CRS/ICANS episodes, graded
lab results), each with its grade history and worst grade.

Every write locks the subject first (one writer per subject, so the grade history and the DLT
evaluation that reads it never interleave), goes through ``trialsite.records.services`` (audit,
version, data version) and keeps ``AdverseEventGrade`` in step in the same transaction.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping

from django.db import transaction
from django.utils.translation import gettext_lazy as _

from enrollment.models import Subject
from enrollment.services import require_data_entry
from safety.derived_ae import derived_field_errors
from safety.models import AdverseEvent, AdverseEventGrade, AESource
from safety.services.dlt import refresh_dlt_evaluation
from safety.services.sae import sync_sae_report
from trialsite import clock
from trialsite.records import services as records
from trialsite.records.exceptions import field_error
from trialsite.records.models import RecordStatus
from trialsite.records.services import UNREAD, ExpectedVersion

GRADE_DATE_ORDER = _(
    "A new grade starts on or after the previous one (grade %(grade)s from %(date)s); to correct "
    "the history, change the grade back first."
)
GRADE_DATE_NEEDED = _("Give the date the event reached grade %(grade)s.")
WRONG_SUBJECT = _("This adverse event belongs to another subject.")


def _steps(event: AdverseEvent | None) -> list[AdverseEventGrade]:
    if event is None:
        return []
    return list(AdverseEventGrade.objects.filter(event=event).order_by("from_date", "pk"))


def _next_steps(
    steps: list[AdverseEventGrade], *, grade: int, from_date: dt.date
) -> list[tuple[int, dt.date]]:
    """The grade history after this save, as (grade, from date) pairs.

    The same grade keeps its step (its date may be corrected); a new grade adds a step, which
    may not start before the last one. A history with one step follows the onset date.
    """
    history = [(s.grade, s.from_date) for s in steps]
    if not history:
        return [(grade, from_date)]
    last_grade, last_date = history[-1]
    if grade == last_grade:
        earlier = history[-2][1] if len(history) > 1 else None
        if earlier is not None and from_date < earlier:
            raise field_error(
                "grade_date",
                GRADE_DATE_ORDER % {"grade": history[-2][0], "date": earlier.isoformat()},
                "order",
            )
        return [*history[:-1], (grade, from_date)]
    if from_date < last_date:
        raise field_error(
            "grade_date",
            GRADE_DATE_ORDER % {"grade": last_grade, "date": last_date.isoformat()},
            "order",
        )
    if from_date == last_date:  # a correction of the grade on the same day
        return [*history[:-1], (grade, from_date)]
    return [*history, (grade, from_date)]


def _worst(history: list[tuple[int, dt.date]]) -> tuple[int, dt.date]:
    """The highest grade and the first date it was reached."""
    top = max(g for g, _d in history)
    return top, next(d for g, d in history if g == top)


def _write_steps(event: AdverseEvent, history: list[tuple[int, dt.date]], *, actor) -> None:
    """Replace the event's grade rows by ``history`` (derived rows; the AE audit has the facts)."""
    existing = [(s.grade, s.from_date) for s in _steps(event)]
    if existing == history:
        return
    AdverseEventGrade.objects.filter(event=event).delete()
    now = clock.now()
    for grade, from_date in history:
        AdverseEventGrade.objects.create(
            event=event, grade=grade, from_date=from_date, recorded_at=now, recorded_by=actor
        )


def _history_for(existing: AdverseEvent | None, values: Mapping) -> list[tuple[int, dt.date]]:
    """The grade history this save leaves: a first grade runs from the onset (or its date)."""
    grade = values.get("grade", existing.grade if existing else None)
    onset = values.get("onset_date", existing.onset_date if existing else None)
    given = values.get("grade_date", existing.grade_date if existing else None)
    if grade is None or onset is None:
        return []  # the model's own validation names the missing field
    steps = _steps(existing)
    if given:
        from_date = given
    elif len(steps) > 1 and steps[-1].grade == grade:
        from_date = steps[-1].from_date
    elif steps and steps[-1].grade != grade:
        raise field_error(
            "grade_date",
            GRADE_DATE_NEEDED % {"grade": grade},
            "required_if",
        )
    else:
        from_date = onset
    return _next_steps(steps, grade=int(grade), from_date=from_date)


def _save(
    subject: Subject,
    *,
    actor,
    values: Mapping,
    existing: AdverseEvent | None,
    expected_version: ExpectedVersion | None,
    reason: str,
    extra: Mapping | None = None,
) -> AdverseEvent:
    history = _history_for(existing, values)
    derived_values = {}
    if history:
        derived_values = dict(
            zip(("worst_grade", "worst_grade_date"), _worst(history), strict=True)
        )
    if existing is None:
        event = records.create_record(
            AdverseEvent,
            actor=actor,
            study=subject.study,
            status=RecordStatus.SUBMITTED,
            values={**values, **derived_values, **(extra or {}), "subject": subject},
            reason=reason,
        )
    else:
        event = records.update_record(
            existing,
            actor=actor,
            values={**values, **derived_values},
            expected_version=expected_version,
            reason=reason,
        )
    if history:
        _write_steps(event, history, actor=actor)
    # Every AE write can change the DLT evaluation: recomputed in this transaction (issue 11 R3).
    refresh_dlt_evaluation(subject, actor=actor, reason=reason or "Adverse event saved")
    sync_sae_report(event, actor=actor)  # a serious event starts its SAE report and clocks
    return event


def save_adverse_event(
    subject: Subject,
    *,
    actor,
    values: Mapping,
    record: AdverseEvent | None = None,
    expected_version: int | None = None,
    reason: str = "",
) -> AdverseEvent:
    """Add an adverse event (``record=None``) or change one, keeping its grade history.

    The CRF service shape of docs/architecture.md §10. A change of ``grade`` starts a new step
    of the history from ``grade_date`` (the onset when empty); the worst grade and its date are
    derived from the history. Hard checks (grade above what the term allows, resolution before
    onset, onset before consent, grade 5 without a death) refuse the save with field errors.
    On an AE the system derived (a CRS/ICANS episode, a confirmed lab result), a change of a
    field its source determines is refused with ``AE-DERIVED-FIELD`` on that field
    (``safety.derived_ae`` lists them); the investigator's fields save as on any AE.
    """
    with transaction.atomic():
        subject = Subject.objects.select_for_update().get(pk=subject.pk)  # one writer per subject
        if record is None:
            require_data_entry(subject)
            return _save(
                subject, actor=actor, values=values, existing=None, expected_version=None,
                reason=reason,
            )  # fmt: skip
        existing = AdverseEvent.objects.select_related("term").get(pk=record.pk)
        if existing.subject_id != subject.pk:
            raise field_error("subject", WRONG_SUBJECT, "wrong_subject")
        refused = derived_field_errors(existing, values)  # a derived AE follows its source
        if refused is not None:
            raise refused
        return _save(
            subject,
            actor=actor,
            values=values,
            existing=existing,
            expected_version=expected_version,
            reason=reason,
        )


def save_derived_adverse_event(
    subject: Subject,
    *,
    actor,
    source: str,
    source_key: str,
    values: Mapping,
    reason: str,
) -> AdverseEvent:
    """Create or bring up to date the AE the system keeps for a derived finding.

    A CRS or ICANS episode (``source`` = ``AESource.CRS_EPISODE`` / ``ICANS_EPISODE``) or a
    confirmed lab abnormality is kept as an AE automatically, keyed by ``source_key`` (unique per
    subject), so re-deriving never duplicates it. The caller holds the subject lock. Fields the
    investigator owns (``safety.derived_ae``: relationship, expectedness, seriousness, ...) are
    never overwritten here; the derived ones are written only here.
    """
    if source not in AESource.values or source == AESource.MANUAL:
        raise ValueError(f"not a derived AE source: {source!r}")
    existing = (
        AdverseEvent.objects.select_related("term")
        .filter(subject=subject, source_key=source_key)
        .first()
    )
    return _save(
        subject,
        actor=actor,
        values=values,
        existing=existing,
        expected_version=UNREAD if existing else None,  # system write under the subject lock
        reason=reason,
        extra={"source": source, "source_key": source_key},
    )
