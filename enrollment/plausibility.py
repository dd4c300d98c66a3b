"""Plausibility edit checks every subject-level record gets (issue: CRF platform v2 §4).

Declared once on the bases (``Subject``, ``SubjectRecord``) and so run for every CRF that
inherits them — screening today, safety, dosing and efficacy CRFs tomorrow:

- a date is not in the future in the **site's** time zone (a coordinator in Tianjin at 07:00 is
  on the local date), unless the field is a plan (``future_dates_allowed``);
- a date is not before the subject's birth (with a birth year only: not before 1 January);
- no date before 1900 (a year typed as "0001" is a typo, not a date);
- the assessment date lies in its visit's window — a *soft* check: the save goes through and an
  automatic data query names the visit, the window and the date given.

Refusals come back as field errors from the service, so forms, the API and imports are alike.
"""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from enrollment import consent_rules
from trialsite import clock
from trialsite.records.edit_checks import hard, soft

EARLIEST_DATE = dt.date(1900, 1, 1)
# Aware moments outside these bounds cannot be moved to another time zone (0001-01-01 00:00 at
# UTC+14 is in year 0 in UTC): such a value is judged on its own calendar date, which is before
# 1900 or far in the future, so it is refused with the message of that check, not a crash.
_CONVERTIBLE = (
    dt.datetime(1, 1, 2, tzinfo=dt.UTC),
    dt.datetime(9999, 12, 30, tzinfo=dt.UTC),
)

IN_FUTURE = _("%(date)s is in the future (today is %(today)s at the site).")
BEFORE_BIRTH = _("%(date)s is before the subject's birth (%(birth)s).")
TOO_EARLY = _("%(date)s is not a possible date (before 1900).")
OUT_OF_WINDOW = _(
    "%(visit)s: the window is %(start)s to %(end)s; the date given is %(date)s. "
    "Confirm the date or explain the deviation."
)


def _date_fields(model) -> list[models.Field]:
    return [
        f
        for f in model.content_fields()
        if isinstance(f, models.DateField) and f.name not in ("birth_date",)
    ]


def site_today(site) -> dt.date:
    """Today's date at the site (its own time zone, not the server's)."""
    zone = ZoneInfo(site.time_zone) if site is not None and site.time_zone else None
    moment = clock.now()
    return moment.astimezone(zone).date() if zone else clock.today()


def calendar_date(value: dt.date | dt.datetime, zone=None) -> dt.date:
    """The date of ``value`` in ``zone`` (default: the server's), never an ``OverflowError``.

    A datetime too close to year 1 or 9999 to convert keeps its own date (see ``_CONVERTIBLE``).
    """
    if not isinstance(value, dt.datetime):
        return value
    if value.tzinfo is None or not _CONVERTIBLE[0] <= value <= _CONVERTIBLE[1]:
        return value.date()
    return value.astimezone(zone or timezone.get_current_timezone()).date()


def _as_date(value, site) -> dt.date:
    zone = ZoneInfo(site.time_zone) if site is not None and site.time_zone else None
    if isinstance(value, dt.datetime) and zone is None and value.tzinfo is not None:
        return value.date()
    return calendar_date(value, zone)


def _earliest_birth(subject) -> dt.date | None:
    if subject is None:
        return None
    if subject.birth_date:
        return subject.birth_date
    if subject.birth_year:
        return dt.date(subject.birth_year, 1, 1)
    return None


def _check_dates(record, *, subject, site) -> dict:
    problems = {}
    today = site_today(site)
    birth = _earliest_birth(subject)
    allowed_future = getattr(record, "future_dates_allowed", ())
    for field in _date_fields(type(record)):
        value = getattr(record, field.name)
        if value is None:
            continue
        day = _as_date(value, site)
        shown = day.isoformat()
        if day < EARLIEST_DATE:
            problems[field.name] = TOO_EARLY % {"date": shown}
        elif field.name not in allowed_future and day > today:
            problems[field.name] = IN_FUTURE % {"date": shown, "today": today.isoformat()}
        elif birth and day < birth:
            problems[field.name] = BEFORE_BIRTH % {"date": shown, "birth": birth.isoformat()}
    return problems


def subject_dates_plausible(subject) -> dict:
    """Registration dates: the birth date itself may not be in the future or before 1900."""
    problems = _check_dates(subject, subject=subject, site=subject.site)
    if subject.birth_date:
        if subject.birth_date < EARLIEST_DATE:
            problems["birth_date"] = TOO_EARLY % {"date": subject.birth_date.isoformat()}
        elif subject.birth_date > site_today(subject.site):
            problems["birth_date"] = IN_FUTURE % {
                "date": subject.birth_date.isoformat(),
                "today": site_today(subject.site).isoformat(),
            }
    return problems


def record_dates_plausible(record) -> dict:
    subject = record.subject
    return _check_dates(record, subject=subject, site=subject.site)


def assessment_in_visit_window(record) -> dict:
    """Soft: the assessment date lies outside the visit window (message on that date field)."""
    visit = record.visit
    day = record.assessment_date_value
    if visit is None or day is None or visit.window_start is None:
        return {}
    if visit.window_start <= day <= visit.window_end:
        return {}
    return {
        record.assessment_date_field: OUT_OF_WINDOW
        % {
            "visit": visit.label,
            "start": visit.window_start.isoformat(),
            "end": visit.window_end.isoformat(),
            "date": day.isoformat(),
        }
    }


SCREENING_BEFORE_CONSENT = _(
    "The screening date (%(date)s) is before the first informed consent (%(icf)s): no trial "
    "procedure may come before consent. Correct the date or explain."
)


def first_consent_date(subject) -> dt.date | None:
    """The site-local date of the subject's earliest signed consent (one query)."""
    from django.apps import apps

    if subject.pk is None:
        return None
    consent = (
        apps.get_model("enrollment", "Consent")
        .objects.filter(subject_id=subject.pk)
        .order_by("signed_at")
        .values_list("signed_at", flat=True)
        .first()
    )
    return _as_date(consent, subject.site) if consent else None


def screening_dated_before_consent(subject) -> str:
    """Soft SCR-BEFORE-ICF (issue 10 item 7; ``consent_rules.screening_before_consent``)."""
    first = first_consent_date(subject)
    if not consent_rules.screening_before_consent(subject.screening_date, first):
        return ""
    return SCREENING_BEFORE_CONSENT % {
        "date": subject.screening_date.isoformat(),
        "icf": first.isoformat(),
    }


SUBJECT_CHECKS = (hard("PL-DATE", "", subject_dates_plausible),)
SUBJECT_CONSENT_CHECKS = (soft("SCR-BEFORE-ICF", "screening_date", screening_dated_before_consent),)
RECORD_CHECKS = (
    hard("PL-DATE", "", record_dates_plausible),
    soft("VIS-WINDOW", "", assessment_in_visit_window),
)
