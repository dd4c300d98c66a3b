"""Subjects, consent, the visit schedule and the screening CRFs (issue: enrollment).

Field names of the screening CRFs are the keys of ``enrollment.rules.FACT_KEYS`` wherever a field
feeds an eligibility criterion, so the selector that builds the rules' ``facts`` is a plain copy
and each form can say which criteria a field feeds. Yes/no questions are nullable: empty means
"not answered yet" and keeps the criterion *missing*, never a silent "no".
"""

from __future__ import annotations

import datetime as dt

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.validators import MaxValueValidator, MinValueValidator, RegexValidator
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from enrollment import consent_checks, consent_rules, plausibility
from enrollment.schedule import study_day
from trialsite import clock
from trialsite.records.models import ClinicalRecord
from trialsite.studies.models import Site

initials_validator = RegexValidator(r"^[A-Z]{2,4}$", _("Use 2–4 capital letters, e.g. WLX."))


def pct(name: str, **kwargs) -> models.DecimalField:
    return models.DecimalField(
        name,
        max_digits=5,
        decimal_places=2,
        null=True,
        blank=True,
        validators=[MinValueValidator(0), MaxValueValidator(100)],
        **kwargs,
    )


def amount(name: str, *, digits: int = 9, places: int = 2, **kwargs) -> models.DecimalField:
    return models.DecimalField(
        name,
        max_digits=digits,
        decimal_places=places,
        null=True,
        blank=True,
        validators=[MinValueValidator(0)],
        **kwargs,
    )


def yes_no(name: str, **kwargs) -> models.BooleanField:
    return models.BooleanField(name, null=True, blank=True, **kwargs)


def when(name: str, **kwargs) -> models.DateField:
    return models.DateField(name, null=True, blank=True, **kwargs)


class SubjectStatus(models.TextChoices):
    SCREENING = "screening", _("Screening")
    SCREEN_FAILURE = "screen_failure", _("Screen failure")
    ELIGIBLE = "eligible", _("Eligible — awaiting cohort")
    ENROLLED = "enrolled", _("Enrolled")
    TREATED = "treated", _("Treated")
    FOLLOW_UP = "follow_up", _("Follow-up")
    OFF_STUDY = "off_study", _("Off study")
    WITHDRAWN = "withdrawn", _("Consent withdrawn")


class Sex(models.TextChoices):
    FEMALE = "F", _("Female")
    MALE = "M", _("Male")


class Subject(ClinicalRecord):
    """A screened person. Only initials and birth date (or year) identify them here."""

    audit_is_subject = True  # its audit rows are the subject's own (trialsite.records.audit)
    site = models.ForeignKey(Site, on_delete=models.PROTECT, related_name="subjects")
    screening_number = models.CharField(_("screening number"), max_length=20, editable=False)
    screening_sequence = models.PositiveIntegerField(editable=False)
    subject_number = models.CharField(
        _("subject ID"), max_length=20, null=True, blank=True, editable=False
    )
    initials = models.CharField(_("initials"), max_length=4, validators=[initials_validator])
    birth_date = models.DateField(_("date of birth"), null=True, blank=True)
    birth_year = models.PositiveSmallIntegerField(
        _("year of birth"),
        null=True,
        blank=True,
        validators=[MinValueValidator(1900)],
        help_text=_("Only where the site forbids full birth dates."),
    )
    sex = models.CharField(_("sex"), max_length=1, choices=Sex.choices)
    screening_date = models.DateField(_("screening date"))
    planned_apheresis_date = models.DateField(_("planned apheresis date"), null=True, blank=True)
    enrollment_date = models.DateField(_("enrollment date"), null=True, blank=True)
    enrollment_status = models.CharField(
        _("status"), max_length=16, choices=SubjectStatus.choices, default=SubjectStatus.SCREENING
    )
    screen_failure_reasons = models.JSONField(_("screen failure reasons"), default=list, blank=True)
    day0 = models.DateField(_("Day 0 (CAR-T infusion)"), null=True, blank=True, editable=False)
    previous_screening = models.ForeignKey(
        "self",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        editable=False,
        related_name="rescreenings",
        verbose_name=_("rescreening of"),
    )

    future_dates_allowed = ("planned_apheresis_date",)
    is_subject = True  # its data queries count on the subject's page (records.queries)
    edit_checks = (*plausibility.SUBJECT_CHECKS, *plausibility.SUBJECT_CONSENT_CHECKS)

    class Meta:
        ordering = ["site", "screening_sequence"]
        constraints = [
            models.UniqueConstraint(fields=["study", "screening_number"], name="screening_no"),
            models.UniqueConstraint(fields=["site", "screening_sequence"], name="screening_seq"),
            models.UniqueConstraint(
                fields=["study", "subject_number"],
                condition=models.Q(subject_number__isnull=False),
                name="subject_no",
            ),
        ]

    def __str__(self) -> str:
        return self.subject_number or self.screening_number

    def get_absolute_url(self) -> str:
        from django.urls import reverse

        return reverse("enrollment:subject", args=[self.pk])

    def clean(self):
        errors = {}
        today = clock.today()
        if self.birth_date and self.birth_date > today:
            errors["birth_date"] = ValidationError(
                _("The date of birth cannot be in the future."), code="future_date"
            )
        if self.birth_date and self.birth_date < plausibility.EARLIEST_DATE:
            errors["birth_date"] = ValidationError(
                plausibility.TOO_EARLY % {"date": self.birth_date.isoformat()}, code="too_early"
            )
        if self.birth_year and self.birth_year > today.year:
            errors["birth_year"] = ValidationError(
                _("The year of birth cannot be in the future."), code="future_date"
            )
        if self.birth_date is None and self.birth_year is None:
            errors["birth_date"] = ValidationError(
                _("Give the date of birth (or the year, where the site allows only the year)."),
                code="required",
            )
        if self.birth_date and self.birth_year and self.birth_date.year != self.birth_year:
            errors["birth_year"] = ValidationError(
                _("The year does not match the date of birth."), code="inconsistent"
            )
        if self.screening_date and self.screening_date > today:
            errors["screening_date"] = ValidationError(
                _("The screening date cannot be in the future."), code="future_date"
            )
        if (
            self.planned_apheresis_date
            and self.screening_date
            and self.planned_apheresis_date < self.screening_date
        ):
            errors["planned_apheresis_date"] = ValidationError(
                _("Apheresis cannot be planned before the screening date."), code="order"
            )
        if errors:
            raise ValidationError(errors)

    @property
    def site_id_for_permissions(self) -> int:
        return self.site_id


