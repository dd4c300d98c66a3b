"""The one clock of the product (docs/architecture.md §9 "Time").

Every piece of code that needs "now" or "today" asks here, never ``timezone.now()`` or
``date.today()`` directly, so tests can freeze time exactly at a clinical limit (Day 28 and
Day 29 of the DLT window, the 24-hour SAE clock) and one step past it.

``today()`` is the date in the active time zone (the study's display zone, ``TIME_ZONE``): a
coordinator in Tianjin entering data at 07:00 local time is on the local date, not UTC's.
Tests use the ``frozen_clock`` fixture (``tests/conftest.py``) or :func:`freeze` directly.
"""

from __future__ import annotations

import contextlib
import datetime as dt
from collections.abc import Iterator

from django.utils import timezone

_frozen: dt.datetime | None = None


def now() -> dt.datetime:
    """The current moment as an aware UTC datetime (frozen in tests)."""
    if _frozen is not None:
        return _frozen
    return timezone.now()


def today() -> dt.date:
    """Today's date in the active time zone (frozen in tests)."""
    return timezone.localdate(now())


@contextlib.contextmanager
def freeze(moment: dt.datetime | dt.date) -> Iterator[None]:
    """Stop the clock at ``moment`` (a date freezes at local noon of that day)."""
    global _frozen
    if isinstance(moment, dt.date) and not isinstance(moment, dt.datetime):
        moment = timezone.make_aware(dt.datetime.combine(moment, dt.time(12, 0)))
    if timezone.is_naive(moment):
        raise ValueError("freeze() needs an aware datetime or a date")
    previous, _frozen = _frozen, moment
    try:
        yield
    finally:
        _frozen = previous
