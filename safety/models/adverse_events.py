"""Adverse events graded by CTCAE v5.0 (CRS and ICANS by ASTCT 2019), with their grade history.

Choices follow CDISC SDTM where SDTM has a codelist (action taken AEACN, outcome AEOUT,
seriousness criteria AESDTH/AESLIFE/AESHOSP/AESDISAB/AESCONG/AESMIE), so the exports map one to
one. Relationship uses the 5-point scale of ``safety.rules.RELATEDNESS_CATEGORIES`` (the DLT
criteria count "possible", "probable" and "definite" as related, study setting).

An event's grade can change while it lasts (CRS grade 1 on Day 2, grade 3 on Day 6): the form
holds the *current* grade and the date it was reached; each change is kept as a row of
``AdverseEventGrade``, and the worst grade with its date is derived from those rows by the
service (``safety.services.adverse_events``), never typed.
"""

from __future__ import annotations

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.utils.translation import gettext_lazy as _

from enrollment.models import SubjectRecord
from safety import rules
from safety.models.terms import CTCAETerm
from trialsite.records.edit_checks import hard, soft


class Relatedness(models.TextChoices):
    UNRELATED = "unrelated", _("Not related")
    UNLIKELY = "unlikely", _("Unlikely related")
    POSSIBLE = "possible", _("Possibly related")
    PROBABLE = "probable", _("Probably related")
    DEFINITE = "definite", _("Definitely related")


assert tuple(c.value for c in Relatedness) == rules.RELATEDNESS_CATEGORIES


class Expectedness(models.TextChoices):
    EXPECTED = "expected", _("Expected (listed in the investigator's brochure)")
    UNEXPECTED = "unexpected", _("Unexpected")


class SeriousnessCriterion(models.TextChoices):
    DEATH = "death", _("Results in death")
    LIFE_THREATENING = "life_threatening", _("Is life-threatening")
    HOSPITALISATION = "hospitalisation", _("Requires or prolongs hospitalisation")
    DISABILITY = "disability", _("Persistent or significant disability or incapacity")
    CONGENITAL = "congenital_anomaly", _("Congenital anomaly or birth defect")
    MEDICALLY_IMPORTANT = "medically_important", _("Other medically important event")


class ActionTaken(models.TextChoices):
    """CDISC AEACN. CAR-T is a single infusion: after Day 0 the answer is 'not applicable'."""

    NOT_CHANGED = "not_changed", _("Dose not changed")
    INTERRUPTED = "interrupted", _("Infusion interrupted")
    WITHDRAWN = "withdrawn", _("Infusion stopped (product withdrawn)")
    NOT_APPLICABLE = "not_applicable", _("Not applicable")
    UNKNOWN = "unknown", _("Unknown")


class Treatment(models.TextChoices):
    TOCILIZUMAB = "tocilizumab", _("Tocilizumab")
    CORTICOSTEROIDS = "corticosteroids", _("Corticosteroids")
    ANAKINRA = "anakinra", _("Anakinra")
    OTHER = "other", _("Other")


class AEOutcome(models.TextChoices):
    """CDISC AEOUT."""

    RECOVERED = "recovered", _("Recovered / resolved")
    RECOVERING = "recovering", _("Recovering / resolving")
    NOT_RECOVERED = "not_recovered", _("Not recovered / not resolved")
    SEQUELAE = "sequelae", _("Recovered / resolved with sequelae")
    FATAL = "fatal", _("Fatal")
    UNKNOWN = "unknown", _("Unknown")


RESOLVED_OUTCOMES = {AEOutcome.RECOVERED, AEOutcome.SEQUELAE}


class AESource(models.TextChoices):
    MANUAL = "manual", _("Entered")
    CRS_EPISODE = "crs_episode", _("From the daily CRS assessments")
    ICANS_EPISODE = "icans_episode", _("From the daily ICANS assessments")
    LAB = "lab", _("From a graded lab result")


def _grade_allowed(event: AdverseEvent) -> str:
    if event.term_id is None or event.grade is None:
        return ""
    term = event.term
    if event.grade > term.max_grade:
        return _("CTCAE v5.0 has no grade %(grade)s for %(term)s (highest: grade %(max)s).") % {
            "grade": event.grade,
            "term": term.term,
            "max": term.max_grade,
        }
    return ""


def _grade_defined(event: AdverseEvent) -> str:
    """A grade CTCAE prints as "-" for the term does not exist (Sepsis has only grades 4, 5)."""
    if event.term_id is None or event.grade is None:
        return ""
    defined = [g for g, _text in event.term.grades]
    if not defined or event.grade > max(defined) or event.grade in defined:
        return ""  # above the highest grade: AE-GRADE-MAX says so
    return _("CTCAE v5.0 has no grade %(grade)s for %(term)s (its grades: %(grades)s).") % {
        "grade": event.grade,
        "term": event.term.term,
        "grades": ", ".join(str(g) for g in defined),
    }


