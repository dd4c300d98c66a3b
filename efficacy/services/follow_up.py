"""Follow-up contacts and disease events, with the date checks the survival endpoints need.

RULES.md §1.6: OS runs from Day 0 to death, censored at the last date known alive; a death
recorded before a contact at which the subject was alive, or before a later response visit, is
impossible and refused with a field error naming the later date. Every event and contact is on
or after Day 0 (the course starts at the infusion).
"""

from __future__ import annotations

from collections.abc import Mapping

from django.db import transaction
from django.db.models import Max
from django.utils.translation import gettext_lazy as _

from efficacy.models import DiseaseEvent, DiseaseEventType, FollowUp, ResponseAssessment
from efficacy.models.follow_up import SurvivalStatus
from enrollment.models import Subject
from enrollment.services import require_data_entry
from trialsite.records import services as records
from trialsite.records.exceptions import field_error
from trialsite.records.models import RecordStatus

NO_DAY0 = _("Record the CAR-T infusion (Day 0) before follow-up and disease events.")
BEFORE_DAY0 = _("The date is before Day 0 (%(day0)s), the CAR-T infusion.")
AFTER_DEATH = _("The date is after the recorded death (%(death)s).")
ALIVE_AFTER_DEATH = _("The subject is recorded as dead on %(death)s: they cannot be alive later.")
DEATH_BEFORE_CONTACT = _(
    "The death date is before the last contact at which the subject was alive (%(date)s)."
)
DEATH_BEFORE_VISIT = _("The death date is before a later response assessment (%(date)s).")
DEATH_BEFORE_EVENT = _("The death date is before a later disease event (%(date)s).")
ONE_DEATH = _("A death is already recorded for this subject (%(date)s): open it to correct it.")
ALIVE_AFTER_CONTACT = _("The last known alive date cannot be after the contact date.")
DEAD_NOT_ALIVE = _("The subject died: leave the last known alive date for the death CRF.")
NOTHING_TO_UPDATE = _("There is no saved record to update: leave out the version to create it.")
WRONG_SUBJECT = _("This record belongs to another subject.")

FOLLOW_UP_FIELDS = [
    "contact_date",
    "survival_status",
    "last_known_alive_date",
    "disease_status",
    "notes",
]
EVENT_FIELDS = [
    "event_type",
    "event_date",
    "death_cause",
    "hsct_donor_type",
    "therapy_name",
    "details",
]


def _merged(model, names, existing, values: Mapping) -> dict:
    defaults = {f.name: f.get_default() for f in model._meta.concrete_fields if f.name in names}
    base = {n: getattr(existing, n) for n in names} if existing is not None else {}
    return {**defaults, **base, **values}


def _load(model, subject, record, expected_version):
    if record is None:
        require_data_entry(subject)
        if expected_version is not None:
            raise field_error("version", NOTHING_TO_UPDATE, "no_record")
        return None
    existing = model.objects.filter(pk=record.pk).first()
    if existing is None:
        raise field_error("version", NOTHING_TO_UPDATE, "no_record")
    if existing.subject_id != subject.pk:
        raise field_error("subject", WRONG_SUBJECT, "wrong_subject")
    return existing


def _after_day0(subject: Subject, field: str, day) -> None:
    if subject.day0 is None:
        raise field_error(field, NO_DAY0, "no_day0")
    if day is not None and day < subject.day0:
        raise field_error(field, BEFORE_DAY0 % {"day0": subject.day0.isoformat()}, "before_day0")


def _death(subject: Subject, *, exclude_pk=None) -> DiseaseEvent | None:
    deaths = DiseaseEvent.objects.filter(subject=subject, event_type=DiseaseEventType.DEATH)
    if exclude_pk is not None:
        deaths = deaths.exclude(pk=exclude_pk)
    return deaths.first()


def last_alive_contact(subject: Subject, *, exclude_pk=None):
    """The latest date a follow-up knows the subject alive (last known alive, or the contact
    date of a contact where they were alive)."""
    rows = FollowUp.objects.filter(subject=subject)
    if exclude_pk is not None:
        rows = rows.exclude(pk=exclude_pk)
    dates = [
        last or (contact if status == SurvivalStatus.ALIVE else None)
        for contact, status, last in rows.values_list(
            "contact_date", "survival_status", "last_known_alive_date"
        )
    ]
    dates = [d for d in dates if d is not None]
    return max(dates) if dates else None


