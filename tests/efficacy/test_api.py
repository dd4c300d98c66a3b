"""Efficacy API: create through the services (bad values 400 with codes, nothing saved), the
version rule (428/409), readers and sponsors, de-identified study lists, fixed query counts."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest

from efficacy.models import ResponseAssessment
from efficacy.services import save_response_assessment
from tests.efficacy.efficacy_data import infused_on, marrow
from trialsite import clock

pytestmark = pytest.mark.django_db


@pytest.fixture
def subject(site_a, coordinator_a, investigator_a):
    return infused_on(site_a, coordinator_a, investigator_a, clock.today() - dt.timedelta(days=60))


def _day(subject, n):
    return (subject.day0 + dt.timedelta(days=n)).isoformat()


def _body(subject, **changes):
    return {
        "timepoint": "M1",
        "assessment_date": _day(subject, 28),
        "bm_blasts_pct": "2",
        "anc_10e9_l": "1.5",
        "platelets_10e9_l": "150",
        "baseline_bm_blasts_entered": "60",
        "flow_leukemic_events": 8,
        "flow_cells_acquired": 100000,
        **changes,
    }


def _add(subject, actor, day=28, timepoint="M1"):
    values = marrow(
        subject.day0 + dt.timedelta(days=day),
        timepoint=timepoint,
        baseline_bm_blasts_entered=Decimal(60),
    )
    return save_response_assessment(subject, actor=actor, values=values)


def test_post_classifies_and_bad_values_are_refused(client, subject, coordinator_a):
    client.force_login(coordinator_a)
    url = f"/api/v1/subjects/{subject.pk}/efficacy/responses/"
    created = client.post(url, _body(subject), content_type="application/json")
    assert created.status_code == 201
    data = created.json()
    assert (data["computed_category"], data["mrd_status"], data["study_day"]) == (
        "CR",
        "negative",
        28,
    )
    bad = client.post(
        url,
        _body(subject, timepoint="M2", flow_leukemic_events=10, flow_cells_acquired=5),
        content_type="application/json",
    )
    assert bad.status_code == 400 and "below_events" in bad.json()["codes"]
    early = client.post(
        url, _body(subject, timepoint="M2", assessment_date=_day(subject, -1)),
        content_type="application/json",
    )  # fmt: skip
    assert early.status_code == 400 and "before_day0" in early.json()["codes"]
    assert ResponseAssessment.objects.count() == 1


def test_a_change_needs_the_version_read(client, subject, coordinator_a):
    saved = _add(subject, coordinator_a)
    client.force_login(coordinator_a)
    url = f"/api/v1/subjects/{subject.pk}/efficacy/responses/{saved.pk}/"
    change = {"anc_10e9_l": "0.8", "platelets_10e9_l": "60", "reason": "counts corrected"}
    assert client.put(url, change, content_type="application/json").status_code == 428
    stale = {**change, "version": saved.version + 1}
    assert client.put(url, stale, content_type="application/json").status_code == 409
    ok = client.put(url, {**change, "version": saved.version}, content_type="application/json")
    assert ok.status_code == 200 and ok.json()["computed_category"] == "CRh"


def test_follow_up_and_death_through_the_api(client, subject, coordinator_a):
    client.force_login(coordinator_a)
    base = f"/api/v1/subjects/{subject.pk}/efficacy/"
    contact = {"contact_date": _day(subject, 50), "survival_status": "alive"}
    assert (
        client.post(base + "follow-up/", contact, content_type="application/json").status_code
        == 201
    )
    death = {"event_type": "death", "event_date": _day(subject, 40), "death_cause": "Sepsis"}
    refused = client.post(base + "disease-events/", death, content_type="application/json")
    assert refused.status_code == 400 and "before_contact" in refused.json()["codes"]


def test_readers_sponsors_and_other_sites(
    client, study, subject, coordinator_a, monitor, sponsor, coordinator_b
):
    _add(subject, coordinator_a)
    url = f"/api/v1/subjects/{subject.pk}/efficacy/responses/"
    client.force_login(monitor)
    assert client.get(url).json()["results"][0]["category_of_record"] == "CR"
    assert client.post(url, _body(subject), content_type="application/json").status_code == 403
    client.force_login(sponsor)
    assert client.get(url).status_code == 403
    rows = client.get(f"/api/v1/studies/{study.pk}/efficacy/responses/").json()["results"]
    assert rows[0]["category_of_record"] == "CR" and rows[0]["study_day"] == 28
    assert rows[0]["month"] == 1
    assert "assessment_date" not in rows[0] and "subject_id" not in rows[0]
    client.force_login(coordinator_b)
    assert client.get(url).status_code == 404
    assert client.get(f"/api/v1/studies/{study.pk}/efficacy/responses/").json()["results"] == []


@pytest.mark.parametrize("kind", ["subject", "study"])
def test_the_lists_run_a_fixed_number_of_queries(
    client, study, subject, coordinator_a, django_assert_num_queries, kind
):
    client.force_login(coordinator_a)
    _add(subject, coordinator_a)
    if kind == "subject":
        url = f"/api/v1/subjects/{subject.pk}/efficacy/responses/"
    else:
        url = f"/api/v1/studies/{study.pk}/efficacy/responses/"
    client.get(url)
    # session, user, subject or study, memberships, the rows (with their subject), the count,
    # the session save: 9, the same at 1 row and at 4.
    with django_assert_num_queries(9) as one:
        client.get(url)
    for n in range(3):
        _add(subject, coordinator_a, day=30 + n, timepoint="UNS")
    with django_assert_num_queries(len(one.captured_queries)):
        assert len(client.get(url).json()["results"]) == 4