NO_CONSENT = _(
    "No informed consent is recorded for this subject: adverse events are collected from consent."
)


def _onset_before_consent(event: AdverseEvent) -> str:
    from enrollment.plausibility import first_consent_date

    if event.onset_date is None or event.subject_id is None:
        return ""
    first = first_consent_date(event.subject)
    if first is None:
        return NO_CONSENT
    if event.onset_date >= first:
        return ""
    return _(
        "The onset (%(onset)s) is before the informed consent (%(icf)s): events before consent "
        "are medical history, not adverse events."
    ) % {"onset": event.onset_date.isoformat(), "icf": first.isoformat()}


DEATH_WITHOUT_GRADE_5 = _(
    "A death is recorded (seriousness criterion 'results in death') but the subject has no "
    "grade 5 adverse event: grade the event that caused the death as grade 5."
)


def subject_has_grade_5_event(subject_id: int, *, exclude_pk: int | None = None) -> bool:
    events = AdverseEvent.objects.filter(subject_id=subject_id, grade=5)
    if exclude_pk is not None:
        events = events.exclude(pk=exclude_pk)
    return events.exists()


def _death_without_grade_5(event: AdverseEvent) -> bool:
    """CTCAE v5.0: grade 5 is death related to the AE; a death needs its grade 5 event."""
    if event.subject_id is None or event.grade == 5:
        return False
    if SeriousnessCriterion.DEATH not in (event.seriousness_criteria or []):
        return False
    return not subject_has_grade_5_event(event.subject_id, exclude_pk=event.pk)


