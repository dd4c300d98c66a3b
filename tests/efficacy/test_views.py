"""Efficacy pages: the lists (fixed queries), the CRF, readers read-only, the live category,
the investigator's confirmation and override, the subject page's section."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
from django.urls import reverse

from efficacy.models import ResponseAssessment
from efficacy.services import save_response_assessment
from tests.efficacy.efficacy_data import infused_on, marrow
from tests.enrollment_data import register_and_consent
from trialsite import clock

pytestmark = pytest.mark.django_db


@pytest.fixture
def subject(site_a, coordinator_a, investigator_a):
    return infused_on(site_a, coordinator_a, investigator_a, clock.today() - dt.timedelta(days=40))


def _m1(subject):
    return subject.day0 + dt.timedelta(days=28)


def _post(subject, **changes) -> dict:
    return {
        "timepoint": "M1",
        "assessment_date": _m1(subject).isoformat(),
        "bm_adequacy": "adequate",
        "bm_blasts_pct": "2",
        "anc_10e9_l": "0.4",
        "platelets_10e9_l": "120",
        "pb_blasts": "no",
        "extramedullary_disease": "no",
        "baseline_bm_blasts_entered": "60",
        **changes,
    }


def _add(subject, actor, timepoint="M1", day=None, **values):
    base = marrow(day or _m1(subject), timepoint=timepoint, baseline_bm_blasts_entered=Decimal(60))
    return save_response_assessment(subject, actor=actor, values={**base, **values})


def test_live_category_names_why_and_saves_nothing(client, subject, coordinator_a):
    client.force_login(coordinator_a)
    url = reverse("efficacy:response-live", args=[subject.pk])
    answer = client.post(url, _post(subject)).json()
    assert answer["category"] == "CRi" and answer["errors"] == {}
    assert answer["sentence"].startswith("CRi: blasts 2 % < 5 %, ANC 0.4 < 1 ×10⁹/L")
    assert "platelets 120 ≥ 100" in answer["sentence"]
    bad = client.post(url, _post(subject, bm_blasts_pct="120")).json()
    assert bad["category"] is None and bad["errors"]["bm_blasts_pct"][0]["code"] == "out_of_range"
    early = client.post(url, _post(subject, assessment_date=subject.screening_date.isoformat()))
    assert early.json()["category"] is not None  # the date is the save's check, not the rule's
    assert not ResponseAssessment.objects.exists()


def test_the_form_saves_the_category_the_live_endpoint_showed(client, subject, coordinator_a):
    client.force_login(coordinator_a)
    live = client.post(reverse("efficacy:response-live", args=[subject.pk]), _post(subject))
    response = client.post(reverse("efficacy:response-new", args=[subject.pk]), _post(subject))
    assert response.status_code == 302
    saved = ResponseAssessment.objects.get()
    assert saved.computed_category == live.json()["category"] == "CRi"
    assert saved.computed_reason == live.json()["sentence"]
    assert saved.visit.code == "D28"


@pytest.mark.parametrize(
    "changes, field",
    [
        ({"bm_blasts_pct": "101"}, "bm_blasts_pct"),
        ({"flow_leukemic_events": "50", "flow_cells_acquired": "10"}, "flow_cells_acquired"),
    ],
)
def test_bad_input_shows_field_errors_and_saves_nothing(
    client, subject, coordinator_a, changes, field
):
    client.force_login(coordinator_a)
    response = client.post(
        reverse("efficacy:response-new", args=[subject.pk]), _post(subject, **changes)
    )
    assert response.status_code == 400
    assert response.context["form"].errors[field]
    assert not ResponseAssessment.objects.exists()


def test_before_day0_is_a_field_error(client, subject, coordinator_a):
    client.force_login(coordinator_a)
    day = (subject.day0 - dt.timedelta(days=1)).isoformat()
    response = client.post(
        reverse("efficacy:response-new", args=[subject.pk]), _post(subject, assessment_date=day)
    )
    assert response.status_code == 400 and response.context["form"].errors["assessment_date"]


def test_without_day0_the_crf_is_read_only_with_the_reason(
    client, site_a, coordinator_a, investigator_a
):
    other = register_and_consent(site_a, coordinator_a, investigator_a, initials="ND")
    client.force_login(coordinator_a)
    response = client.get(reverse("efficacy:response-new", args=[other.pk]))
    assert response.status_code == 200 and response.context["readonly"]
    assert "Day 0" in response.context["blocked"]


def test_monitor_reads_the_assessment(client, subject, coordinator_a, monitor):
    saved = _add(subject, coordinator_a)
    client.force_login(monitor)
    response = client.get(reverse("efficacy:response-edit", args=[subject.pk, saved.pk]))
    assert response.status_code == 200 and response.context["readonly"]
    assert "CR: blasts 2 %" in response.content.decode()


def test_the_list_has_a_fixed_number_of_queries_and_shows_overrides(
    client, subject, coordinator_a, investigator_a, password, django_assert_num_queries
):
    from efficacy.services import confirm_response

    client.force_login(investigator_a)
    url = reverse("efficacy:responses", args=[subject.pk])
    first = _add(subject, coordinator_a)
    client.get(url)
    # session, user, the menu's studies, subject with site and study, memberships, the
    # assessments (one query), the permission checks, the session save: 10 at 1 row and at 4.
    with django_assert_num_queries(10) as one:
        client.get(url)
    confirm_response(
        first, actor=investigator_a, password=password, expected_version=first.version,
        override_category="CRh", reason="repeat count",
    )  # fmt: skip
    for n in range(3):
        _add(subject, coordinator_a, "UNS", day=_m1(subject) + dt.timedelta(days=n + 1))
    with django_assert_num_queries(len(one.captured_queries)):
        response = client.get(url)
    html = response.content.decode()
    assert html.count('data-testid="category-of-record"') == 4
    assert html.count('data-testid="overridden"') == 1


def test_investigator_confirms_on_the_page(
    client, subject, coordinator_a, investigator_a, password
):
    saved = _add(subject, coordinator_a)
    url = reverse("efficacy:response-confirm", args=[subject.pk, saved.pk])
    client.force_login(coordinator_a)
    page = client.get(url)
    assert page.status_code == 200 and 'data-testid="confirm-form"' not in page.content.decode()
    assert client.post(url, {"decision": "confirm"}).status_code == 403
    client.force_login(investigator_a)
    base = {"version": saved.version, "password": password}
    refused = client.post(url, {**base, "decision": "override", "override_category": "CRh"})
    assert refused.status_code == 400 and refused.context["form"].errors["reason"]
    wrong = client.post(url, {**base, "decision": "confirm", "password": "nope"})
    assert wrong.status_code == 400 and wrong.context["form"].errors["password"]
    done = client.post(url, {**base, "decision": "confirm"})
    assert done.status_code == 302
    saved.refresh_from_db()
    assert (saved.decision, saved.category_of_record, saved.status) == ("confirmed", "CR", "signed")


def test_follow_up_and_events_pages(client, subject, coordinator_a):
    client.force_login(coordinator_a)
    today = clock.today()
    response = client.post(
        reverse("efficacy:follow-up-new", args=[subject.pk]),
        {
            "contact_date": today.isoformat(),
            "survival_status": "alive",
            "disease_status": "remission",
        },
    )
    assert response.status_code == 302
    death = {"event_type": "death", "event_date": (today - dt.timedelta(days=1)).isoformat()}
    refused = client.post(
        reverse("efficacy:disease-event-new", args=[subject.pk]),
        {**death, "death_cause": "Sepsis"},
    )
    assert refused.status_code == 400
    assert refused.context["form"].errors["event_date"]
    page = client.get(reverse("efficacy:follow-ups", args=[subject.pk]))
    assert page.status_code == 200 and "Alive" in page.content.decode()


def test_subject_page_shows_the_efficacy_section(client, subject, coordinator_a):
    _add(subject, coordinator_a)
    client.force_login(coordinator_a)
    html = client.get(reverse("enrollment:subject", args=[subject.pk])).content.decode()
    assert 'data-testid="efficacy-section"' in html
    assert reverse("efficacy:responses", args=[subject.pk]) in html
