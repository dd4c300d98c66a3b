"""``subject_efficacy``: every infused subject's course from the CRFs, in a fixed number of
queries (one infused subject and fifty cost the same)."""

from __future__ import annotations

import datetime as dt

import pytest

from efficacy.selectors import subject_efficacy
from tests.efficacy.efficacy_data import infused_on

pytestmark = pytest.mark.django_db

QUERIES = 8


def test_same_queries_for_one_and_many(
    study, site_a, coordinator_a, investigator_a, django_assert_num_queries
):
    day0 = dt.date(2025, 6, 1)
    infused_on(site_a, coordinator_a, investigator_a, day0)
    with django_assert_num_queries(QUERIES):
        found = subject_efficacy(study)
    assert len(found) == 1
    (one,) = found.values()
    assert one.day0 == day0 and one.course.infusion_date == day0 and one.responses == ()
