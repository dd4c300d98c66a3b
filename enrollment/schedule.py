"""The default visit schedule of NCT06880354 and its validator (study settings data).

Day 0 is the CAR-T infusion. The registry schedules kinetics and response on Days 4, 7, 10, 14,
21, 28 and Months 2, 3, 6, 9, 12, with follow-up for 15 years (RCL). Windows are days before and
after the target date; they are study settings, audited like every other setting, not constants.
"""

from __future__ import annotations

DAYS_PER_MONTH = 30.4375

DEFAULT_VISIT_SCHEDULE: list[dict] = [
    {"code": "D4", "label": "Day 4", "day": 4, "window_before": 1, "window_after": 1},
    {"code": "D7", "label": "Day 7", "day": 7, "window_before": 1, "window_after": 1},
    {"code": "D10", "label": "Day 10", "day": 10, "window_before": 1, "window_after": 1},
    {"code": "D14", "label": "Day 14", "day": 14, "window_before": 2, "window_after": 2},
    {"code": "D21", "label": "Day 21", "day": 21, "window_before": 2, "window_after": 2},
    {"code": "D28", "label": "Day 28 (Month 1)", "day": 28, "window_before": 3, "window_after": 3},
    {"code": "M2", "label": "Month 2", "day": 61, "window_before": 7, "window_after": 7},
    {"code": "M3", "label": "Month 3", "day": 91, "window_before": 7, "window_after": 7},
    {"code": "M6", "label": "Month 6", "day": 183, "window_before": 14, "window_after": 14},
    {"code": "M9", "label": "Month 9", "day": 274, "window_before": 14, "window_after": 14},
    {"code": "M12", "label": "Month 12", "day": 365, "window_before": 14, "window_after": 14},
] + [
    {
        "code": f"Y{year}",
        "label": f"Year {year} long-term follow-up",
        "day": round(365.25 * year),
        "window_before": 30,
        "window_after": 30,
    }
    for year in range(2, 16)
]

_KEYS = {"code", "label", "day", "window_before", "window_after"}


def validate_visit_schedule(value: object) -> list[dict]:
    """A list of visits with unique codes, increasing days and non-negative windows."""
    if not isinstance(value, list) or not value:
        raise ValueError("visit_schedule must be a non-empty list of visits")
    seen: set[str] = set()
    last_day = 0
    cleaned = []
    for index, visit in enumerate(value, start=1):
        if not isinstance(visit, dict) or set(visit) != _KEYS:
            raise ValueError(f"visit {index} must have exactly: {', '.join(sorted(_KEYS))}")
        code, day = visit["code"], visit["day"]
        if not isinstance(code, str) or not code or code in seen:
            raise ValueError(f"visit {index}: code must be unique text, got {code!r}")
        for key in ("day", "window_before", "window_after"):
            if isinstance(visit[key], bool) or not isinstance(visit[key], int) or visit[key] < 0:
                raise ValueError(f"visit {code}: {key} must be a whole number ≥ 0")
        if day <= last_day:
            raise ValueError(f"visit {code}: days must increase (Day {day} after Day {last_day})")
        seen.add(code)
        last_day = day
        cleaned.append(dict(visit))
    return cleaned
