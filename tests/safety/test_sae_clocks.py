"""The pure SAE clock rules (safety/sae_clocks.py): limits exactly and one minute past them."""

from __future__ import annotations

import datetime as dt

import pytest
from hypothesis import given
from hypothesis import strategies as st

from safety import sae_clocks as sc

AWARE = dt.datetime(2026, 3, 5, 14, 30, tzinfo=dt.UTC)
MINUTE = dt.timedelta(minutes=1)


def _kinds(clocks):
    return {c.kind: c for c in clocks}


# --- the initial 24-hour report ------------------------------------------------------------


def test_the_initial_report_is_due_24_hours_after_awareness():
    (initial,) = [c for c in sc.plan_clocks(aware_at=AWARE) if c.kind == sc.INITIAL]
    assert initial.starts_at == AWARE
    assert initial.due_at == dt.datetime(2026, 3, 6, 14, 30, tzinfo=dt.UTC)


@pytest.mark.parametrize(
    ("now", "expected"),
    [
        (AWARE, sc.RUNNING),
        (AWARE + dt.timedelta(hours=18) - MINUTE, sc.RUNNING),
        (AWARE + dt.timedelta(hours=18), sc.DUE_SOON),  # 6 hours left
        (AWARE + dt.timedelta(hours=24), sc.DUE_SOON),  # exactly at the limit: still in time
        (AWARE + dt.timedelta(hours=24) + MINUTE, sc.OVERDUE),  # one minute past
    ],
)
def test_an_unsubmitted_initial_report_runs_until_24_hours_and_is_overdue_a_minute_later(
    now, expected
):
    due = AWARE + dt.timedelta(hours=24)
    assert sc.clock_status(due_at=due, submitted_at=None, now=now) == expected


@pytest.mark.parametrize(
    ("submitted", "expected"),
    [
        (dt.timedelta(hours=2), sc.MET),
        (dt.timedelta(hours=24), sc.MET),  # submitted at exactly 24 h 00 min
        (dt.timedelta(hours=24) + MINUTE, sc.MET_LATE),
    ],
)
def test_a_report_submitted_by_24_hours_is_met_and_a_minute_later_met_late(submitted, expected):
    due = AWARE + dt.timedelta(hours=24)
    later = AWARE + dt.timedelta(days=30)
    status = sc.clock_status(due_at=due, submitted_at=AWARE + submitted, now=later)
    assert status == expected


def test_a_clock_no_longer_required_is_not_overdue_but_a_submitted_one_stays_met():
    due = AWARE + dt.timedelta(hours=24)
    late = due + dt.timedelta(days=1)
    assert sc.clock_status(due_at=due, submitted_at=None, now=late, required=False) == (
        sc.NOT_REQUIRED
    )
    assert sc.clock_status(due_at=due, submitted_at=AWARE, now=late, required=False) == sc.MET


def test_due_soon_follows_the_setting():
    due = AWARE + dt.timedelta(hours=24)
    now = due - dt.timedelta(hours=10)
    assert sc.clock_status(due_at=due, submitted_at=None, now=now, due_soon_hours=6) == sc.RUNNING
    assert sc.clock_status(due_at=due, submitted_at=None, now=now, due_soon_hours=12) == (
        sc.DUE_SOON
    )
    assert sc.clock_status(due_at=due, submitted_at=None, now=due, due_soon_hours=0) == (
        sc.DUE_SOON
    )


# --- expedited SUSAR reports: 7 and 15 calendar days ---------------------------------------


def test_a_fatal_or_life_threatening_susar_is_due_in_7_calendar_days():
    clocks = _kinds(sc.plan_clocks(aware_at=AWARE, susar=sc.SUSAR_FATAL_OR_LIFE_THREATENING))
    assert clocks[sc.SUSAR_7].due_at == dt.datetime(2026, 3, 12, 14, 30, tzinfo=dt.UTC)
    assert sc.SUSAR_15 not in clocks


def test_another_susar_is_due_in_15_calendar_days():
    clocks = _kinds(sc.plan_clocks(aware_at=AWARE, susar=sc.SUSAR_OTHER))
    assert clocks[sc.SUSAR_15].due_at == dt.datetime(2026, 3, 20, 14, 30, tzinfo=dt.UTC)
    assert sc.SUSAR_7 not in clocks