class Visit(models.Model):
    """One scheduled visit: its target date and window from Day 0 and the study's schedule.

    Written only by ``enrollment.services.anchor_schedule`` (the schedule is derived data; the
    audited facts are Day 0 on the subject and the schedule in the study settings).
    """

    subject = models.ForeignKey(Subject, on_delete=models.CASCADE, related_name="visits")
    code = models.CharField(max_length=8)
    label = models.CharField(max_length=60)
    anchor = models.CharField(max_length=10, default="day0")
    day = models.IntegerField()
    order = models.PositiveSmallIntegerField()
    target_date = models.DateField()
    window_start = models.DateField()
    window_end = models.DateField()
    actual_date = models.DateField(null=True, blank=True)

    class Meta:
        ordering = ["subject", "order"]
        constraints = [
            models.UniqueConstraint(fields=["subject", "code"], name="visit_code_unique")
        ]

    def __str__(self) -> str:
        return f"{self.subject} {self.label}"

    def state(self, today: dt.date) -> str:
        """done / due (in window) / overdue (window passed) / upcoming."""
        if self.actual_date:
            return "done"
        if today > self.window_end:
            return "overdue"
        if today >= self.window_start:
            return "due"
        return "upcoming"


class SubjectRecord(ClinicalRecord):
    """Abstract base of every CRF about one subject (docs/architecture.md §6).

    Every subject-level CRF belongs to a visit (or timepoint) and has an assessment date, named
    by ``assessment_date_field`` (``"lab_date"`` for labs, ``"sample_date"`` for a sample). From
    them the base gives the protocol **study day** (Day 0 = the CAR-T infusion, negative before
    it; ``enrollment.schedule.study_day``) and the visit-window check. The plausibility checks of
    ``enrollment.plausibility`` run on every save of every subclass (``edit_checks`` is collected
    along the class hierarchy).
    """

    subject = models.ForeignKey(Subject, on_delete=models.PROTECT, related_name="+")
    visit = models.ForeignKey(
        Visit, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )

    assessment_date_field: str = "assessment_date"
    future_dates_allowed: tuple[str, ...] = ()
    edit_checks = plausibility.RECORD_CHECKS

    class Meta:
        abstract = True

    @property
    def site_id_for_permissions(self) -> int:
        return self.subject.site_id

    @property
    def assessment_date_value(self) -> dt.date | None:
        value = getattr(self, self.assessment_date_field, None)
        if isinstance(value, dt.datetime):
            return timezone.localtime(value).date()
        return value

    @property
    def study_day(self) -> int | None:
        """Days from Day 0 (the CAR-T infusion) to the assessment date; None before Day 0."""
        return study_day(self.assessment_date_value, self.subject.day0)


