"""Lab collections and their graded results, and the AEs they propose (issue #11, labs).

``LabPanel`` is one collection (a SubjectRecord: collected at, specimen, accession number, lab).
``LabResult`` is a ClinicalRecord of its own, one per test of the panel, rather than rows the
panel writes: each value then has its own version, audit trail (old -> new on a correction or a
re-import), e-signature scope and data queries on its own fields (the baseline query of
RULES.md §3.5 lands on the result it concerns, and closes when that result is re-graded). The
CTCAE grade, the H/L flag, the baseline used and the settings version are derived by the lab
service on every save (``safety.services.labs``) with ``safety.rules.ctcae_lab_assessment``,
never typed.

``LabAEProposal`` is the system's suggestion that a newly graded abnormality is an adverse event;
the coordinator confirms it (an AE through ``save_derived_adverse_event``) or dismisses it with
a reason. Audited like every record (confirm/dismiss is a user's change of it).
"""

from __future__ import annotations

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from enrollment.models import Subject, SubjectRecord
from safety import lab_catalogue, rules
from trialsite.records.edit_checks import hard, soft
from trialsite.records.models import ClinicalRecord


class Specimen(models.TextChoices):
    BLOOD = "blood", _("Whole blood")
    SERUM = "serum", _("Serum")
    PLASMA = "plasma", _("Plasma")
    OTHER = "other", _("Other")


class LabFlag(models.TextChoices):
    LOW = "L", _("Low")
    NORMAL = "N", _("Normal")
    HIGH = "H", _("High")


class LabPanel(SubjectRecord):
    """One collection of one subject: the tests drawn at one time."""

    crf_code = "LB"
    crf_title = _("Lab results")
    assessment_date_field = "collected_at"

    collected_at = models.DateTimeField(_("collected at"))
    specimen = models.CharField(
        _("specimen"), max_length=8, choices=Specimen.choices, default=Specimen.BLOOD
    )
    accession_number = models.CharField(
        _("accession number"),
        max_length=40,
        blank=True,
        help_text=_("The laboratory's sample number; a CSV import matches on it."),
    )
    lab_name = models.CharField(_("laboratory"), max_length=120, blank=True)

    class Meta:
        ordering = ["subject", "-collected_at", "pk"]
        verbose_name = _("lab collection")
        constraints = [
            models.UniqueConstraint(
                fields=["study", "accession_number"],
                condition=~models.Q(accession_number=""),
                name="lab_accession_unique_per_study",
            )
        ]

    def __str__(self) -> str:
        when = timezone.localtime(self.collected_at).strftime("%Y-%m-%d %H:%M")
        return f"{self.subject} labs {when}"

    def get_absolute_url(self) -> str:
        from django.urls import reverse

        return reverse("safety:lab-panel-edit", args=[self.subject_id, self.pk])


def unit_refused(result: LabResult) -> str:
    """Hard LB-UNIT: a unit the catalogue (and, for graded tests, the rules) cannot convert."""
    test = lab_catalogue.TESTS.get(result.test_code)
    if test is None or test.canonical_unit(result.unit) is not None:
        return ""
    return _("%(unit)s cannot be converted for %(test)s; accepted units: %(units)s.") % {
        "unit": result.unit or "—",
        "test": test.label,
        "units": test.accepted_units,
    }


def range_inverted(result: LabResult) -> str:
    if result.lln is not None and result.uln is not None and result.lln >= result.uln:
        return _("The lower limit of normal must be below the upper limit.")
    return ""


BASELINE_QUERY = _(
    "No baseline %(test)s is recorded before lymphodepletion: the grade assumes a normal "
    "baseline. Enter the pre-treatment value (or mark the baseline result)."
)


def baseline_missing(result: LabResult) -> str:
    """Soft LB-BASELINE (RULES.md §3.5): the rules flagged ``baseline_not_recorded``."""
    if rules.BASELINE_NOT_RECORDED not in (result.grade_flags or []):
        return ""
    test = lab_catalogue.TESTS.get(result.test_code)
    return BASELINE_QUERY % {"test": test.label if test else result.test_code}