@pytest.mark.parametrize(
    ("offset", "expected"),
    [(dt.timedelta(days=7), sc.DUE_SOON), (dt.timedelta(days=7) + MINUTE, sc.OVERDUE)],
)
def test_the_7_day_clock_at_its_limit_and_one_minute_past(offset, expected):
    clocks = _kinds(sc.plan_clocks(aware_at=AWARE, susar=sc.SUSAR_FATAL_OR_LIFE_THREATENING))
    due = clocks[sc.SUSAR_7].due_at
    assert sc.clock_status(due_at=due, submitted_at=None, now=AWARE + offset) == expected


def test_the_15_day_clock_crosses_a_month_end_in_calendar_days():
    aware = dt.datetime(2026, 2, 20, 8, 0, tzinfo=dt.UTC)
    clocks = _kinds(sc.plan_clocks(aware_at=aware, susar=sc.SUSAR_OTHER))
    assert clocks[sc.SUSAR_15].due_at == dt.datetime(2026, 3, 7, 8, 0, tzinfo=dt.UTC)


def test_a_susar_that_qualifies_later_runs_from_that_moment_never_before_awareness():
    later = AWARE + dt.timedelta(days=3)
    clocks = _kinds(sc.plan_clocks(aware_at=AWARE, susar=sc.SUSAR_OTHER, qualified_at=later))
    assert clocks[sc.SUSAR_15].starts_at == later
    assert clocks[sc.SUSAR_15].due_at == later + dt.timedelta(days=15)
    assert clocks[sc.INITIAL].due_at == AWARE + dt.timedelta(hours=24)  # unchanged
    earlier = AWARE - dt.timedelta(days=3)
    clocks = _kinds(sc.plan_clocks(aware_at=AWARE, susar=sc.SUSAR_OTHER, qualified_at=earlier))
    assert clocks[sc.SUSAR_15].starts_at == AWARE


def test_the_follow_up_clock_follows_the_setting_and_can_be_switched_off():
    clocks = _kinds(sc.plan_clocks(aware_at=AWARE))
    assert clocks[sc.FOLLOW_UP].due_at == AWARE + dt.timedelta(days=15)
    settings = sc.SAEReportingSettings(follow_up_days=None)
    assert [c.kind for c in sc.plan_clocks(aware_at=AWARE, settings=settings)] == [sc.INITIAL]


def test_clocks_come_in_the_order_they_fall_due():
    settings = sc.SAEReportingSettings(follow_up_days=30)
    clocks = sc.plan_clocks(
        aware_at=AWARE, susar=sc.SUSAR_FATAL_OR_LIFE_THREATENING, settings=settings
    )
    assert [c.kind for c in clocks] == [sc.INITIAL, sc.SUSAR_7, sc.FOLLOW_UP]


def test_a_stricter_study_shortens_every_clock():
    settings = sc.SAEReportingSettings(
        initial_report_hours=12, susar_fatal_or_life_threatening_days=5, susar_other_days=10
    )
    fatal = _kinds(
        sc.plan_clocks(aware_at=AWARE, susar="fatal_or_life_threatening", settings=settings)
    )
    other = _kinds(sc.plan_clocks(aware_at=AWARE, susar=sc.SUSAR_OTHER, settings=settings))
    assert fatal[sc.INITIAL].due_at == AWARE + dt.timedelta(hours=12)
    assert fatal[sc.SUSAR_7].due_at == AWARE + dt.timedelta(days=5)
    assert other[sc.SUSAR_15].due_at == AWARE + dt.timedelta(days=10)


def test_a_naive_moment_is_refused():
    with pytest.raises(ValueError, match="aware"):
        sc.plan_clocks(aware_at=AWARE.replace(tzinfo=None))


# --- SUSAR classification ------------------------------------------------------------------


def _classify(**changes):
    values = {
        "serious": True,
        "expectedness": "unexpected",
        "relationship": "possible",
        "seriousness_criteria": ["hospitalisation"],
        "fatal": False,
        **changes,
    }
    return sc.classify_susar(**values)


@pytest.mark.parametrize("relationship", ["possible", "probable", "definite"])
def test_serious_unexpected_and_related_is_a_susar(relationship):
    assert _classify(relationship=relationship) == sc.SUSAR_OTHER


@pytest.mark.parametrize(
    "changes",
    [
        {"serious": False},
        {"expectedness": "expected"},
        {"expectedness": ""},  # not yet assessed
        {"relationship": "unlikely"},
        {"relationship": "unrelated"},
        {"relationship": ""},  # not yet assessed
    ],
)
def test_anything_short_of_serious_unexpected_and_related_is_not_a_susar(changes):
    assert _classify(**changes) == sc.NOT_SUSAR


