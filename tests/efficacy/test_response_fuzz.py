"""No value a user can send makes the response assessment page, the live endpoint or the service
crash (issue #13 "Bad input"): Hypothesis posts arbitrary text into one to three fields of the
page, and hands ``save_response_assessment`` arbitrary values of each field's type. The page
saves (302) or answers 400 showing the typed text again; the live endpoint answers JSON; the
service saves or refuses with field errors and leaves the records, the audit trail and the data
version as they were.
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
from django.urls import reverse
from hypothesis import given, settings

from efficacy.forms import ResponseAssessmentForm
from efficacy.models import ResponseAssessment
from efficacy.services import save_response_assessment
from efficacy.services.response import INPUT_FIELDS
from tests.efficacy.efficacy_data import infused_on, marrow
from tests.enrollment.test_fuzz_forms import as_post, assert_no_server_error_for_any_post
from tests.fuzz_values import assert_saved_or_refused, changes_for
from trialsite import clock

pytestmark = pytest.mark.django_db

FUZZ = settings(max_examples=30, deadline=None, database=None)
ALLOWED = {f.name for f in ResponseAssessment._meta.concrete_fields} | {"version", "reason"}


@pytest.fixture
def subject(site_a, coordinator_a, investigator_a):
    return infused_on(site_a, coordinator_a, investigator_a, clock.today() - dt.timedelta(days=40))


def _valid(subject) -> dict:
    return marrow(subject.day0 + dt.timedelta(days=28), baseline_bm_blasts_entered=Decimal(60))


def test_any_text_in_the_response_page_never_gives_a_server_error(client, subject, coordinator_a):
    client.force_login(coordinator_a)
    valid = {k: as_post(v) for k, v in _valid(subject).items()}
    assert_no_server_error_for_any_post(
        client, reverse("efficacy:response-new", args=[subject.pk]), valid, ResponseAssessmentForm
    )


def test_any_text_in_the_live_endpoint_answers_json(client, subject, coordinator_a):
    from hypothesis import strategies as st

    client.force_login(coordinator_a)
    url = reverse("efficacy:response-live", args=[subject.pk])
    valid = {k: as_post(v) for k, v in _valid(subject).items()}

    @FUZZ
    @given(name=st.sampled_from(sorted(valid)), text=st.text(max_size=30))
    def post(name, text):
        response = client.post(url, {**valid, name: text})
        assert response.status_code == 200
        assert set(response.json()) >= {"category", "sentence", "errors"}

    post()


def test_any_values_through_the_service_save_or_are_refused_field_by_field(subject, coordinator_a):
    fields = [ResponseAssessment._meta.get_field(n) for n in INPUT_FIELDS]

    @FUZZ
    @given(changes=changes_for(fields))
    def enter(changes):
        def save():
            return save_response_assessment(
                subject, actor=coordinator_a, values={**_valid(subject), **changes}
            )

        assert_saved_or_refused(
            save, study=subject.study, model=ResponseAssessment, allowed=ALLOWED
        )

    enter()
