"""The visit schedule of NCT06880354, its validator, and the study-day convention.

**Study day.** The CAR-T infusion is **Day 0**, the next day Day 1, and days before it are
negative (lymphodepletion on Day −5 to −3): the convention of CAR-T protocols and of the registry
text, which schedules kinetics "on days 4, 7, 10, 14, 21, 28 after infusion". SDTM's ``--DY`` has
no day 0 (the reference date is Day 1); exports convert, the EDC shows the protocol's days.

**The schedule** (registry NCT06880354): screening; apheresis; lymphodepletion (Day −5 to −3
typical); Day 0; Days 1–14 daily inpatient safety; Days 4, 7, 10, 14, 21, 28 kinetics; Months
1, 2, 3, 6, 9, 12 response; then every 6 months to Year 5 and yearly to Year 15 for replication-
competent lentivirus (RCL). Each visit has a target day and a window (days before / after the
target). Windows are **study settings** (``visit_schedule``), versioned and audited like every
other setting, not constants: these are only the defaults a new study starts with.

Screening is anchored to the screening date (its window runs from the screening date for
``window_after`` days); every other visit is anchored to Day 0 and is created when the infusion
sets Day 0 (``enrollment.services.anchor_schedule``).
"""

from __future__ import annotations

import datetime as dt

DAYS_PER_MONTH = 30.4375

ANCHOR_SCREENING = "screening"
ANCHOR_DAY0 = "day0"


def _visit(code, label, day, before, after, anchor=ANCHOR_DAY0) -> dict:
    return {
        "code": code,
        "label": label,
        "day": day,
        "window_before": before,
        "window_after": after,
        "anchor": anchor,
    }


DEFAULT_VISIT_SCHEDULE: list[dict] = [
    _visit("SCR", "Screening", 0, 0, 28, anchor=ANCHOR_SCREENING),
    _visit("APH", "Apheresis", -21, 14, 14),
    _visit("LD", "Lymphodepletion", -4, 1, 1),
    _visit("D0", "Day 0 (CAR-T infusion)", 0, 0, 0),
    *[
        _visit(
            f"D{day}",
            f"Day {day}",
            day,
            1 if day in (4, 7, 10) else 0,
            1 if day in (4, 7, 10) else 0,
        )
        for day in range(1, 14)
    ],
    _visit("D14", "Day 14", 14, 2, 2),
    _visit("D21", "Day 21", 21, 2, 2),
    _visit("D28", "Day 28 (Month 1)", 28, 3, 3),
    _visit("M2", "Month 2", 61, 7, 7),
    _visit("M3", "Month 3", 91, 7, 7),
    _visit("M6", "Month 6", 183, 14, 14),
    _visit("M9", "Month 9", 274, 14, 14),
    _visit("M12", "Month 12", 365, 14, 14),
    *[
        _visit(f"M{month}", f"Month {month} follow-up", round(month * DAYS_PER_MONTH), 30, 30)
        for month in range(18, 61, 6)
    ],
    *[
        _visit(f"Y{year}", f"Year {year} long-term follow-up", round(365.25 * year), 30, 30)
        for year in range(6, 16)
    ],
]

_REQUIRED = {"code", "label", "day", "window_before", "window_after"}
_OPTIONAL = {"anchor"}
ANCHORS = (ANCHOR_SCREENING, ANCHOR_DAY0)


def study_day(on: dt.date, day0: dt.date | None) -> int | None:
    """The protocol study day of ``on``: Day 0 is the infusion, the day before it Day −1.

    None while Day 0 is not known (before the infusion).
    """
    if on is None or day0 is None:
        return None
    return (on - day0).days


def validate_visit_schedule(value: object) -> list[dict]:
    """A list of visits with unique codes, increasing Day-0 days and non-negative windows."""
    if not isinstance(value, list) or not value:
        raise ValueError("visit_schedule must be a non-empty list of visits")
    seen: set[str] = set()
    last_day: int | None = None
    cleaned = []
    for index, visit in enumerate(value, start=1):
        if not isinstance(visit, dict) or not _REQUIRED <= set(visit) <= _REQUIRED | _OPTIONAL:
            raise ValueError(
                f"visit {index} must have {', '.join(sorted(_REQUIRED))} (and optionally anchor)"
            )
        code, day = visit["code"], visit["day"]
        anchor = visit.get("anchor", ANCHOR_DAY0)
        if not isinstance(code, str) or not code or code in seen:
            raise ValueError(f"visit {index}: code must be unique text, got {code!r}")
        if not isinstance(visit["label"], str) or not visit["label"].strip():
            raise ValueError(f"visit {code}: label must be text")
        if anchor not in ANCHORS:
            raise ValueError(f"visit {code}: anchor must be one of {', '.join(ANCHORS)}")
        if isinstance(day, bool) or not isinstance(day, int) or not -365 <= day <= 366 * 20:
            raise ValueError(f"visit {code}: day must be a whole number of days from Day 0")
        for key in ("window_before", "window_after"):
            if isinstance(visit[key], bool) or not isinstance(visit[key], int):
                raise ValueError(f"visit {code}: {key} must be a whole number ≥ 0")
            if not 0 <= visit[key] <= 366:
                raise ValueError(f"visit {code}: {key} must be between 0 and 366 days")
        if anchor == ANCHOR_DAY0:
            if last_day is not None and day <= last_day:
                raise ValueError(
                    f"visit {code}: days must increase (Day {day} after Day {last_day})"
                )
            last_day = day
        seen.add(code)
        cleaned.append({**visit, "anchor": anchor})
    return cleaned