def _save(model, subject, *, actor, values, existing, expected_version, reason):
    if existing is None:
        return records.create_record(
            model,
            actor=actor,
            study=subject.study,
            status=RecordStatus.SUBMITTED,
            values={**values, "subject": subject},
            reason=reason,
        )
    return records.update_record(
        existing, actor=actor, values=values, expected_version=expected_version, reason=reason
    )


def save_follow_up(
    subject: Subject,
    *,
    actor,
    values: Mapping,
    record: FollowUp | None = None,
    expected_version: int | None = None,
    reason: str = "",
) -> FollowUp:
    """Add or correct a follow-up contact.

    Refused with field errors: a contact before Day 0 (``before_day0``), a last known alive
    date after the contact or after the recorded death, "alive" at a contact after the death.
    """
    with transaction.atomic():
        subject = Subject.objects.select_for_update().get(pk=subject.pk)
        existing = _load(FollowUp, subject, record, expected_version)
        merged = _merged(FollowUp, FOLLOW_UP_FIELDS, existing, values)
        contact, alive = merged.get("contact_date"), merged.get("last_known_alive_date")
        _after_day0(subject, "contact_date", contact)
        _after_day0(subject, "last_known_alive_date", alive)
        if alive is not None and contact is not None and alive > contact:
            raise field_error("last_known_alive_date", ALIVE_AFTER_CONTACT, "after_contact")
        death = _death(subject)
        if death is not None:
            if alive is not None and alive > death.event_date:
                raise field_error(
                    "last_known_alive_date",
                    ALIVE_AFTER_DEATH % {"death": death.event_date},
                    "after_death",
                )
            status = merged.get("survival_status")
            if status == SurvivalStatus.ALIVE and contact and contact > death.event_date:
                raise field_error(
                    "survival_status",
                    ALIVE_AFTER_DEATH % {"death": death.event_date},
                    "after_death",
                )
        return _save(
            FollowUp,
            subject,
            actor=actor,
            values=values,
            existing=existing,
            expected_version=expected_version,
            reason=reason,
        )


def _check_death(subject: Subject, day, existing) -> None:
    """A death cannot precede a living contact, a response assessment or another event."""
    exclude = existing.pk if existing is not None else None
    other = _death(subject, exclude_pk=exclude)
    if other is not None:
        raise field_error("event_type", ONE_DEATH % {"date": other.event_date}, "one_death")
    if day is None:
        return
    alive = last_alive_contact(subject)
    if alive is not None and day < alive:
        raise field_error("event_date", DEATH_BEFORE_CONTACT % {"date": alive}, "before_contact")
    later_visit = ResponseAssessment.objects.filter(subject=subject).aggregate(
        last=Max("assessment_date")
    )["last"]
    if later_visit is not None and day < later_visit:
        raise field_error("event_date", DEATH_BEFORE_VISIT % {"date": later_visit}, "before_visit")
    events = DiseaseEvent.objects.filter(subject=subject).exclude(event_type=DiseaseEventType.DEATH)
    later_event = events.aggregate(last=Max("event_date"))["last"]
    if later_event is not None and day < later_event:
        raise field_error("event_date", DEATH_BEFORE_EVENT % {"date": later_event}, "before_event")


def save_disease_event(
    subject: Subject,
    *,
    actor,
    values: Mapping,
    record: DiseaseEvent | None = None,
    expected_version: int | None = None,
    reason: str = "",
) -> DiseaseEvent:
    """Add or correct a disease event (death, relapse, progression, HSCT, new therapy).

    Refused with field errors: a date before Day 0, a second death (``one_death``), a death
    before the last living contact (``before_contact``), a later response assessment
    (``before_visit``) or a later event (``before_event``), another event after the death
    (``after_death``), a death without its cause, an HSCT without the donor type, a new therapy
    without its name. A death with no grade 5 adverse event saves and opens a data query.
    """
    with transaction.atomic():
        subject = Subject.objects.select_for_update().get(pk=subject.pk)
        existing = _load(DiseaseEvent, subject, record, expected_version)
        merged = _merged(DiseaseEvent, EVENT_FIELDS, existing, values)
        day = merged.get("event_date")
        _after_day0(subject, "event_date", day)
        if merged.get("event_type") == DiseaseEventType.DEATH:
            _check_death(subject, day, existing)
        else:
            death = _death(subject, exclude_pk=existing.pk if existing else None)
            if death is not None and day is not None and day > death.event_date:
                raise field_error(
                    "event_date", AFTER_DEATH % {"death": death.event_date}, "after_death"
                )
        return _save(
            DiseaseEvent,
            subject,
            actor=actor,
            values=values,
            existing=existing,
            expected_version=expected_version,
            reason=reason,
        )
