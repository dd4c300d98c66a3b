"""Dates as clinical sites write them: DD-MMM-YYYY (``05-Mar-2025``), never mm/dd or dd/mm.

CDISC CDASH recommends DD-MMM-YYYY for collected dates because it reads the same at every site;
``03/05/2025`` is 3 May in Tianjin and 5 March in a US-trained monitor's head. Typed input is
accepted as DD-MMM-YYYY (any case, one- or two-digit day) or ISO 8601 ``YYYY-MM-DD``; slashed
forms are refused because they are ambiguous. Month names are English whatever the language of
the page, as CDASH prescribes. Pure: no Django import.
"""

from __future__ import annotations

import datetime as dt
import re

MONTHS = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")
_BY_NAME = {name.lower(): number for number, name in enumerate(MONTHS, start=1)}
_DMY = re.compile(r"^(\d{1,2})-([A-Za-z]{3})-(\d{4})$")
_ISO = re.compile(r"^(\d{4})-(\d{2})-(\d{2})$")


def format_dmy(day: dt.date) -> str:
    """``dt.date(2025, 3, 5)`` → ``"05-Mar-2025"``."""
    return f"{day.day:02d}-{MONTHS[day.month - 1]}-{day.year:04d}"


def parse_date(text: str) -> dt.date | None:
    """The date typed as DD-MMM-YYYY or YYYY-MM-DD, or None when it is neither or impossible."""
    text = (text or "").strip()
    match = _DMY.match(text)
    if match:
        month = _BY_NAME.get(match.group(2).lower())
        if month is None:
            return None
        parts = (int(match.group(3)), month, int(match.group(1)))
    else:
        match = _ISO.match(text)
        if not match:
            return None
        parts = (int(match.group(1)), int(match.group(2)), int(match.group(3)))
    try:
        return dt.date(*parts)
    except ValueError:  # 31-Feb-2025, year 0
        return None
