"""Serious adverse events: the SAE report of an event and its reporting clocks (issue #11).

An AE saved as serious starts one ``SAEReport`` (``safety.services.sae.sync_sae_report``, called
by the AE services): the moment the site became aware, the SUSAR classification and the
CIOMS-I fields the coordinator completes for the printable report. Each report the regulations
or the study require is one ``SAEClock`` (initial 24-hour report, follow-up, expedited SUSAR
report) with its due moment and, once sent, the moment it was submitted and the reference
number. The arithmetic is ``safety.sae_clocks`` (pure, cited there).

Both are clinical records (audited, versioned): a changed awareness or a recorded submission is
part of the trial's regulatory record. ``SAEClockAlert`` is bookkeeping — "the overdue notice
for this clock went out" — unique per clock, so the beat task notifies once.
"""

from __future__ import annotations

from django.db import models
from django.utils.translation import gettext_lazy as _

from enrollment.models import SubjectRecord
from safety import sae_clocks
from safety.models.adverse_events import AdverseEvent
from trialsite import clock
from trialsite.records.edit_checks import hard
from trialsite.records.models import ClinicalRecord


class SUSARClass(models.TextChoices):
    NOT_SUSAR = sae_clocks.NOT_SUSAR, _("Not a SUSAR")
    FATAL = sae_clocks.SUSAR_FATAL_OR_LIFE_THREATENING, _("SUSAR, fatal or life-threatening")
    OTHER = sae_clocks.SUSAR_OTHER, _("SUSAR")


class ClockKind(models.TextChoices):
    INITIAL = sae_clocks.INITIAL, _("Initial report to the sponsor")
    FOLLOW_UP = sae_clocks.FOLLOW_UP, _("Follow-up report")
    SUSAR_FATAL = sae_clocks.SUSAR_7, _("Expedited SUSAR report (fatal or life-threatening)")
    SUSAR_OTHER = sae_clocks.SUSAR_15, _("Expedited SUSAR report")


class ClockStatus(models.TextChoices):
    RUNNING = sae_clocks.RUNNING, _("Running")
    DUE_SOON = sae_clocks.DUE_SOON, _("Due soon")
    OVERDUE = sae_clocks.OVERDUE, _("Overdue")
    MET = sae_clocks.MET, _("Met")
    MET_LATE = sae_clocks.MET_LATE, _("Met late")
    NOT_REQUIRED = sae_clocks.NOT_REQUIRED, _("Not required")


assert tuple(ClockKind.values) == sae_clocks.CLOCK_KINDS
assert tuple(ClockStatus.values) == sae_clocks.CLOCK_STATUSES

SEE_ATTACHED = "See attached."


def _aware_before_onset(report: SAEReport) -> str:
    from enrollment.plausibility import calendar_date

    if report.aware_at is None or report.event_id is None:
        return ""
    onset = report.event.onset_date
    aware = calendar_date(report.aware_at)
    if onset is None or aware >= onset:
        return ""
    return _("The site cannot become aware (%(aware)s) before the event began (%(onset)s).") % {
        "aware": aware.isoformat(),
        "onset": onset.isoformat(),
    }


