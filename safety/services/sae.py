"""SAE writes: start (or bring up to date) an event's SAE report and its clocks, correct the
report, record a submission, and notify once when a clock is overdue.

The arithmetic is ``safety.sae_clocks`` (pure; ICH E2A, 21 CFR 312.32, EU 536/2014 Art. 41-42);
this module stores its answers through ``trialsite.records.services`` (audit, versions) and tells
people through ``trialsite.records.notifications`` (in-app and email after commit).

Decided here (docs/rules/safety.md "SAE reporting clocks"):

- An AE saved as serious starts one report; saving it again never starts a second.
- An AE corrected to *not serious* keeps its report, marked no longer serious: a report may
  already be with the sponsor, and the audit trail must show it was once serious. Its
  unsubmitted clocks become *not required* (no overdue notice); submitted ones stay *met*. Made
  serious again, the report and its clocks (from the original awareness) apply again.
- Awareness defaults to the moment the event was first saved as serious; a correction (with a
  reason) moves every clock that runs from awareness.
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Mapping

from django.conf import settings as django_settings
from django.core.mail import EmailMessage, get_connection
from django.db import transaction
from django.urls import reverse
from django.utils.translation import gettext_lazy as _

from enrollment.models import Subject
from safety import sae_clocks
from safety.models import AdverseEvent, ClockKind, SAEClock, SAEClockAlert, SAEReport
from trialsite import clock
from trialsite.records import notifications
from trialsite.records import services as records
from trialsite.records.models import RecordStatus
from trialsite.records.services import UNREAD
from trialsite.studies.roles import Role
from trialsite.studies.selectors import site_staff

log = logging.getLogger(__name__)

SECTION = "sae_reporting"
# What clears the notices (trialsite.records.notifications.resolve).
RESOLVED_BY_INITIAL_REPORT = "SAE initial report recorded, or the event is not serious"
RESOLVED_BY_SUBMISSION = "SAE report submitted, or no longer required"

REPORT_STARTED = _(
    "Serious adverse event: %(subject)s, %(term)s (grade %(grade)s). The initial report is due "
    "within %(hours)s hours of the site's awareness."
)
REPORT_SERIOUS_AGAIN = _(
    "Serious again: %(subject)s, %(term)s. Its SAE report and clocks apply again."
)
CLOCK_OVERDUE = _("Overdue: %(kind)s for the serious adverse event of %(subject)s (%(term)s).")
NOT_SERIOUS_REASON = "The event was corrected to not serious: report kept, clocks not required"
SYSTEM_REASON = "SAE clocks follow the event"
UNKNOWN_CLOCK_FIELDS = _("Only the submission moment and the reference number are recorded here.")


def reporting_settings(study) -> sae_clocks.SAEReportingSettings:
    """The study's ``sae_reporting`` section (the defaults when the study predates it)."""
    return sae_clocks.SAEReportingSettings.from_dict(study.settings.get(SECTION) or {})


def _susar(event: AdverseEvent, settings: sae_clocks.SAEReportingSettings) -> str:
    return sae_clocks.classify_susar(
        serious=event.serious,
        expectedness=event.expectedness,
        relationship=event.relationship_car_t,
        seriousness_criteria=event.seriousness_criteria,
        fatal=event.outcome == "fatal" or event.grade == 5,
        related_categories=settings.related_categories,
    )


