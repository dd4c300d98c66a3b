"""SAE reporting clocks: which reports a serious adverse event needs, when each is due, and where
each stands. Pure arithmetic on aware datetimes — no Django — so the clock is tested exactly at
its limit and one minute past it.

Sources:

- **Initial report, 24 hours.** EU Clinical Trials Regulation 536/2014 Art. 41(2): "the
  investigator shall report all serious adverse events to the sponsor without undue delay but not
  later than within 24 hours of obtaining knowledge of the events"; ICH E6(R2) 4.11.1
  ("immediately"). The clock runs from the site's *awareness*, not from onset.
- **Expedited SUSAR reports, 7 and 15 calendar days.** ICH E2A (1994) §III.A.2: fatal or
  life-threatening unexpected adverse drug reactions "as soon as possible but no later than 7
  calendar days after first knowledge", other serious unexpected reactions "no later than 15
  calendar days"; the same limits in 21 CFR 312.32(c)(1)-(2) (IND safety reports: 15 calendar
  days; unexpected fatal or life-threatening suspected adverse reaction: 7 calendar days) and in
  EU CT Regulation 536/2014 Art. 42(2)(a)-(b).
- **When the expedited clock starts.** 21 CFR 312.32(c)(1) counts from when "the sponsor
  determines that the information qualifies for reporting"; EU 536/2014 Art. 42(2)(c): a SUSAR
  first judged non-fatal that turns out fatal or life-threatening is due 7 days after that
  becomes known. So the clock starts at awareness when the event already qualifies, else at the
  moment it first qualifies (``qualified_at``).
- **Follow-up report.** ICH E2A §III.A.2: after the 7-day report, "as complete as possible
  within 8 additional calendar days" (day 15 from first knowledge). The study configures one
  follow-up clock from awareness (``follow_up_days``, default 15; ``None``: no follow-up clock).

A SUSAR (suspected unexpected serious adverse reaction, ICH E2A §II.B; EU 536/2014 Art. 2(2)(33))
is serious, unexpected and related. "Related" is the study's set of relationship categories
(default possible, probable, definite — the same reading as the DLT criteria); an event whose
relationship or expectedness is not yet assessed is not (yet) a SUSAR.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Iterable, Mapping
from dataclasses import asdict, dataclass

from safety.rules import RELATEDNESS_CATEGORIES

# SUSAR classification
NOT_SUSAR = ""
SUSAR_FATAL_OR_LIFE_THREATENING = "fatal_or_life_threatening"
SUSAR_OTHER = "other"

# Clock kinds
INITIAL = "initial"
FOLLOW_UP = "follow_up"
SUSAR_7 = "susar_fatal"
SUSAR_15 = "susar_other"
CLOCK_KINDS = (INITIAL, FOLLOW_UP, SUSAR_7, SUSAR_15)

# Clock status
RUNNING = "running"
DUE_SOON = "due_soon"
OVERDUE = "overdue"
MET = "met"
MET_LATE = "met_late"
NOT_REQUIRED = "not_required"
CLOCK_STATUSES = (RUNNING, DUE_SOON, OVERDUE, MET, MET_LATE, NOT_REQUIRED)

_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")


@dataclass(frozen=True)
class SAEReportingSettings:
    """The study setting section ``sae_reporting`` (defaults: the regulations cited above)."""

    initial_report_hours: int = 24
    susar_fatal_or_life_threatening_days: int = 7
    susar_other_days: int = 15
    follow_up_days: int | None = 15
    due_soon_hours: int = 6
    related_categories: tuple[str, ...] = ("possible", "probable", "definite")
    pi_emails: tuple[str, ...] = ()
    sponsor_safety_emails: tuple[str, ...] = ()

    def to_dict(self) -> dict:
        values = asdict(self)
        for key in ("related_categories", "pi_emails", "sponsor_safety_emails"):
            values[key] = list(values[key])
        return values

    @classmethod
    def from_dict(cls, value: Mapping | None) -> SAEReportingSettings:
        """Settings from a stored section (missing keys take their defaults); see validate."""
        return cls(**validate_settings(value or {}))


class SettingsError(ValueError):
    """A ``sae_reporting`` value the clocks cannot run on; the message names the setting."""


def _whole(values: Mapping, key: str, low: int, high: int, *, optional: bool = False):
    value = values.get(key)
    if value is None and optional:
        return None
    if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
        raise SettingsError(f"{key}: a whole number from {low} to {high}")
    return value


def _emails(values: Mapping, key: str) -> tuple[str, ...]:
    items = values.get(key, [])
    if not isinstance(items, list | tuple) or not all(isinstance(e, str) for e in items):
        raise SettingsError(f"{key}: a list of email addresses")
    cleaned = tuple(e.strip() for e in items if e.strip())
    for email in cleaned:
        if not _EMAIL.match(email):
            raise SettingsError(f"{key}: {email!r} is not an email address")
    return cleaned


def validate_settings(value: object) -> dict:
    """The cleaned ``sae_reporting`` section, or ``SettingsError`` naming the bad setting.

    The regulatory limits are ceilings: a study may be stricter (a 12-hour initial report, a
    5-day expedited report) but not slower than the regulation, so the initial report is 1–24
    hours, the fatal/life-threatening SUSAR report 1–7 days and the other SUSAR report 1–15 days
    and not sooner than the fatal one.
    """
    if not isinstance(value, Mapping):
        raise SettingsError("sae_reporting must be an object")
    defaults = SAEReportingSettings()
    unknown = sorted(set(value) - set(defaults.to_dict()))
    if unknown:
        raise SettingsError(f"unknown setting(s): {', '.join(unknown)}")
    merged = {**defaults.to_dict(), **value}
    fatal = _whole(merged, "susar_fatal_or_life_threatening_days", 1, 7)
    other = _whole(merged, "susar_other_days", 1, 15)
    if other < fatal:
        raise SettingsError(
            "susar_other_days: not sooner than susar_fatal_or_life_threatening_days"
        )
    related = merged["related_categories"]
    if (
        not isinstance(related, list | tuple)
        or not related
        or not set(related) <= set(RELATEDNESS_CATEGORIES)
        or "unrelated" in related
    ):
        raise SettingsError(
            "related_categories: a non-empty list of "
            + ", ".join(c for c in RELATEDNESS_CATEGORIES if c != "unrelated")
        )
    return {
        "initial_report_hours": _whole(merged, "initial_report_hours", 1, 24),
        "susar_fatal_or_life_threatening_days": fatal,
        "susar_other_days": other,
        "follow_up_days": _whole(merged, "follow_up_days", 1, 90, optional=True),
        "due_soon_hours": _whole(merged, "due_soon_hours", 0, 72),
        "related_categories": tuple(c for c in RELATEDNESS_CATEGORIES if c in related),
        "pi_emails": _emails(merged, "pi_emails"),
        "sponsor_safety_emails": _emails(merged, "sponsor_safety_emails"),
    }


DEFAULT_SAE_REPORTING = SAEReportingSettings()


def classify_susar(
    *,
    serious: bool,
    expectedness: str,
    relationship: str,
    seriousness_criteria: Iterable[str] = (),
    fatal: bool = False,
    related_categories: Iterable[str] = DEFAULT_SAE_REPORTING.related_categories,
) -> str:
    """``NOT_SUSAR``, ``SUSAR_FATAL_OR_LIFE_THREATENING`` or ``SUSAR_OTHER`` (ICH E2A §II.B).

    ``relationship`` is the relationship to the investigational product (the CAR-T product), on
    the 5-point scale; an empty relationship or expectedness (not yet assessed) is not a SUSAR.
    Fatal or life-threatening: the criterion "results in death" or "is life-threatening", or a
    fatal outcome (ICH E2A §III.A.2).
    """
    if not serious or expectedness != "unexpected" or relationship not in set(related_categories):
        return NOT_SUSAR
    criteria = set(seriousness_criteria)
    if fatal or criteria & {"death", "life_threatening"}:
        return SUSAR_FATAL_OR_LIFE_THREATENING
    return SUSAR_OTHER


@dataclass(frozen=True)
class PlannedClock:
    kind: str
    starts_at: dt.datetime
    due_at: dt.datetime


def _aware(moment: dt.datetime, name: str) -> dt.datetime:
    if moment.tzinfo is None or moment.utcoffset() is None:
        raise ValueError(f"{name} must be an aware datetime")
    return moment


def plan_clocks(
    *,
    aware_at: dt.datetime,
    susar: str = NOT_SUSAR,
    qualified_at: dt.datetime | None = None,
    settings: SAEReportingSettings = DEFAULT_SAE_REPORTING,
) -> list[PlannedClock]:
    """The clocks a serious event needs, in the order they fall due.

    Every SAE: the initial report (``initial_report_hours`` from awareness) and, when the study
    sets ``follow_up_days``, a follow-up report from awareness. A SUSAR adds its expedited report
    from the moment it qualified (awareness when it qualified at once; never before awareness).
    Calendar days are exact 24-hour days from the starting moment.
    """
    _aware(aware_at, "aware_at")
    clocks = [
        PlannedClock(
            INITIAL, aware_at, aware_at + dt.timedelta(hours=settings.initial_report_hours)
        )
    ]
    if settings.follow_up_days is not None:
        clocks.append(
            PlannedClock(FOLLOW_UP, aware_at, aware_at + dt.timedelta(days=settings.follow_up_days))
        )
    if susar != NOT_SUSAR:
        start = max(aware_at, _aware(qualified_at, "qualified_at")) if qualified_at else aware_at
        if susar == SUSAR_FATAL_OR_LIFE_THREATENING:
            kind, days = SUSAR_7, settings.susar_fatal_or_life_threatening_days
        else:
            kind, days = SUSAR_15, settings.susar_other_days
        clocks.append(PlannedClock(kind, start, start + dt.timedelta(days=days)))
    return sorted(clocks, key=lambda c: (c.due_at, CLOCK_KINDS.index(c.kind)))


def clock_status(
    *,
    due_at: dt.datetime,
    submitted_at: dt.datetime | None,
    now: dt.datetime,
    due_soon_hours: int = DEFAULT_SAE_REPORTING.due_soon_hours,
    required: bool = True,
) -> str:
    """Where a clock stands.

    A report submitted at or before the due moment is *met* (24 h 00 min after awareness is in
    time), after it *met late*. Unsubmitted: *overdue* once ``now`` is past the due moment (one
    minute past is overdue), *due soon* within ``due_soon_hours`` of it, else *running*. A clock
    the event no longer needs (no longer serious, no longer a SUSAR) is *not required*, unless
    its report was already submitted.
    """
    if submitted_at is not None:
        return MET if submitted_at <= due_at else MET_LATE
    if not required:
        return NOT_REQUIRED
    if now > due_at:
        return OVERDUE
    if due_at - now <= dt.timedelta(hours=due_soon_hours):
        return DUE_SOON
    return RUNNING


def time_left(due_at: dt.datetime, now: dt.datetime) -> dt.timedelta:
    """Time until the due moment (negative once past it)."""
    return due_at - now


def split_duration(delta: dt.timedelta) -> tuple[int, int, int]:
    """(days, hours, minutes) of a duration's magnitude, minutes rounded down."""
    minutes = int(abs(delta).total_seconds() // 60)
    return minutes // 1440, (minutes % 1440) // 60, minutes % 60