class SAEReport(SubjectRecord):
    """The SAE report of one serious adverse event (one per event, kept if it stops being serious).

    ``aware_at`` defaults to the moment the event was first saved as serious; the coordinator
    corrects it (with a reason) when the site knew earlier, and the clocks move with it.
    ``still_serious`` turns False when a correction makes the event non-serious: the report and
    any submission stay on record (a report that went to the sponsor cannot be unsent), and its
    unsubmitted clocks are no longer required.
    """

    crf_code = "SAE"
    crf_title = _("Serious adverse event report")
    assessment_date_field = "aware_at"
    edit_checks = (hard("SAE-AWARE-BEFORE-ONSET", "aware_at", _aware_before_onset),)

    event = models.OneToOneField(
        AdverseEvent, on_delete=models.PROTECT, related_name="sae_report", editable=False
    )
    aware_at = models.DateTimeField(
        _("site aware at"),
        help_text=_("When the site first learned of the serious event; the clocks run from here."),
    )
    still_serious = models.BooleanField(_("still serious"), default=True, editable=False)
    susar = models.CharField(
        _("SUSAR"), max_length=30, choices=SUSARClass.choices, blank=True, editable=False
    )
    susar_since = models.DateTimeField(_("SUSAR since"), null=True, blank=True, editable=False)
    narrative = models.TextField(
        _("description of the reaction"),
        blank=True,
        help_text=_("CIOMS-I item 7+13: course, relevant tests, treatment and outcome."),
    )
    relevant_tests = models.TextField(
        _("relevant tests and laboratory data"), blank=True, default=SEE_ATTACHED
    )
    concomitant_drugs = models.TextField(
        _("concomitant drugs and dates of administration"), blank=True, default=SEE_ATTACHED
    )
    relevant_history = models.TextField(
        _("other relevant history"),
        blank=True,
        default=SEE_ATTACHED,
        help_text=_("Diagnoses, allergies, prior therapies (CIOMS-I item 23)."),
    )
    reporter = models.CharField(
        _("reporter"),
        max_length=200,
        blank=True,
        help_text=_("Name and role of the person reporting (CIOMS-I item 24); empty: the PI."),
    )

    class Meta:
        ordering = ["-aware_at", "-pk"]
        indexes = [models.Index(fields=["study", "aware_at"], name="sae_study_aware")]

    def __str__(self) -> str:
        return f"SAE {self.subject} — {self.event.display_term}"

    def get_absolute_url(self) -> str:
        from django.urls import reverse

        return reverse("safety:sae-report", args=[self.pk])


class SAEClock(ClinicalRecord):
    """One report the SAE needs and when it is due; the submission once recorded.

    Created and moved by the SAE service only (``required`` and the due moment are derived);
    the coordinator or investigator records ``submitted_at`` and the reference number. Created as
    a draft, it becomes *submitted* with its first recorded submission, so correcting one
    afterwards needs a reason (audit trail).
    """

    report = models.ForeignKey(SAEReport, on_delete=models.PROTECT, related_name="clocks")
    kind = models.CharField(_("report"), max_length=20, choices=ClockKind.choices, editable=False)
    starts_at = models.DateTimeField(_("clock starts"), editable=False)
    due_at = models.DateTimeField(_("due"), editable=False)
    required = models.BooleanField(_("required"), default=True, editable=False)
    submitted_at = models.DateTimeField(_("submitted at"), null=True, blank=True)
    reference = models.CharField(
        _("reference number"),
        max_length=80,
        blank=True,
        help_text=_("The sponsor's or the authority's acknowledgement number of the report."),
    )

    class Meta:
        ordering = ["report", "due_at", "pk"]
        constraints = [
            models.UniqueConstraint(fields=["report", "kind"], name="sae_one_clock_per_kind")
        ]
        indexes = [models.Index(fields=["required", "submitted_at", "due_at"], name="sae_open")]

    def __str__(self) -> str:
        return f"{self.report}: {self.get_kind_display()}"

    @property
    def site_id_for_permissions(self) -> int:
        return self.report.subject.site_id

    def get_absolute_url(self) -> str:
        from django.urls import reverse

        return reverse("safety:sae-submission", args=[self.pk])

    def clean(self):
        from django.core.exceptions import ValidationError

        errors = {}
        if self.submitted_at and not self.reference.strip():
            errors["reference"] = ValidationError(
                _("Give the reference number of the report."), code="required_if"
            )
        if self.reference.strip() and not self.submitted_at:
            errors["submitted_at"] = ValidationError(
                _("Give the date and time the report was submitted."), code="required_if"
            )
        if self.submitted_at and self.submitted_at > clock.now():
            errors["submitted_at"] = ValidationError(
                _("The submission cannot be in the future."), code="future"
            )
        elif self.submitted_at and self.report_id and self.submitted_at < self.report.aware_at:
            errors["submitted_at"] = ValidationError(
                _("A report cannot be submitted before the site was aware of the event."),
                code="order",
            )
        if errors:
            raise ValidationError(errors)


class SAEClockAlert(models.Model):
    """The overdue notice of a clock went out (once: unique per clock). Not clinical data."""

    clock = models.OneToOneField(SAEClock, on_delete=models.CASCADE, related_name="overdue_alert")
    sent_at = models.DateTimeField()

    def __str__(self) -> str:
        return f"{self.clock} overdue notice {self.sent_at:%Y-%m-%d %H:%M}"
