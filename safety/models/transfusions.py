"""Transfusions given to a subject: the blood products the count-recovery rule must know about.

Why: the haematologic DLT is failure of count recovery *without transfusion* (RULES.md §3.5
"Count recovery by Day X"): a platelet count within 7 days after a platelet transfusion, and a
haemoglobin within 7 days after red cells, is not evidence of recovery. Without this CRF the
rule's ``platelet_transfusion_within_7_days`` / ``red_cell_transfusion_within_7_days`` flags
were always False. ``Transfusion`` is a repeating subject record (one row per product given),
written only by ``safety.services.save_transfusion``.
"""

from __future__ import annotations

from django.db import models
from django.urls import reverse
from django.utils.translation import gettext_lazy as _

from enrollment.models import SubjectRecord
from trialsite.records.edit_checks import range_check


class BloodProduct(models.TextChoices):
    RED_CELLS = "red_cells", _("Red blood cells")
    PLATELETS = "platelets", _("Platelets")
    PLASMA = "plasma", _("Plasma")
    CRYOPRECIPITATE = "cryoprecipitate", _("Cryoprecipitate")
    GRANULOCYTES = "granulocytes", _("Granulocytes")


#: The product whose transfusion hides each blood count from the count-recovery rule
#: (``safety.rules.BloodCount`` flags); plasma, cryoprecipitate and granulocytes hide none.
PRODUCT_FLAGS = {
    BloodProduct.RED_CELLS: "red_cell_transfusion_within_7_days",
    BloodProduct.PLATELETS: "platelet_transfusion_within_7_days",
}

#: Products whose transfusion the DLT evaluation reads (a save of one refreshes it).
COUNT_RECOVERY_PRODUCTS = frozenset(PRODUCT_FLAGS)


class Transfusion(SubjectRecord):
    """One blood product given on one date (repeating: as many rows as products given)."""

    crf_code = "TRANSFUSION"
    crf_title = _("Transfusion")
    assessment_date_field = "transfusion_date"
    edit_checks = (range_check("TR-UNITS-RANGE", "units", 1, 20, "units"),)

    transfusion_date = models.DateField(_("date given"))
    product = models.CharField(_("product"), max_length=16, choices=BloodProduct.choices)
    units = models.PositiveSmallIntegerField(
        _("units"), help_text=_("Number of units (bags / adult doses) given that day.")
    )
    reason = models.CharField(
        _("reason"),
        max_length=200,
        blank=True,
        help_text=_("Why it was given (e.g. Hb 6.8 g/dL, platelets 8 ×10⁹/L with bleeding)."),
    )

    class Meta:
        ordering = ["subject", "transfusion_date", "pk"]
        verbose_name = _("transfusion")

    def __str__(self) -> str:
        return f"{self.subject} {self.get_product_display()} {self.transfusion_date}"

    def get_absolute_url(self) -> str:
        return reverse("safety:transfusion-edit", args=[self.subject_id, self.pk])