class FormExpectation(models.Model):
    """Which form is expected at which visit of a subject, and whether it has been entered.

    One row per subject × visit × form, written by the services when a visit is created (the
    schedule is anchored) and when a form is saved — never by signals — so "missing forms" is one
    query (the metadata pattern of clinicedc's ``edc_metadata``). *Missing* is not stored: it is
    a required form not entered once its visit window has closed.
    """

    class Status(models.TextChoices):
        REQUIRED = "required", _("Required")
        NOT_REQUIRED = "not_required", _("Not required")
        ENTERED = "entered", _("Entered")

    subject = models.ForeignKey(Subject, on_delete=models.CASCADE, related_name="expectations")
    visit = models.ForeignKey(Visit, on_delete=models.CASCADE, related_name="expectations")
    form_code = models.CharField(max_length=40)
    form_label = models.CharField(max_length=120)
    status = models.CharField(max_length=12, choices=Status.choices)
    updated_at = models.DateTimeField()

    class Meta:
        ordering = ["subject", "visit__order", "form_code"]
        constraints = [
            models.UniqueConstraint(
                fields=["subject", "visit", "form_code"], name="one_expectation_per_form"
            )
        ]
        indexes = [models.Index(fields=["status", "visit"], name="expectation_status")]

    def __str__(self) -> str:
        return f"{self.subject} {self.visit.code} {self.form_code}: {self.status}"


class ConsentSigner(models.TextChoices):
    SUBJECT = consent_rules.SIGNED_BY_SUBJECT, _("The subject")
    LAR = consent_rules.SIGNED_BY_LAR, _("A legally acceptable representative")


class Consent(SubjectRecord):
    """One signed ICF version. Re-consent to a new version is a new row; none is ever deleted.

    Withdrawal is recorded on the consent in force (date, reason, who recorded it) and sets the
    subject's status to withdrawn (``enrollment.services.update_consent``).
    """

    assessment_date_field = "signed_at"
    edit_checks = consent_checks.CONSENT_CHECKS

    icf_version = models.CharField(
        _("ICF version"), max_length=40, help_text=_("One of the study's approved ICF versions.")
    )
    signed_at = models.DateTimeField(_("signed at"))
    signed_by = models.CharField(
        _("signed by"),
        max_length=8,
        choices=ConsentSigner.choices,
        default=ConsentSigner.SUBJECT,
    )
    representative_name = models.CharField(_("representative's name"), max_length=120, blank=True)
    representative_relationship = models.CharField(
        _("representative's relationship to the subject"), max_length=80, blank=True
    )
    witness_name = models.CharField(
        _("impartial witness"),
        max_length=120,
        blank=True,
        help_text=_("Where the subject or representative cannot read (ICH E6(R3) 2.8.6)."),
    )
    obtained_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        related_name="+",
        verbose_name=_("consent obtained by"),
    )
    withdrawn_at = models.DateTimeField(_("withdrawn at"), null=True, blank=True)
    withdrawal_reason = models.CharField(_("reason for withdrawal"), max_length=300, blank=True)
    withdrawn_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        editable=False,
        related_name="+",
        verbose_name=_("withdrawal recorded by"),
    )
    # A withdrawal recorded by mistake, reversed by the investigator with a reason and an
    # e-signature (``enrollment.services.reverse_withdrawal``): the withdrawal moves here and
    # ``withdrawn_at`` is empty again, so the consent is in force; the audit trail keeps each step.
    reversed_withdrawal_at = models.DateTimeField(
        _("reversed withdrawal: withdrawn at"), null=True, blank=True, editable=False
    )
    reversed_withdrawal_reason = models.CharField(
        _("reversed withdrawal: reason given"), max_length=300, blank=True, editable=False
    )
    withdrawal_reversed_at = models.DateTimeField(
        _("withdrawal reversed at"), null=True, blank=True, editable=False
    )
    withdrawal_reversed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        editable=False,
        related_name="+",
        verbose_name=_("withdrawal reversed by"),
    )
    withdrawal_reversal_reason = models.CharField(
        _("why the withdrawal was a mistake"), max_length=300, blank=True, editable=False
    )

    class Meta:
        ordering = ["subject", "-signed_at"]

    def __str__(self) -> str:
        return f"{self.subject} consent {self.icf_version}"

    def get_absolute_url(self) -> str:
        from django.urls import reverse

        return reverse("enrollment:consent-edit", args=[self.subject_id, self.pk])

    def clean(self):
        errors = {}
        now = clock.now()
        if self.signed_at and self.signed_at > now:
            errors["signed_at"] = ValidationError(
                _("Consent cannot be signed in the future."), code="future_date"
            )
        if self.withdrawn_at and self.signed_at and self.withdrawn_at < self.signed_at:
            errors["withdrawn_at"] = ValidationError(
                _("Withdrawal cannot come before the signature."), code="order"
            )
        if self.withdrawn_at and not self.withdrawal_reason.strip():
            errors["withdrawal_reason"] = ValidationError(
                _("Give the reason for withdrawal."), code="required"
            )
        if self.withdrawal_reason.strip() and not self.withdrawn_at:
            errors["withdrawn_at"] = ValidationError(
                _("Give the date of withdrawal."), code="required"
            )
        for name, message in consent_rules.representative_problems(
            self.signed_by, self.representative_name, self.representative_relationship
        ).items():
            errors[name] = ValidationError(_(message), code="representative")
        if errors:
            raise ValidationError(errors)