class AdverseEvent(SubjectRecord):
    """One adverse event of one subject, from onset to resolution (or death, or ongoing)."""

    crf_code = "AE"
    crf_title = _("Adverse event")
    assessment_date_field = "onset_date"
    edit_checks = (
        hard("AE-GRADE-MAX", "grade", _grade_allowed),
        hard("AE-GRADE-UNDEFINED", "grade", _grade_defined),
        hard("AE-BEFORE-ICF", "onset_date", _onset_before_consent),
        soft("AE-DEATH-NO-G5", "seriousness_criteria", _death_without_grade_5,
             DEATH_WITHOUT_GRADE_5),
    )  # fmt: skip

    term = models.ForeignKey(
        CTCAETerm, on_delete=models.PROTECT, related_name="+", verbose_name=_("CTCAE term")
    )
    verbatim_term = models.CharField(
        _("verbatim term"),
        max_length=200,
        blank=True,
        help_text=_("As the investigator described it; required for an 'Other, specify' term."),
    )
    onset_date = models.DateField(_("onset date"))
    ongoing = models.BooleanField(_("ongoing"), default=True)
    resolution_date = models.DateField(_("resolution date"), null=True, blank=True)
    grade = models.PositiveSmallIntegerField(
        _("grade"),
        validators=[MinValueValidator(1), MaxValueValidator(5)],
        help_text=_("The current grade (CTCAE v5.0; ASTCT 2019 for CRS and ICANS)."),
    )
    grade_date = models.DateField(
        _("grade since"),
        null=True,
        blank=True,
        help_text=_("The date the event reached this grade (the onset date when left empty)."),
    )
    worst_grade = models.PositiveSmallIntegerField(_("worst grade"), editable=False, default=1)
    worst_grade_date = models.DateField(_("worst grade on"), null=True, blank=True, editable=False)
    serious = models.BooleanField(_("serious"), default=False)
    seriousness_criteria = models.JSONField(_("seriousness criteria"), default=list, blank=True)
    relationship_car_t = models.CharField(
        _("relationship to the CAR-T product"),
        max_length=10,
        choices=Relatedness.choices,
        blank=True,
        help_text=_("Empty until the investigator has assessed it."),
    )
    relationship_lymphodepletion = models.CharField(
        _("relationship to lymphodepletion"), max_length=10, choices=Relatedness.choices, blank=True
    )
    expectedness = models.CharField(
        _("expectedness"), max_length=10, choices=Expectedness.choices, blank=True
    )
    action_taken = models.CharField(
        _("action taken with the CAR-T product"),
        max_length=16,
        choices=ActionTaken.choices,
        default=ActionTaken.NOT_APPLICABLE,
    )
    treatments = models.JSONField(_("treatment given"), default=list, blank=True)
    treatment_other = models.CharField(_("other treatment"), max_length=200, blank=True)
    outcome = models.CharField(
        _("outcome"), max_length=14, choices=AEOutcome.choices, default=AEOutcome.NOT_RECOVERED
    )
    death_date = models.DateField(_("date of death"), null=True, blank=True)
    source = models.CharField(
        _("source"),
        max_length=14,
        choices=AESource.choices,
        default=AESource.MANUAL,
        editable=False,
    )
    source_key = models.CharField(max_length=60, blank=True, editable=False)

    class Meta:
        ordering = ["subject", "onset_date", "pk"]
        constraints = [
            models.UniqueConstraint(
                fields=["subject", "source_key"],
                condition=~models.Q(source_key=""),
                name="ae_one_per_derived_source",
            )
        ]
        indexes = [models.Index(fields=["study", "serious"], name="ae_study_serious")]

    def __str__(self) -> str:
        return f"{self.subject} — {self.display_term} (grade {self.grade})"

    def get_absolute_url(self) -> str:
        from django.urls import reverse

        return reverse("safety:ae-edit", args=[self.subject_id, self.pk])

    def get_seriousness_criteria_display(self) -> str:
        labels = dict(SeriousnessCriterion.choices)
        return "; ".join(str(labels.get(c, c)) for c in self.seriousness_criteria or []) or "—"

    def get_treatments_display(self) -> str:
        labels = dict(Treatment.choices)
        return "; ".join(str(labels.get(c, c)) for c in self.treatments or []) or "—"

    @property
    def display_term(self) -> str:
        if self.term_id and self.term.other_specify and self.verbatim_term:
            return f"{self.term.term}: {self.verbatim_term}"
        return self.term.term if self.term_id else self.verbatim_term

    def clean(self):
        errors: dict[str, ValidationError] = {}

        def add(field, message, code):
            errors.setdefault(field, ValidationError(message, code=code))

        if self.resolution_date and self.onset_date and self.resolution_date < self.onset_date:
            add("resolution_date", _("The event cannot resolve before its onset."), "order")
        if self.ongoing and self.resolution_date:
            add(
                "resolution_date",
                _("An ongoing event has no resolution date: untick 'ongoing' or clear the date."),
                "ongoing",
            )
        if self.ongoing and self.outcome in RESOLVED_OUTCOMES | {AEOutcome.FATAL}:
            add("outcome", _("An ongoing event cannot have this outcome."), "ongoing")
        if not self.ongoing and self.outcome in RESOLVED_OUTCOMES and not self.resolution_date:
            add("resolution_date", _("Give the date the event resolved."), "required_if")
        if self.grade == 5:
            if not self.death_date:
                add("death_date", _("A grade 5 event is a death: give the date."), "required_if")
            if self.outcome != AEOutcome.FATAL:
                add("outcome", _("A grade 5 event's outcome is fatal."), "grade_5")
            if not self.serious or SeriousnessCriterion.DEATH not in self.seriousness_criteria:
                add(
                    "seriousness_criteria",
                    _("A grade 5 event is serious, with the criterion 'results in death'."),
                    "grade_5",
                )
        else:
            if self.death_date:
                add("death_date", _("A date of death is recorded only for grade 5."), "grade_5")
            if self.outcome == AEOutcome.FATAL:
                add("outcome", _("A fatal outcome is grade 5."), "grade_5")
        if self.death_date and self.onset_date and self.death_date < self.onset_date:
            add("death_date", _("Death cannot come before the onset."), "order")
        if self.serious and not self.seriousness_criteria:
            add(
                "seriousness_criteria", _("Tick at least one seriousness criterion."), "required_if"
            )
        if self.seriousness_criteria and not self.serious:
            add("serious", _("Criteria are ticked: the event is serious."), "inconsistent")
        if not isinstance(self.seriousness_criteria, list) or not set(
            self.seriousness_criteria
        ) <= set(SeriousnessCriterion.values):
            add("seriousness_criteria", _("Unknown seriousness criterion."), "invalid_choice")
        if not isinstance(self.treatments, list) or not set(self.treatments) <= set(
            Treatment.values
        ):
            add("treatments", _("Unknown treatment."), "invalid_choice")
        elif Treatment.OTHER in self.treatments and not self.treatment_other.strip():
            add("treatment_other", _("Name the other treatment."), "required_if")
        if self.term_id and self.term.other_specify and not self.verbatim_term.strip():
            add("verbatim_term", _("Name the event (an 'Other, specify' term)."), "required_if")
        if self.grade_date and self.onset_date and self.grade_date < self.onset_date:
            add("grade_date", _("The grade cannot start before the onset."), "order")
        if self.grade_date and self.resolution_date and self.grade_date > self.resolution_date:
            add("grade_date", _("The grade cannot start after the resolution."), "order")
        if errors:
            raise ValidationError(errors)


class AdverseEventGrade(models.Model):
    """One step of an event's grade history: the grade from a date (until the next step).

    Written only by the AE service in the same transaction as the audited AE change (the AE's
    audit trail has the same facts; these rows make "grade by date" one query for the DLT
    window and the safety timeline).
    """

    event = models.ForeignKey(AdverseEvent, on_delete=models.CASCADE, related_name="grade_steps")
    grade = models.PositiveSmallIntegerField(
        validators=[MinValueValidator(1), MaxValueValidator(5)]
    )
    from_date = models.DateField()
    recorded_at = models.DateTimeField()
    recorded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )

    class Meta:
        ordering = ["event", "from_date", "pk"]

    def __str__(self) -> str:
        return f"{self.event_id}: grade {self.grade} from {self.from_date}"
