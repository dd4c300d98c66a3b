"""The subject's DLT evaluation in the 28-day window and the investigator's adjudications.

``DLTEvaluation`` is a *derived record* (docs/architecture.md §5): one per infused subject,
recomputed by ``safety.services.dlt.refresh_dlt_evaluation`` in the transaction of every save
that can change it (an AE, its grade history, an adjudication) and by the daily beat task
(``safety.tasks.close_dlt_windows``), audited, stamped with the data and settings versions it
came from. It stores what ``safety.rules.evaluate_dlt_window`` returned — nothing is decided
here. ``DLTAdjudication`` is the investigator's signed verdict on one candidate AE (21 CFR
11.50: the e-signature binds to the verdict and its rationale); the rule takes the verdict as
its ``adjudications`` input (docs/rules/safety.md "DLT adjudication").
"""

from __future__ import annotations

import datetime as dt

from django.db import models
from django.utils.translation import gettext_lazy as _

from enrollment.models import SubjectRecord
from safety import rules
from safety.models.adverse_events import AdverseEvent


class DLTStatus(models.TextChoices):
    OPEN = "open", _("Open")
    WITH_DLT = "evaluable_with_dlt", _("Evaluable with DLT")
    WITHOUT_DLT = "evaluable_without_dlt", _("Evaluable without DLT")
    NOT_EVALUABLE = "not_evaluable", _("Not evaluable")


assert {c.value for c in DLTStatus} == set(rules.DLT_WINDOW_STATUSES)


class DLTEvaluation(SubjectRecord):
    """The stored result of ``safety.rules.evaluate_dlt_window`` for one subject."""

    audit_derived = True  # computed by the system: a system event on the audit page
    crf_title = _("DLT evaluation")
    assessment_date_field = "as_of_date"

    dlt_status = models.CharField(_("DLT status"), max_length=24, choices=DLTStatus.choices)
    dlt = models.BooleanField(_("DLT"), null=True, blank=True, help_text=_("Empty = pending."))
    evaluable = models.BooleanField(_("evaluable"), default=True)
    max_related_grade = models.PositiveSmallIntegerField(_("maximum related grade"), default=0)
    max_unassessed_grade = models.PositiveSmallIntegerField(
        _("maximum grade with relatedness not assessed"), default=0
    )
    window_start = models.DateField(_("Day 0"))
    window_end_day = models.PositiveSmallIntegerField(_("window ends on day"))
    closes_on_day = models.PositiveSmallIntegerField(_("closes on day"))
    grace_days = models.PositiveSmallIntegerField(
        _("grace for blood counts (days)"),
        default=0,
        help_text=_("Days after the count-recovery day by which a usable count may still come."),
    )
    first_dlt_day = models.SmallIntegerField(_("first DLT on day"), null=True, blank=True)
    as_of_day = models.SmallIntegerField(_("as of study day"))
    as_of_date = models.DateField(_("as of"))
    left_study_day = models.SmallIntegerField(_("left the study on day"), null=True, blank=True)
    count_recovery = models.CharField(_("count recovery"), max_length=16, blank=True)
    reasons = models.JSONField(_("reasons"), default=list, blank=True)
    candidates = models.JSONField(
        _("DLT candidates"),
        default=list,
        blank=True,
        help_text=_("Each event the rule called a candidate (or could not yet decide)."),
    )
    awaiting_adjudication = models.PositiveSmallIntegerField(
        _("candidates awaiting adjudication"), default=0
    )
    settings_used = models.JSONField(_("DLT settings used"), default=dict, blank=True)
    settings_version = models.PositiveIntegerField(_("computed with settings version"), default=0)
    data_version = models.PositiveBigIntegerField(_("computed from data version"), default=0)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["subject"], name="dlt_one_per_subject")]
        indexes = [models.Index(fields=["study", "dlt_status"], name="dlt_study_status")]

    def __str__(self) -> str:
        return f"{self.subject} — DLT evaluation"

    def get_absolute_url(self) -> str:
        from django.urls import reverse

        return reverse("safety:dlt-evaluation", args=[self.subject_id])

    @property
    def window_end_date(self) -> dt.date:
        return self.window_start + dt.timedelta(days=self.window_end_day)

    @property
    def closes_on_date(self) -> dt.date:
        return self.window_start + dt.timedelta(days=self.closes_on_day)

    def days_left(self, today: dt.date) -> int:
        """Days the window still runs after ``today`` (0 once it has closed or completed)."""
        if self.dlt_status != DLTStatus.OPEN:
            return 0
        return max(0, (self.closes_on_date - today).days)


class DLTAdjudication(SubjectRecord):
    """The investigator's verdict on one DLT candidate: DLT yes/no, the rationale, signed.

    ``event_version`` is the AE version the investigator judged: a later change to the event
    (its grade, relatedness, dates) makes the verdict stale, so the candidate is shown for
    adjudication again instead of being cleared by a judgement about other facts.
    """

    crf_title = _("DLT adjudication")
    assessment_date_field = "decided_on"

    event = models.OneToOneField(
        AdverseEvent,
        on_delete=models.PROTECT,
        related_name="dlt_adjudication",
        verbose_name=_("adverse event"),
    )
    event_version = models.PositiveIntegerField(_("adverse event version judged"))
    is_dlt = models.BooleanField(_("dose-limiting toxicity"))
    rationale = models.TextField(_("rationale"))
    decided_on = models.DateField(_("date of the decision"))

    class Meta:
        ordering = ["subject", "event"]

    def __str__(self) -> str:
        verdict = _("DLT") if self.is_dlt else _("not a DLT")
        return f"{self.subject} — {self.event_id}: {verdict}"

    def get_absolute_url(self) -> str:
        from django.urls import reverse

        return reverse("safety:dlt-evaluation", args=[self.subject_id])

    @property
    def current(self) -> bool:
        """Does the verdict still cover the event as it is now?"""
        return self.event.version == self.event_version
