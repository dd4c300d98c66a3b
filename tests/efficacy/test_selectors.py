"""``subject_efficacy``: every infused subject's course from the CRFs, in a fixed number of
queries (one infused subject and fifty cost the same)."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest

from efficacy.selectors import subject_efficacy
from efficacy.services import save_disease_event, save_follow_up, save_response_assessment
from tests.efficacy.efficacy_data import infused_on, marrow, set_screening_blasts
from tests.enrollment_data import register_and_consent

pytestmark = pytest.mark.django_db

QUERIES = 8
DAY0 = dt.date(2025, 6, 1)


def _with_data(subject, actor):
    save_response_assessment(
        subject,
        actor=actor,
        values=marrow(DAY0 + dt.timedelta(days=28), baseline_bm_blasts_entered=Decimal(60)),
    )
    save_follow_up(
        subject,
        actor=actor,
        values={"contact_date": dt.date(2025, 9, 1), "survival_status": "alive"},
    )
    save_disease_event(
        subject,
        actor=actor,
        values={"event_type": "relapse", "event_date": dt.date(2025, 10, 1)},
    )


def test_same_queries_for_one_and_many(
    study, site_a, coordinator_a, investigator_a, django_assert_num_queries
):
    first = infused_on(site_a, coordinator_a, investigator_a, DAY0)
    _with_data(first, coordinator_a)
    register_and_consent(site_a, coordinator_a, investigator_a, initials="NI")  # not infused
    with django_assert_num_queries(QUERIES):
        found = subject_efficacy(study)
    assert set(found) == {first.pk}
    one = found[first.pk]
    assert one.day0 == DAY0 and one.label == str(first)
    assert one.course.relapse_date == dt.date(2025, 10, 1)
    assert one.course.last_known_alive_date == dt.date(2025, 9, 1)
    assert [r.category for r in one.responses] == ["CR"]
    for n in range(49):
        subject = infused_on(
            site_a,
            coordinator_a,
            investigator_a,
            DAY0,
            initials="AB" + "CDEFGHIJKLMNOPQRSTUVWXYZ"[n % 24],
        )
        if n % 5 == 0:
            _with_data(subject, coordinator_a)
    with django_assert_num_queries(QUERIES):
        found = subject_efficacy(study)
    assert len(found) == 50
    assert sum(1 for s in found.values() if s.responses) == 11


def test_no_infused_subject_is_one_query(study, django_assert_num_queries):
    with django_assert_num_queries(1):
        assert subject_efficacy(study) == {}


def test_the_course_carries_the_baseline_the_classification_used(
    study, site_a, coordinator_a, investigator_a
):
    """Without a screening marrow the CRF's entered baseline classified the response (PR needs
    it), so the blast decline and the waterfall must read that same baseline; a screening value,
    once entered, is the baseline for both."""
    entered = infused_on(site_a, coordinator_a, investigator_a, DAY0)
    save_response_assessment(
        entered,
        actor=coordinator_a,
        values=marrow(
            DAY0 + dt.timedelta(days=28), blasts="15", baseline_bm_blasts_entered=Decimal(60)
        ),
    )
    screened = infused_on(site_a, coordinator_a, investigator_a, DAY0)
    set_screening_blasts(screened, coordinator_a, 45)
    save_response_assessment(
        screened,
        actor=coordinator_a,
        values=marrow(
            DAY0 + dt.timedelta(days=28), blasts="15", baseline_bm_blasts_entered=Decimal(60)
        ),
    )

    courses = subject_efficacy(study)

    assert courses[entered.pk].baseline_marrow_blast_pct == Decimal(60)
    assert courses[entered.pk].responses[0].category == "PR"
    assert courses[screened.pk].baseline_marrow_blast_pct == Decimal(45)
