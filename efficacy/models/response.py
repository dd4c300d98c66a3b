"""The response assessment CRF: one marrow/blood/MRD assessment at a response visit.

ELN 2022 (Döhner H et al., Blood 2022;140:1345, Table 6) asks for the marrow blast percentage of
an adequate marrow, the blood counts, circulating blasts and extramedullary disease; the protocol
adds flow MRD (leukemic events ÷ cells acquired, RULES.md §1.3) and, for NPM1-mutant or CBF-AML,
molecular MRD. The category and the MRD status are derived by ``efficacy.services.response``
with ``efficacy.rules.classify_response`` / ``mrd_status`` on every save (never typed); the
investigator then confirms the category or overrides it with a reason (both kept).
"""

from __future__ import annotations

from django.conf import settings
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.urls import reverse
from django.utils.translation import gettext_lazy as _

from efficacy.rules import MRD_RESULTS, RESPONSE_CATEGORIES
from enrollment.models import SubjectRecord
from trialsite.records.edit_checks import range_check


class ResponseTimepoint(models.TextChoices):
    """The protocol's response visits (Months 1, 2, 3, 6, 9, 12) and the unscheduled one."""

    M1 = "M1", _("Month 1 (Day 28)")
    M2 = "M2", _("Month 2")
    M3 = "M3", _("Month 3")
    M6 = "M6", _("Month 6")
    M9 = "M9", _("Month 9")
    M12 = "M12", _("Month 12")
    UNSCHEDULED = "UNS", _("Unscheduled (suspected relapse)")


#: Response timepoint → the schedule's visit code (Month 1 is the Day 28 visit).
TIMEPOINT_VISIT = {"M1": "D28", "M2": "M2", "M3": "M3", "M6": "M6", "M9": "M9", "M12": "M12"}
#: Response timepoint → month (None for the unscheduled assessment).
TIMEPOINT_MONTH = {"M1": 1, "M2": 2, "M3": 3, "M6": 6, "M9": 9, "M12": 12}


class MarrowAdequacy(models.TextChoices):
    ADEQUATE = "adequate", _("Adequate")
    INADEQUATE = "inadequate", _("Inadequate (hypocellular, aparticulate)")
    NOT_DONE = "not_done", _("Not done")


class AssessedFinding(models.TextChoices):
    YES = "yes", _("Yes")
    NO = "no", _("No")
    NOT_ASSESSED = "not_assessed", _("Not assessed")


class MolecularMarker(models.TextChoices):
    NPM1 = "npm1", _("NPM1 mutation (qPCR)")
    CBF = "cbf", _("CBF fusion (RUNX1::RUNX1T1 / CBFB::MYH11, qPCR)")


class MolecularResult(models.TextChoices):
    POSITIVE = "positive", _("Positive")
    NEGATIVE = "negative", _("Negative")
    NOT_DONE = "not_done", _("Not done")


class ResponseDecision(models.TextChoices):
    """The investigator's word on the computed category."""

    CONFIRMED = "confirmed", _("Confirmed")
    OVERRIDDEN = "overridden", _("Overridden")


CATEGORY_LABELS = {
    "CR": _("CR (complete remission)"),
    "CRh": _("CRh (CR with partial haematologic recovery)"),
    "CRi": _("CRi (CR with incomplete haematologic recovery)"),
    "MLFS": _("MLFS (morphologic leukaemia-free state)"),
    "PR": _("PR (partial remission)"),
    "NR": _("No response"),
    "NE": _("Not evaluable"),
}
CATEGORY_CHOICES = [(c, CATEGORY_LABELS[c]) for c in RESPONSE_CATEGORIES]
MRD_CHOICES = [(m, m.replace("_", " ")) for m in MRD_RESULTS]


def pct(label, **options):
    return models.DecimalField(
        label, max_digits=5, decimal_places=2, null=True, blank=True, **options
    )