def sync_sae_report(event: AdverseEvent, *, actor) -> SAEReport | None:
    """Start, or bring up to date, the SAE report of ``event`` (called by the AE services).

    The caller holds the subject lock and the transaction. A non-serious event without a report
    has none; a serious one gets one (awareness = now) and its clocks, and the site's
    investigators and the sponsor's contacts are told. A later save updates the SUSAR
    classification and the clocks; a correction to not serious keeps the report (module doc).
    """
    existing = SAEReport.objects.select_related("event").filter(event=event).first()
    if existing is None and not event.serious:
        return None
    settings = reporting_settings(event.study)
    susar = _susar(event, settings)
    now = clock.now()
    if existing is None:
        # Awareness to the minute: the form shows and takes minutes, and a submission typed in
        # the same minute must not read as "before awareness".
        aware_at = now.replace(second=0, microsecond=0)
        report = records.create_record(
            SAEReport,
            actor=actor,
            study=event.study,
            status=RecordStatus.SUBMITTED,
            values={
                "subject": event.subject,
                "event": event,
                "aware_at": aware_at,
                "susar": susar,
                "susar_since": now if susar else None,
            },
            reason="Serious adverse event saved",
            derived=True,
        )
        _sync_clocks(report, actor=actor, settings=settings)
        _notify_started(report, settings=settings, message=REPORT_STARTED)
        return report
    values: dict[str, object] = {"still_serious": event.serious, "susar": susar}
    if susar != existing.susar:
        # Art. 42(2)(c): a SUSAR that qualifies (or becomes fatal) later runs from that moment.
        values["susar_since"] = now if susar else None
    report = records.update_record(
        existing,
        actor=actor,
        values=values,
        expected_version=UNREAD,  # system write under the subject lock the AE service holds
        reason=SYSTEM_REASON if event.serious else NOT_SERIOUS_REASON,
        derived=True,
    )
    _sync_clocks(report, actor=actor, settings=settings)
    if event.serious and not existing.still_serious:
        _notify_started(report, settings=settings, message=REPORT_SERIOUS_AGAIN)
    return report


def _sync_clocks(
    report: SAEReport, *, actor, settings: sae_clocks.SAEReportingSettings
) -> list[SAEClock]:
    """Make the report's clocks what ``sae_clocks.plan_clocks`` says (derived, audited)."""
    planned = {}
    if report.still_serious:
        planned = {
            c.kind: c
            for c in sae_clocks.plan_clocks(
                aware_at=report.aware_at,
                susar=report.susar,
                qualified_at=report.susar_since,
                settings=settings,
            )
        }
    existing = {c.kind: c for c in SAEClock.objects.filter(report=report)}
    saved = []
    for kind, plan in planned.items():
        values = {"starts_at": plan.starts_at, "due_at": plan.due_at, "required": True}
        current = existing.get(kind)
        if current is None:
            saved.append(
                records.create_record(
                    SAEClock,
                    actor=actor,
                    study=report.study,
                    values={**values, "report": report, "kind": kind},
                    derived=True,
                )
            )
        else:
            saved.append(_system_update(current, values, actor=actor))
    for kind, current in existing.items():
        if kind not in planned and current.submitted_at is None:
            saved.append(_system_update(current, {"required": False}, actor=actor))
            notifications.resolve(current, RESOLVED_BY_SUBMISSION)
    if not report.still_serious:
        notifications.resolve(report, RESOLVED_BY_INITIAL_REPORT)
    return saved


def _system_update(current: SAEClock, values: Mapping, *, actor) -> SAEClock:
    if all(getattr(current, name) == value for name, value in values.items()):
        return current
    return records.update_record(
        current,
        actor=actor,
        values=values,
        expected_version=UNREAD,  # derived from the report, under the subject lock
        reason=SYSTEM_REASON,
        derived=True,
    )


def update_sae_report(
    report: SAEReport,
    *,
    actor,
    values: Mapping,
    expected_version: int | None,
    reason: str = "",
) -> SAEReport:
    """Correct the awareness moment or complete the CIOMS-I fields (a reason: it is submitted).

    A changed awareness moves every clock that runs from it, in the same transaction.
    """
    with transaction.atomic():
        Subject.objects.select_for_update().get(pk=report.subject_id)  # one writer per subject
        report = records.update_record(
            report,
            actor=actor,
            values=values,
            expected_version=expected_version,
            reason=reason,
        )
        _sync_clocks(report, actor=actor, settings=reporting_settings(report.study))
    return report


def record_submission(
    sae_clock: SAEClock,
    *,
    actor,
    submitted_at: dt.datetime | None,
    reference: str,
    expected_version: int | None,
    reason: str = "",
) -> SAEClock:
    """Record that a report was sent: when, and its reference number.

    The first recording needs no reason (the clock was a draft); a correction of a recorded
    submission does. The notices the clock raised are cleared.
    """
    with transaction.atomic():
        subject_id = SAEReport.objects.values_list("subject_id", flat=True).get(
            pk=sae_clock.report_id
        )
        Subject.objects.select_for_update().get(pk=subject_id)  # one writer per subject
        saved = records.update_record(
            sae_clock,
            actor=actor,
            values={"submitted_at": submitted_at, "reference": (reference or "").strip()},
            expected_version=expected_version,
            reason=reason,
        )
        if saved.status == RecordStatus.DRAFT:
            saved = records.submit_record(saved, actor=actor, expected_version=saved.version)
        notifications.resolve(saved, RESOLVED_BY_SUBMISSION)
        if saved.kind == ClockKind.INITIAL:
            notifications.resolve(saved.report, RESOLVED_BY_INITIAL_REPORT)
    return saved


