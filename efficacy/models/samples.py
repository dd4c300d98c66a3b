"""Laboratory samples of the efficacy follow-up: CAR-T kinetics, anti-CAR antibodies, RCL.

Lab staff import them by CSV (``efficacy.sample_import``); each row is a subject record (the
platform's ``SubjectRecord``: version, audit trail, data queries) matched on its **sample ID**,
unique per study, so importing the same file again changes nothing and a changed value is an
audited update. The study day comes from the subject's Day 0 (the CAR-T infusion; the base's
``study_day``); nominal timepoints are the protocol's schedule (RULES.md §6.3 for kinetics,
registry text for anti-CAR antibodies to Week 48 and RCL to Year 15 — FDA guidance "Testing of
retroviral vector-based human gene therapy products for replication competent retrovirus
during product manufacture and patient follow-up", 2020: Months 3, 6, 12, then yearly).

Cytokines are not here: they are safety's lab results (``safety.lab_catalogue``, group
"Inflammation and cytokines"), imported through the lab import.

A positive RCL test and a monoclonal insertion-site result are soft edit checks: the save goes
through and an automatic data query opens on the record; the sample service also notifies the
site's investigators (``efficacy.services_samples``).
"""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _

from enrollment.models import SubjectRecord
from trialsite.studies.models import Study


class Compartment(models.TextChoices):
    BLOOD = "blood", _("Peripheral blood")
    MARROW = "marrow", _("Bone marrow")


class KineticsMethod(models.TextChoices):
    QPCR = "qpcr", _("qPCR (transgene copies/µg gDNA)")
    FLOW = "flow", _("Flow cytometry (CAR-T cells/µL)")


class KineticsTimepoint(models.TextChoices):
    """RULES.md §6.3 sampling: Days 4-28, Months 2-12 (and unscheduled samples)."""

    D4 = "D4", "Day 4"
    D7 = "D7", "Day 7"
    D10 = "D10", "Day 10"
    D14 = "D14", "Day 14"
    D21 = "D21", "Day 21"
    D28 = "D28", "Day 28"
    M2 = "M2", "Month 2"
    M3 = "M3", "Month 3"
    M6 = "M6", "Month 6"
    M9 = "M9", "Month 9"
    M12 = "M12", "Month 12"
    UNSCHEDULED = "UNS", _("Unscheduled")


class AntiCARTimepoint(models.TextChoices):
    """Anti-CAR antibody (immunogenicity) samples to Week 48."""

    BASELINE = "BL", _("Baseline (before infusion)")
    D14 = "D14", "Day 14"
    D28 = "D28", "Day 28"
    W8 = "W8", "Week 8"
    W12 = "W12", "Week 12"
    W24 = "W24", "Week 24"
    W36 = "W36", "Week 36"
    W48 = "W48", "Week 48"
    UNSCHEDULED = "UNS", _("Unscheduled")


class AntiCARResult(models.TextChoices):
    POSITIVE = "positive", _("Positive")
    NEGATIVE = "negative", _("Negative")
    INDETERMINATE = "indeterminate", _("Indeterminate")


def _rcl_timepoints() -> list[tuple[str, str]]:
    points = [("M3", "Month 3"), ("M6", "Month 6"), ("M12", "Month 12")]
    points += [(f"Y{year}", f"Year {year}") for year in range(2, 16)]
    return [*points, ("UNS", "Unscheduled")]


RCL_TIMEPOINTS = _rcl_timepoints()


class RCLMethod(models.TextChoices):
    VSVG_QPCR = "vsvg_qpcr", _("VSV-G qPCR")
    COCULTURE = "coculture", _("Co-culture")


class RCLResult(models.TextChoices):
    POSITIVE = "positive", _("Positive")
    NEGATIVE = "negative", _("Negative")
    INDETERMINATE = "indeterminate", _("Indeterminate")


class Clonality(models.TextChoices):
    POLYCLONAL = "polyclonal", _("Polyclonal")
    OLIGOCLONAL = "oligoclonal", _("Oligoclonal")
    MONOCLONAL = "monoclonal", _("Monoclonal")


class SampleRecord(SubjectRecord):
    """What every imported sample has: its sample ID (unique per study) and its import."""

    sample_id = models.CharField(
        _("sample ID"), max_length=40, help_text=_("The laboratory's sample ID; imports match it.")
    )

    class Meta:
        abstract = True


RCL_POSITIVE = _(
    "Replication-competent lentivirus detected: confirm with a second method, inform the "
    "sponsor and follow the protocol's RCL procedure."
)
MONOCLONAL = _(
    "Monoclonal vector insertion site: review for clonal expansion (insertional oncogenesis)."
)


def rcl_positive(record: RCLTest) -> bool:
    return record.result == RCLResult.POSITIVE


def insertion_monoclonal(record: RCLTest) -> bool:
    return record.insertion_site == Clonality.MONOCLONAL


def _edit_checks():
    from trialsite.records.edit_checks import soft

    return (
        soft("RCL-POSITIVE", "result", rcl_positive, RCL_POSITIVE),
        soft("RCL-MONOCLONAL", "insertion_site", insertion_monoclonal, MONOCLONAL),
    )


