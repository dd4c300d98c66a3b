"""De-identified views of a subject for sponsors: study days instead of dates, age at consent only.

A calendar date is an identifier (HIPAA Safe Harbor §164.514(b)(2)(i)(C) lists every date element
but the year; several dates together re-identify a patient). Sponsors therefore see each date as
a **day relative to informed consent** (the consent day is day 0; a negative day is before it),
and the subject's age only as completed years at consent. Once the infusion has set Day 0, the
infusion is reported as ``day0_days_from_consent`` so that sponsor-side analyses can re-anchor on
Day 0. The rule is applied at the API boundary; stored data are unchanged.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Mapping

_ISO_DATE = re.compile(r"\b(\d{4})-(\d{2})-(\d{2})\b")


def days_from(anchor: dt.date | None, value: dt.date | None) -> int | None:
    if anchor is None or value is None:
        return None
    return (value - anchor).days


def _parse(text: str) -> dt.date | None:
    try:
        return dt.date.fromisoformat(text[:10]) if _ISO_DATE.fullmatch(text[:10]) else None
    except ValueError:
        return None


def consent_day_text(anchor: dt.date | None, value: dt.date) -> str:
    offset = days_from(anchor, value)
    if offset is None:
        return "[date withheld]"
    return f"consent day {offset:+d}" if offset else "consent day 0"


def scrub_text(text: str, anchor: dt.date | None) -> str:
    """Replace every ISO date in a message with its day relative to consent."""

    def replace(match: re.Match) -> str:
        day = _parse(match.group(0))
        return consent_day_text(anchor, day) if day else "[date withheld]"

    return _ISO_DATE.sub(replace, text)


def scrub_values(values: Mapping, anchor: dt.date | None) -> dict:
    """Dates become ``<name>_days_from_consent`` integers; the birth date is dropped."""
    cleaned: dict = {}
    for key, value in values.items():
        if key in ("birth_date", "birth_year"):
            continue
        day = _parse(value) if isinstance(value, str) else None
        if isinstance(value, dt.date):
            day = value
        if day is not None:
            cleaned[f"{key}_days_from_consent"] = days_from(anchor, day)
        elif isinstance(value, Mapping):
            cleaned[key] = scrub_values(value, anchor)
        elif isinstance(value, list):
            cleaned[key] = [scrub_values(v, anchor) if isinstance(v, Mapping) else v for v in value]
        else:
            cleaned[key] = value
    return cleaned


def eligibility_details(details: Mapping, anchor: dt.date | None) -> dict:
    """The checklist details without calendar dates (sponsor view)."""
    return {
        code: {
            **detail,
            "message": scrub_text(str(detail.get("message", "")), anchor),
            "values": scrub_values(detail.get("values") or {}, anchor),
            "threshold": scrub_text(str(detail.get("threshold", "")), anchor)
            if detail.get("threshold") is not None
            else None,
        }
        for code, detail in details.items()
    }
