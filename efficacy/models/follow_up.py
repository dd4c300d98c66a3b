"""Follow-up contacts and disease events (death, relapse, progression, HSCT, new therapy).

These give the time-to-event course of ``efficacy.rules.SubjectCourse`` (RULES.md §1.6): the
last contact and last known alive date (OS censoring), death (OS), relapse and progression
(EFS, RFS, DOR), allogeneic HSCT (allowed at any time after infusion; RFS may censor at it)
and new anti-leukaemic therapy. The cross-record date checks (a death before the last contact
or a later visit) are the service's (``efficacy.services.follow_up``); a death without a grade 5
adverse event opens a data query (docs/architecture.md §12.1, ``EFF-DEATH-NO-G5``).
"""

from __future__ import annotations

from django.db import models
from django.urls import reverse
from django.utils.translation import gettext_lazy as _

from enrollment.models import SubjectRecord
from enrollment.models.screening import DonorType
from safety.models.adverse_events import subject_has_grade_5_event
from trialsite.records.edit_checks import hard, soft


class SurvivalStatus(models.TextChoices):
    ALIVE = "alive", _("Alive")
    DEAD = "dead", _("Dead")
    LOST = "lost", _("Lost to follow-up")


class DiseaseStatus(models.TextChoices):
    REMISSION = "remission", _("In remission")
    RESPONSE = "response", _("Response short of remission (MLFS / PR)")
    RELAPSED = "relapsed", _("Relapsed")
    PERSISTENT = "persistent", _("Persistent or progressive disease")
    NOT_ASSESSED = "not_assessed", _("Not assessed")


class FollowUp(SubjectRecord):
    """One follow-up contact (repeating): survival status, last known alive, disease status."""

    crf_code = "FU"
    crf_title = _("Follow-up contact")
    assessment_date_field = "contact_date"

    contact_date = models.DateField(_("contact date"))
    survival_status = models.CharField(
        _("survival status"), max_length=6, choices=SurvivalStatus.choices
    )
    last_known_alive_date = models.DateField(
        _("last known alive"),
        null=True,
        blank=True,
        help_text=_("The last date the subject was known to be alive (the contact date if seen)."),
    )
    disease_status = models.CharField(
        _("disease status"),
        max_length=14,
        choices=DiseaseStatus.choices,
        default=DiseaseStatus.NOT_ASSESSED,
    )
    notes = models.CharField(_("notes"), max_length=300, blank=True)

    class Meta:
        ordering = ["subject", "contact_date", "pk"]

    def __str__(self) -> str:
        return f"{self.subject} follow-up {self.contact_date}"

    def get_absolute_url(self) -> str:
        return reverse("efficacy:follow-up-edit", args=[self.subject_id, self.pk])


class DiseaseEventType(models.TextChoices):
    DEATH = "death", _("Death")
    RELAPSE = "relapse", _("Relapse")
    PROGRESSION = "progression", _("Progression")
    HSCT = "hsct", _("Allogeneic HSCT")
    NEW_THERAPY = "new_therapy", _("New anti-leukaemic therapy")


def _death_without_grade_5(event: DiseaseEvent) -> bool:
    """CTCAE v5.0: a death needs its grade 5 adverse event (docs/architecture.md §12.1)."""
    if event.event_type != DiseaseEventType.DEATH or event.subject_id is None:
        return False
    return not subject_has_grade_5_event(event.subject_id)


DEATH_WITHOUT_GRADE_5 = _(
    "The subject died but has no grade 5 adverse event: record the event that caused the death "
    "as grade 5 (CTCAE v5.0)."
)


class DiseaseEvent(SubjectRecord):
    """A dated disease event (repeating); one death per subject (unique constraint)."""

    crf_code = "DE"
    crf_title = _("Disease event")
    assessment_date_field = "event_date"
    edit_checks = (
        hard("DE-DEATH-CAUSE", "death_cause",
             lambda e: e.event_type == DiseaseEventType.DEATH and not e.death_cause.strip(),
             _("Give the cause of death.")),
        hard("DE-HSCT-DONOR", "hsct_donor_type",
             lambda e: e.event_type == DiseaseEventType.HSCT and not e.hsct_donor_type,
             _("Give the donor type of the transplant.")),
        hard("DE-THERAPY-NAME", "therapy_name",
             lambda e: e.event_type == DiseaseEventType.NEW_THERAPY and not e.therapy_name.strip(),
             _("Name the new anti-leukaemic therapy.")),
        soft("EFF-DEATH-NO-G5", "event_type", _death_without_grade_5, DEATH_WITHOUT_GRADE_5),
    )  # fmt: skip

    event_type = models.CharField(_("event"), max_length=12, choices=DiseaseEventType.choices)
    event_date = models.DateField(_("date"))
    death_cause = models.CharField(_("cause of death"), max_length=200, blank=True)
    hsct_donor_type = models.CharField(
        _("HSCT donor type"), max_length=24, choices=DonorType.choices, blank=True
    )
    therapy_name = models.CharField(_("therapy name"), max_length=200, blank=True)
    details = models.CharField(_("details"), max_length=300, blank=True)

    class Meta:
        ordering = ["subject", "event_date", "pk"]
        constraints = [
            models.UniqueConstraint(
                fields=["subject"],
                condition=models.Q(event_type="death"),
                name="disease_event_one_death",
            )
        ]

    def __str__(self) -> str:
        return f"{self.subject} {self.get_event_type_display()} {self.event_date}"

    def get_absolute_url(self) -> str:
        return reverse("efficacy:disease-event-edit", args=[self.subject_id, self.pk])