class ResponseAssessment(SubjectRecord):
    """One response assessment: marrow, blood, EMD, transfusions, MRD; the derived category.

    One per subject per scheduled response visit (unique constraint); unscheduled assessments
    (suspected relapse) may repeat. The blast ranges (0–100 %) and "cells acquired ≥ leukemic
    events" are refused by the service with field errors before the rules run.
    """

    crf_code = "RESP"
    crf_title = _("Response assessment (ELN 2022)")
    assessment_date_field = "assessment_date"
    edit_checks = (
        range_check("RESP-ANC-RANGE", "anc_10e9_l", 0, 100, "×10⁹/L"),
        range_check("RESP-PLT-RANGE", "platelets_10e9_l", 0, 2000, "×10⁹/L"),
        range_check("RESP-HGB-RANGE", "hemoglobin_g_dl", 2, 25, "g/dL"),
    )

    timepoint = models.CharField(
        _("response visit"), max_length=4, choices=ResponseTimepoint.choices
    )
    assessment_date = models.DateField(_("assessment date"))
    # Bone marrow
    bm_adequacy = models.CharField(
        _("marrow sample"),
        max_length=12,
        choices=MarrowAdequacy.choices,
        default=MarrowAdequacy.ADEQUATE,
        help_text=_("ELN 2022: at least 200 nucleated cells counted on an aspirate with spicules."),
    )
    bm_blasts_pct = pct(_("marrow blasts (%)"))
    bm_cellularity_pct = pct(_("marrow cellularity (%)"))
    bm_cells_counted = models.PositiveIntegerField(
        _("nucleated cells counted"), null=True, blank=True
    )
    auer_rods = models.BooleanField(_("Auer rods seen"), null=True, blank=True)
    baseline_bm_blasts_entered = pct(
        _("baseline marrow blasts (%)"),
        help_text=_(
            "Only when the screening AML history has no marrow blast percentage: the "
            "pre-infusion marrow the partial remission is measured against."
        ),
    )
    # Peripheral blood
    anc_10e9_l = models.DecimalField(
        _("ANC (×10⁹/L)"), max_digits=6, decimal_places=2, null=True, blank=True
    )
    platelets_10e9_l = models.DecimalField(
        _("platelets (×10⁹/L)"), max_digits=6, decimal_places=1, null=True, blank=True
    )
    hemoglobin_g_dl = models.DecimalField(
        _("haemoglobin (g/dL)"), max_digits=4, decimal_places=1, null=True, blank=True
    )
    pb_blasts = models.CharField(
        _("circulating blasts"),
        max_length=12,
        choices=AssessedFinding.choices,
        default=AssessedFinding.NO,
    )
    pb_blasts_pct = pct(_("circulating blasts (%)"))
    extramedullary_disease = models.CharField(
        _("extramedullary disease"),
        max_length=12,
        choices=AssessedFinding.choices,
        default=AssessedFinding.NO,
    )
    # Transfusions and growth factors (last 7 days)
    red_cell_transfusion_7d = models.BooleanField(
        _("red cells transfused in the last 7 days"), default=False
    )
    platelet_transfusion_7d = models.BooleanField(
        _("platelets transfused in the last 7 days"), default=False
    )
    growth_factors = models.BooleanField(
        _("growth factors (G-CSF, TPO agonist) given"), default=False
    )
    # Flow MRD
    flow_leukemic_events = models.PositiveBigIntegerField(
        _("flow MRD: leukaemic events"), null=True, blank=True
    )
    flow_cells_acquired = models.PositiveBigIntegerField(
        _("flow MRD: cells acquired"), null=True, blank=True
    )
    flow_sensitivity = models.DecimalField(
        _("flow MRD: assay sensitivity"),
        max_digits=9,
        decimal_places=8,
        null=True,
        blank=True,
        validators=[MinValueValidator(0), MaxValueValidator(1)],
        help_text=_("As a fraction, e.g. 0.0001 for 10⁻⁴."),
    )
    # Molecular MRD (NPM1-mutant or CBF-AML)
    molecular_marker = models.CharField(
        _("molecular MRD marker"), max_length=6, choices=MolecularMarker.choices, blank=True
    )
    molecular_result = models.CharField(
        _("molecular MRD result"), max_length=10, choices=MolecularResult.choices, blank=True
    )
    molecular_level = models.DecimalField(
        _("molecular MRD level (% of reference transcript)"),
        max_digits=12,
        decimal_places=6,
        null=True,
        blank=True,
        validators=[MinValueValidator(0)],
    )
    # Derived by the service (efficacy.rules)
    computed_category = models.CharField(
        _("ELN 2022 category (computed)"), max_length=4, choices=CATEGORY_CHOICES, editable=False
    )
    computed_reason = models.CharField(_("why"), max_length=300, blank=True, editable=False)
    mrd_status = models.CharField(
        _("flow MRD status"), max_length=16, choices=MRD_CHOICES, blank=True, editable=False
    )
    baseline_bm_blasts_pct = models.DecimalField(
        _("baseline marrow blasts used (%)"),
        max_digits=5,
        decimal_places=2,
        null=True,
        blank=True,
        editable=False,
    )
    baseline_source = models.CharField(
        _("baseline from"), max_length=12, blank=True, editable=False
    )
    rule_settings = models.JSONField(
        _("efficacy settings used"), default=dict, blank=True, editable=False
    )
    # The investigator's confirmation or override
    decision = models.CharField(
        _("investigator's decision"),
        max_length=10,
        choices=ResponseDecision.choices,
        blank=True,
        editable=False,
    )
    decided_category = models.CharField(
        _("category of record"), max_length=4, choices=CATEGORY_CHOICES, blank=True, editable=False
    )
    override_reason = models.TextField(_("reason for the override"), blank=True, editable=False)
    decided_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        editable=False,
    )
    decided_at = models.DateTimeField(_("decided at"), null=True, blank=True, editable=False)

    class Meta:
        ordering = ["subject", "assessment_date", "pk"]
        constraints = [
            models.UniqueConstraint(
                fields=["subject", "timepoint"],
                condition=~models.Q(timepoint="UNS"),
                name="response_one_per_visit",
            )
        ]

    def __str__(self) -> str:
        return f"{self.subject} {self.get_timepoint_display()}: {self.category_of_record}"

    def get_absolute_url(self) -> str:
        return reverse("efficacy:response-edit", args=[self.subject_id, self.pk])

    @property
    def month(self) -> int | None:
        return TIMEPOINT_MONTH.get(self.timepoint)

    @property
    def category_of_record(self) -> str:
        """The override if any, else the computed category (a confirmation keeps it)."""
        if self.decision == ResponseDecision.OVERRIDDEN and self.decided_category:
            return self.decided_category
        return self.computed_category

    @property
    def overridden(self) -> bool:
        return self.decision == ResponseDecision.OVERRIDDEN

    @property
    def source(self) -> str:
        """ "computed" | "confirmed" | "overridden" (``efficacy.course.VisitResponse.source``)."""
        return self.decision or "computed"