def notify_overdue_clocks(now: dt.datetime | None = None) -> list[int]:
    """Notify once for every required, unsubmitted clock past its due moment; the clock ids.

    Run by the beat task. The ``SAEClockAlert`` row (unique per clock) is the "once": a second
    run, or two workers at the same time, find it and send nothing.
    """
    now = now or clock.now()
    due = (
        SAEClock.objects.filter(
            required=True,
            submitted_at__isnull=True,
            due_at__lt=now,
            overdue_alert__isnull=True,
            report__still_serious=True,
        )
        .select_related("report__subject__site", "report__event__term", "study")
        .order_by("due_at", "pk")
    )
    notified = []
    for overdue in due:
        with transaction.atomic():
            _alert, created = SAEClockAlert.objects.get_or_create(
                clock=overdue, defaults={"sent_at": now}
            )
            if created:
                _notify_overdue(overdue)
                notified.append(overdue.pk)
    return notified


# --- who is told -----------------------------------------------------------------------------


def _facts(report: SAEReport) -> dict:
    event = report.event
    return {"subject": str(report.subject), "term": event.display_term, "grade": event.grade}


def _sponsors(study):
    from django.contrib.auth import get_user_model

    from trialsite.studies.models import Membership

    ids = Membership.objects.filter(study=study, role=Role.SPONSOR, is_active=True).values(
        "user_id"
    )
    return get_user_model().objects.filter(pk__in=ids, is_active=True)


def _notify_started(report: SAEReport, *, settings, message) -> None:
    text = str(message % {**_facts(report), "hours": settings.initial_report_hours})
    _tell(report, text, target=report, resolved_when=RESOLVED_BY_INITIAL_REPORT, settings=settings)


def _notify_overdue(sae_clock: SAEClock) -> None:
    report = sae_clock.report
    settings = reporting_settings(report.study)
    text = str(CLOCK_OVERDUE % {**_facts(report), "kind": sae_clock.get_kind_display().lower()})
    _tell(
        report,
        text,
        target=sae_clock,
        resolved_when=RESOLVED_BY_SUBMISSION,
        settings=settings,
        site_roles=[Role.INVESTIGATOR, Role.COORDINATOR],
    )


def _tell(report, text, *, target, resolved_when, settings, site_roles=(Role.INVESTIGATOR,)):
    """The site's staff (the report page) and the sponsor's users (the API resource), in-app and
    by email; the study's extra PI and sponsor safety addresses by email only.

    The message carries the subject number and the term, never initials or dates, so the same
    text goes to the sponsor (de-identified access only).
    """
    study = report.study
    notifications.notify(
        study,
        site_staff(report.subject.site, site_roles),
        message=text,
        url=reverse("safety:sae-report", args=[report.pk]),
        target=target,
        resolved_when=resolved_when,
        email=True,
    )
    notifications.notify(
        study,
        _sponsors(study),
        message=text,
        url=reverse("api:sae-report-detail", args=[report.pk]),
        target=target,
        resolved_when=resolved_when,
        email=True,
    )
    addresses = [*settings.pi_emails, *settings.sponsor_safety_emails]
    if addresses:
        transaction.on_commit(lambda: send_to_addresses(study, addresses, text))


def send_to_addresses(study, addresses: list[str], text: str) -> int:
    """Mail the study's safety contacts (not users of trialsite); a mail server that is down is
    logged and never undoes the clinical write (as ``notifications.send_emails``)."""
    message = EmailMessage(
        subject=f"[{study.short_title}] {text}"[:200],
        body=f"{text}\n",
        from_email=django_settings.DEFAULT_FROM_EMAIL,
        to=[],
        bcc=list(dict.fromkeys(addresses)),
    )
    try:
        return get_connection().send_messages([message]) or 0
    except OSError:
        log.exception("Could not email the SAE safety contacts of study %s", study.pk)
        return 0