@pytest.mark.parametrize(
    "changes",
    [
        {"seriousness_criteria": ["death"]},
        {"seriousness_criteria": ["hospitalisation", "life_threatening"]},
        {"fatal": True},
    ],
)
def test_a_fatal_or_life_threatening_susar(changes):
    assert _classify(**changes) == sc.SUSAR_FATAL_OR_LIFE_THREATENING


def test_the_study_can_count_only_probable_and_definite_as_related():
    strict = ("probable", "definite")
    assert _classify(relationship="possible", related_categories=strict) == sc.NOT_SUSAR
    assert _classify(relationship="probable", related_categories=strict) == sc.SUSAR_OTHER


# --- the settings section ------------------------------------------------------------------


def test_the_default_settings_are_the_regulatory_limits():
    cleaned = sc.validate_settings({})
    assert cleaned["initial_report_hours"] == 24
    assert cleaned["susar_fatal_or_life_threatening_days"] == 7
    assert cleaned["susar_other_days"] == 15
    assert sc.SAEReportingSettings.from_dict({}) == sc.DEFAULT_SAE_REPORTING
    assert sc.SAEReportingSettings.from_dict(sc.DEFAULT_SAE_REPORTING.to_dict()) == (
        sc.DEFAULT_SAE_REPORTING
    )


def test_contacts_are_cleaned_and_kept():
    cleaned = sc.validate_settings(
        {"pi_emails": [" pi@site.example "], "sponsor_safety_emails": ["pv@sponsor.example", ""]}
    )
    assert cleaned["pi_emails"] == ("pi@site.example",)
    assert cleaned["sponsor_safety_emails"] == ("pv@sponsor.example",)


@pytest.mark.parametrize(
    ("value", "names"),
    [
        ({"initial_report_hours": 48}, "initial_report_hours"),  # slower than the regulation
        ({"initial_report_hours": 0}, "initial_report_hours"),
        ({"initial_report_hours": "24"}, "initial_report_hours"),
        ({"initial_report_hours": True}, "initial_report_hours"),
        ({"susar_fatal_or_life_threatening_days": 8}, "susar_fatal_or_life_threatening_days"),
        ({"susar_other_days": 16}, "susar_other_days"),
        ({"susar_other_days": 5, "susar_fatal_or_life_threatening_days": 7}, "susar_other_days"),
        ({"follow_up_days": 0}, "follow_up_days"),
        ({"due_soon_hours": -1}, "due_soon_hours"),
        ({"related_categories": []}, "related_categories"),
        ({"related_categories": ["unrelated", "possible"]}, "related_categories"),
        ({"related_categories": ["likely"]}, "related_categories"),
        ({"pi_emails": "pi@site.example"}, "pi_emails"),
        ({"sponsor_safety_emails": ["not an address"]}, "sponsor_safety_emails"),
        ({"initial_hours": 24}, "unknown setting"),
    ],
)
def test_settings_the_clocks_cannot_run_on_are_refused_naming_the_setting(value, names):
    with pytest.raises(sc.SettingsError, match=names):
        sc.validate_settings(value)


def test_a_section_that_is_not_an_object_is_refused():
    with pytest.raises(sc.SettingsError):
        sc.validate_settings(["initial_report_hours", 24])


# --- properties ----------------------------------------------------------------------------

moments = st.datetimes(
    min_value=dt.datetime(2020, 1, 1), max_value=dt.datetime(2035, 1, 1), timezones=st.just(dt.UTC)
)


@given(aware=moments, minutes=st.integers(min_value=0, max_value=60 * 24 * 30))
def test_a_clock_is_overdue_exactly_when_now_is_past_its_due_moment(aware, minutes):
    for planned in sc.plan_clocks(aware_at=aware, susar=sc.SUSAR_OTHER):
        now = aware + dt.timedelta(minutes=minutes)
        status = sc.clock_status(due_at=planned.due_at, submitted_at=None, now=now)
        assert (status == sc.OVERDUE) is (now > planned.due_at)
        assert planned.due_at > planned.starts_at >= aware


def test_split_duration():
    assert sc.split_duration(dt.timedelta(hours=23, minutes=59, seconds=59)) == (0, 23, 59)
    assert sc.split_duration(-dt.timedelta(days=2, minutes=61)) == (2, 1, 1)
