"""The clock seam: frozen in tests, so limits are tested exactly and one past them."""

from __future__ import annotations

import datetime as dt

import pytest
from django.utils import timezone

from trialsite import clock


def test_it_returns_the_frozen_moment_and_the_local_date(frozen_clock):
    moment = dt.datetime(2026, 3, 1, 23, 30, tzinfo=dt.UTC)  # 07:30 on 2 March in Asia/Shanghai
    frozen_clock(moment)
    assert clock.now() == moment
    assert clock.today() == timezone.localdate(moment)


def test_a_date_freezes_at_local_noon(frozen_clock):
    frozen_clock(dt.date(2026, 2, 28))
    assert clock.today() == dt.date(2026, 2, 28)


def test_it_refuses_a_naive_datetime():
    with pytest.raises(ValueError), clock.freeze(dt.datetime(2026, 1, 1)):
        pass


def test_unfrozen_it_follows_real_time():
    before = timezone.now()
    assert before <= clock.now() <= timezone.now()