class LabResult(ClinicalRecord):
    """One test's value in one collection, with its derived CTCAE grade and H/L flag."""

    edit_checks = (
        hard("LB-UNIT", "unit", unit_refused),
        hard("LB-RANGE", "uln", range_inverted),
        soft("LB-BASELINE", "baseline_value", baseline_missing),
    )

    panel = models.ForeignKey(LabPanel, on_delete=models.PROTECT, related_name="results")
    subject = models.ForeignKey(Subject, on_delete=models.PROTECT, related_name="+")
    test_code = models.CharField(_("test"), max_length=12, choices=lab_catalogue.choices())
    value = models.DecimalField(_("value"), max_digits=16, decimal_places=4)
    unit = models.CharField(_("unit"), max_length=16)
    lln = models.DecimalField(
        _("lower limit of normal"), max_digits=16, decimal_places=4, null=True, blank=True
    )
    uln = models.DecimalField(
        _("upper limit of normal"), max_digits=16, decimal_places=4, null=True, blank=True
    )
    is_baseline = models.BooleanField(
        _("baseline value"),
        default=False,
        help_text=_("Tick to use this value as the baseline of later results of the test."),
    )
    # Derived on save by the lab service (never typed).
    ctcae_term = models.CharField(_("CTCAE term"), max_length=60, blank=True, editable=False)
    grade = models.PositiveSmallIntegerField(_("CTCAE grade"), null=True, blank=True)
    flag = models.CharField(_("flag"), max_length=1, choices=LabFlag.choices, blank=True)
    grade_flags = models.JSONField(_("grading flags"), default=list, blank=True)
    baseline_value = models.DecimalField(
        _("baseline used"), max_digits=16, decimal_places=4, null=True, blank=True
    )
    pre_treatment = models.BooleanField(_("pre-treatment value"), default=False)
    settings_version = models.PositiveIntegerField(_("settings version"), null=True, blank=True)

    class Meta:
        ordering = ["panel", "pk"]
        verbose_name = _("lab result")
        constraints = [
            models.UniqueConstraint(fields=["panel", "test_code"], name="lab_one_result_per_test")
        ]
        indexes = [models.Index(fields=["subject", "test_code"], name="lab_subject_test")]

    def __str__(self) -> str:
        return f"{self.subject} {self.test_code} {self.value} {self.unit}"

    @property
    def site_id_for_permissions(self) -> int:
        return self.subject.site_id

    @property
    def test(self) -> lab_catalogue.LabTest | None:
        return lab_catalogue.TESTS.get(self.test_code)

    def get_absolute_url(self) -> str:
        from django.urls import reverse

        return reverse("safety:lab-panel-edit", args=[self.subject_id, self.panel_id])

    def clean(self):
        if self.value is not None and self.value < 0:
            raise ValidationError(
                {"value": ValidationError(_("A lab value cannot be negative."), code="negative")}
            )


class ProposalStatus(models.TextChoices):
    PENDING = "pending", _("Awaiting review")
    CONFIRMED = "confirmed", _("Confirmed as an adverse event")
    DISMISSED = "dismissed", _("Dismissed")
    WITHDRAWN = "withdrawn", _("Withdrawn: the value was corrected")


class LabAEProposal(ClinicalRecord):
    """A graded lab abnormality the system proposes as an AE; a person decides."""

    subject = models.ForeignKey(Subject, on_delete=models.PROTECT, related_name="+")
    result = models.OneToOneField(
        LabResult, on_delete=models.PROTECT, related_name="proposal", editable=False
    )
    ctcae_term = models.CharField(_("CTCAE term"), max_length=60)
    grade = models.PositiveSmallIntegerField(_("grade"))
    previous_grade = models.PositiveSmallIntegerField(_("previous grade"), null=True, blank=True)
    decision = models.CharField(
        _("decision"),
        max_length=12,
        choices=ProposalStatus.choices,
        default=ProposalStatus.PENDING,
    )
    decided_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("decided by"),
    )
    decided_at = models.DateTimeField(_("decided at"), null=True, blank=True)
    dismiss_reason = models.CharField(_("reason for dismissal"), max_length=300, blank=True)
    adverse_event = models.ForeignKey(
        "safety.AdverseEvent",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("adverse event"),
    )

    class Meta:
        ordering = ["subject", "-pk"]
        verbose_name = _("proposed adverse event (lab)")
        indexes = [models.Index(fields=["subject", "decision"], name="lab_proposal_decision")]

    def __str__(self) -> str:
        return f"{self.subject} {self.ctcae_term} grade {self.grade} ({self.decision})"

    @property
    def site_id_for_permissions(self) -> int:
        return self.subject.site_id

    def get_absolute_url(self) -> str:
        from django.urls import reverse

        return reverse("safety:lab-proposals", args=[self.subject_id])
