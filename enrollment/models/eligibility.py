"""The stored eligibility assessment: the rules' result for a subject, and its confirmation.

Recomputed by ``enrollment.services`` on every screening save, stamped with the study data
version it came from, so the checklist page, the API and outside validators show one result.
The investigator confirms it with an e-signature; any later change to the result reopens it.
"""

from __future__ import annotations

from django.db import models
from django.utils.translation import gettext_lazy as _

from enrollment.models.core import SubjectRecord


class EligibilityAssessment(SubjectRecord):
    audit_derived = True  # computed by the system: a system event on the audit page
    eligible = models.BooleanField(_("eligible"), null=True, blank=True)
    criteria = models.JSONField(_("criteria"), default=dict, blank=True)
    details = models.JSONField(_("criterion details"), default=dict, blank=True)
    settings_used = models.JSONField(_("eligibility settings used"), default=dict, blank=True)
    settings_version = models.PositiveIntegerField(_("computed with settings version"), default=0)
    data_version = models.PositiveBigIntegerField(_("computed from data version"), default=0)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["subject"], name="eligibility_one_per_subject")
        ]

    def __str__(self) -> str:
        return f"{self.subject} — eligibility"

    @property
    def failed(self) -> list[str]:
        return [code for code, status in self.criteria.items() if status == "fail"]

    @property
    def missing(self) -> list[str]:
        return [code for code, status in self.criteria.items() if status == "missing"]

    # A failing sub-item (EX12.2) always fails its criterion (EX12): counts shown to users are
    # of protocol criteria, each once.
    @property
    def failed_criteria(self) -> list[str]:
        return [code for code in self.failed if "." not in code]

    @property
    def missing_criteria(self) -> list[str]:
        return [code for code in self.missing if "." not in code]
