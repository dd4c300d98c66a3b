"""SAE reads: the study's SAE list, one report with its clocks, each clock's state now.

Query counts are fixed (docs/architecture.md §3): the list is one query for the reports (with
subject, site, event and term joined) and one for all their clocks, whatever the number of SAEs.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from django.db.models import Prefetch, QuerySet
from django.utils.translation import gettext_lazy as _
from django.utils.translation import ngettext

from safety import sae_clocks
from safety.models import ClockStatus, SAEClock, SAEReport
from trialsite import clock
from trialsite.studies import permissions
from trialsite.studies.roles import Action


def _with_first_consent(reports: QuerySet[SAEReport]) -> QuerySet[SAEReport]:
    """Annotate ``first_consent_at``, the sponsor's date anchor (enrollment/deidentify.py)."""
    from django.db.models import OuterRef, Subquery

    from enrollment.models import Consent

    first = (
        Consent.objects.filter(subject=OuterRef("subject_id"))
        .order_by("signed_at")
        .values("signed_at")[:1]
    )
    return reports.annotate(first_consent_at=Subquery(first))


def sae_reports(study, user, *, action: str = Action.VIEW_CLINICAL) -> QuerySet[SAEReport]:
    """The study's SAE reports at the sites where ``user`` may ``action``, newest awareness first.

    Sponsors read them with ``Action.VIEW_DEIDENTIFIED`` (every site; the API de-identifies).
    """
    reports = _with_first_consent(SAEReport.objects.filter(study=study))
    reports = (
        reports.select_related("subject__site", "event__term", "study")
        .prefetch_related(Prefetch("clocks", queryset=SAEClock.objects.order_by("due_at", "pk")))
        .order_by("-aware_at", "-pk")
    )
    return permissions.scope_by_site(reports, user, action, study=study, site_field="subject__site")


def sae_report(pk: int) -> SAEReport:
    return (
        _with_first_consent(SAEReport.objects.all())
        .select_related("subject__site", "subject__study", "event__term", "study")
        .prefetch_related(Prefetch("clocks", queryset=SAEClock.objects.order_by("due_at", "pk")))
        .get(pk=pk)
    )


@dataclass(frozen=True)
class ClockState:
    """A clock as a page shows it: status, its label and CSS class, and time left (or late)."""

    clock: SAEClock
    status: str
    label: str
    css: str
    time_text: str

    @property
    def is_open(self) -> bool:
        return self.status in (ClockStatus.RUNNING, ClockStatus.DUE_SOON, ClockStatus.OVERDUE)


def _duration(delta: dt.timedelta) -> str:
    """ "23 h 59 min" under two days (the 24-hour clock counts in hours), "6 days 4 h" beyond."""
    days, hours, minutes = sae_clocks.split_duration(delta)
    if days < 2:
        return str(_("%(h)s h %(m)s min") % {"h": days * 24 + hours, "m": minutes})
    if days:
        return str(
            ngettext("%(d)s day", "%(d)s days", days) % {"d": days}
            + " "
            + _("%(h)s h") % {"h": hours}
        )
    return str(_("%(h)s h %(m)s min") % {"h": hours, "m": minutes})


def clock_state(sae_clock: SAEClock, *, now: dt.datetime | None = None, due_soon_hours=None):
    now = now or clock.now()
    if due_soon_hours is None:
        due_soon_hours = sae_clocks.DEFAULT_SAE_REPORTING.due_soon_hours
    status = sae_clocks.clock_status(
        due_at=sae_clock.due_at,
        submitted_at=sae_clock.submitted_at,
        now=now,
        due_soon_hours=due_soon_hours,
        required=sae_clock.required,
    )
    if status in (ClockStatus.RUNNING, ClockStatus.DUE_SOON):
        text = _("%(left)s left") % {"left": _duration(sae_clock.due_at - now)}
    elif status == ClockStatus.OVERDUE:
        text = _("overdue by %(late)s") % {"late": _duration(now - sae_clock.due_at)}
    elif status == ClockStatus.MET_LATE:
        late = sae_clock.submitted_at - sae_clock.due_at
        text = _("submitted %(late)s late") % {"late": _duration(late)}
    elif status == ClockStatus.MET:
        text = _("submitted in time")
    else:
        text = _("no longer required")
    return ClockState(
        clock=sae_clock,
        status=status,
        label=str(ClockStatus(status).label),
        css=f"sae-clock-{status.replace('_', '-')}",
        time_text=str(text),
    )


def clock_states(report: SAEReport, *, now=None, due_soon_hours=None) -> list[ClockState]:
    """Every clock of the report (prefetched), in due order."""
    now = now or clock.now()
    return [clock_state(c, now=now, due_soon_hours=due_soon_hours) for c in report.clocks.all()]