class KineticsSample(SampleRecord):
    """One CAR-T level: blood or marrow, qPCR or flow, in the method's one unit."""

    crf_code = "PC"
    crf_title = _("CAR-T kinetics")
    assessment_date_field = "collected_at"

    collected_at = models.DateTimeField(_("collected at"))
    timepoint = models.CharField(_("nominal timepoint"), max_length=4,
                                 choices=KineticsTimepoint.choices)  # fmt: skip
    compartment = models.CharField(_("compartment"), max_length=8, choices=Compartment.choices)
    method = models.CharField(_("method"), max_length=8, choices=KineticsMethod.choices)
    value = models.DecimalField(
        _("level"),
        max_digits=18,
        decimal_places=4,
        null=True,
        blank=True,
        help_text=_("In the method's unit (converted on import); blank when below the LLOQ."),
    )
    blq = models.BooleanField(_("below the LLOQ"), default=False)
    lloq = models.DecimalField(_("LLOQ"), max_digits=18, decimal_places=4, null=True, blank=True)
    unit = models.CharField(_("unit"), max_length=24)
    reported_value = models.CharField(_("value as reported"), max_length=40, blank=True)
    reported_unit = models.CharField(_("unit as reported"), max_length=24, blank=True)

    class Meta:
        ordering = ["subject", "collected_at", "pk"]
        verbose_name = _("CAR-T kinetics sample")
        constraints = [
            models.UniqueConstraint(
                fields=["study", "sample_id"], name="kinetics_sample_id_unique_per_study"
            )
        ]

    def __str__(self) -> str:
        return f"{self.subject} {self.sample_id} {self.timepoint}"

    def get_absolute_url(self) -> str:
        from django.urls import reverse

        return reverse("efficacy:kinetics", args=[self.subject_id])

    @property
    def level(self) -> float | None:
        """The level the kinetics rules read: BLQ as 0 (RULES.md §6.3)."""
        if self.blq:
            return 0.0
        return None if self.value is None else float(self.value)


class AntiCARAntibody(SampleRecord):
    """One anti-CAR antibody (immunogenicity) result."""

    crf_code = "ADA"
    crf_title = _("Anti-CAR antibodies")
    assessment_date_field = "collected_on"

    collected_on = models.DateField(_("collected on"))
    timepoint = models.CharField(_("nominal timepoint"), max_length=4,
                                 choices=AntiCARTimepoint.choices)  # fmt: skip
    result = models.CharField(_("result"), max_length=14, choices=AntiCARResult.choices)
    titre = models.PositiveIntegerField(_("titre"), null=True, blank=True)

    class Meta:
        ordering = ["subject", "collected_on", "pk"]
        verbose_name = _("anti-CAR antibody result")
        constraints = [
            models.UniqueConstraint(
                fields=["study", "sample_id"], name="anticar_sample_id_unique_per_study"
            )
        ]

    def __str__(self) -> str:
        return f"{self.subject} {self.sample_id} {self.result}"

    def get_absolute_url(self) -> str:
        from django.urls import reverse

        return reverse("efficacy:anti-car", args=[self.subject_id])


class RCLTest(SampleRecord):
    """One replication-competent lentivirus test, with the insertion-site analysis if done."""

    crf_code = "RCL"
    crf_title = _("Replication-competent lentivirus")
    assessment_date_field = "collected_on"
    edit_checks = _edit_checks()

    collected_on = models.DateField(_("collected on"))
    timepoint = models.CharField(_("nominal timepoint"), max_length=4, choices=RCL_TIMEPOINTS)
    method = models.CharField(_("method"), max_length=10, choices=RCLMethod.choices)
    result = models.CharField(_("result"), max_length=14, choices=RCLResult.choices)
    insertion_site = models.CharField(
        _("insertion-site analysis"), max_length=12, choices=Clonality.choices, blank=True
    )
    dominant_clone_pct = models.DecimalField(
        _("dominant clone %"), max_digits=5, decimal_places=2, null=True, blank=True
    )

    class Meta:
        ordering = ["subject", "collected_on", "pk"]
        verbose_name = _("RCL test")
        constraints = [
            models.UniqueConstraint(
                fields=["study", "sample_id"], name="rcl_sample_id_unique_per_study"
            )
        ]

    def __str__(self) -> str:
        return f"{self.subject} {self.sample_id} RCL {self.result}"

    def get_absolute_url(self) -> str:
        from django.urls import reverse

        return reverse("efficacy:rcl", args=[self.subject_id])


class SampleImport(models.Model):
    """One committed sample file: who, when, which file (SHA-256), what it did.

    Written in the commit's transaction (so it exists exactly when the rows do) and never
    changed; each row's own audit event names the file in its reason.
    """

    class Kind(models.TextChoices):
        KINETICS = "kinetics", _("CAR-T kinetics")
        ANTI_CAR = "anti_car", _("Anti-CAR antibodies")
        RCL = "rcl", _("RCL tests")

    study = models.ForeignKey(Study, on_delete=models.PROTECT, related_name="+")
    kind = models.CharField(max_length=10, choices=Kind.choices)
    filename = models.CharField(max_length=255)
    sha256 = models.CharField(max_length=64)
    imported_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    imported_at = models.DateTimeField()
    rows = models.PositiveIntegerField()
    created = models.PositiveIntegerField()
    updated = models.PositiveIntegerField()
    unchanged = models.PositiveIntegerField()

    class Meta:
        ordering = ["-imported_at", "-pk"]
        verbose_name = _("sample import")

    def __str__(self) -> str:
        return f"{self.get_kind_display()} {self.filename} ({self.sha256[:12]})"
