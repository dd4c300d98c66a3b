"""A small CRF used only by the platform tests, so the records core is tested on its own."""

from django.core.exceptions import ValidationError
from django.db import models

from trialsite.records.models import ClinicalRecord, Snapshot
from trialsite.studies.models import Site


class VitalSigns(ClinicalRecord):
    site = models.ForeignKey(Site, on_delete=models.PROTECT, related_name="+")
    subject_label = models.CharField(max_length=20)
    weight_kg = models.DecimalField(max_digits=5, decimal_places=1)
    systolic_bp_mmhg = models.PositiveSmallIntegerField(null=True, blank=True)
    note = models.CharField(max_length=200, blank=True)

    def clean(self):
        if self.weight_kg is not None and self.weight_kg <= 0:
            raise ValidationError({"weight_kg": "Weight must be above 0 kg."}, code="min_value")

    def __str__(self):
        return f"Vital signs {self.subject_label}"


class VitalsSummary(Snapshot):
    """A test-only snapshot: per study and site, how many vital-signs forms and their weight."""

    site_code = models.CharField(max_length=10)
    forms = models.PositiveIntegerField()
    total_weight_kg = models.DecimalField(max_digits=9, decimal_places=1)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["study", "site_code"], name="vitals_summary_per_site")
        ]

    def __str__(self):
        return f"Vitals summary {self.site_code} @ data v{self.data_version}"
