"""The screen failure: why a screened subject does not go on, signed by the investigator.

A dedicated record rather than a status on the subject, because it is a decision someone signs
(21 CFR 11.50: the e-signature binds to this record's content — category, text and the failing
criteria at the time) and because a mistaken one is reversed, not erased: the reversal (who,
when, why) is written on the same record and audited, and the subject returns to screening.
"""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _

from enrollment.models.core import SubjectRecord


class ScreenFailureCategory(models.TextChoices):
    FAILED_CRITERIA = "failed_criteria", _("Failed eligibility criteria")
    WITHDREW_CONSENT = "withdrew_consent", _("Declined or withdrew consent")
    DIED = "died", _("Died")
    INVESTIGATOR_DECISION = "investigator_decision", _("Investigator decision")
    OTHER = "other", _("Other")


class ScreenFailure(SubjectRecord):
    assessment_date_field = "decided_on"

    decided_on = models.DateField(_("date of the decision"))
    category = models.CharField(_("reason"), max_length=24, choices=ScreenFailureCategory.choices)
    text = models.CharField(_("details"), max_length=500, blank=True)
    failed_criteria = models.JSONField(_("failing criteria"), default=list, blank=True)
    reversed_at = models.DateTimeField(_("reversed at"), null=True, blank=True)
    reversed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("reversed by"),
    )
    reversal_reason = models.CharField(_("reason for the reversal"), max_length=300, blank=True)

    class Meta:
        ordering = ["subject", "-decided_on", "-pk"]

    def __str__(self) -> str:
        return f"{self.subject} screen failure ({self.get_category_display()})"

    def get_absolute_url(self) -> str:
        from django.urls import reverse

        return reverse("enrollment:subject", args=[self.subject_id])
