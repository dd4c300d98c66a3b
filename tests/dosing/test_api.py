"""Dosing API: writes through the services (versions 428/409, field errors 400), site-scoped
lists de-identified for sponsors, with a fixed number of queries."""

from __future__ import annotations

import datetime as dt

import pytest

from dosing.models import Apheresis, Infusion
from enrollment.models import Subject
from tests.dosing_data import (
    DAYS_TO_INFUSION,
    assign,
    confirmed_subject,
    prepare_treatment,
    sign_decision,
    treated_subject,
)
from trialsite import clock

pytestmark = pytest.mark.django_db


def put(client, url, body):
    return client.put(url, body, content_type="application/json")


def test_a_coordinator_writes_the_apheresis_with_versions(
    client, site_a, coordinator_a, investigator_a
):
    subject = confirmed_subject(site_a, coordinator_a, investigator_a)
    client.force_login(coordinator_a)
    url = f"/api/v1/subjects/{subject.pk}/dosing/apheresis/"
    today = clock.today().isoformat()
    body = {"apheresis_date": today, "centre": "Tianjin", "volume_processed_l": "11.5"}
    created = put(client, url, body)
    assert created.status_code == 201, created.json()
    assert created.json()["version"] == 1 and created.json()["volume_processed_l"] == "11.50"
    no_version = put(client, url, {"centre": "Beijing"})
    assert no_version.status_code == 428
    assert no_version.json()["code"] == "version_required"
    assert no_version.json()["current_version"] == 1
    stale = put(client, url, {"centre": "Beijing", "version": 0, "reason": "x"})
    assert stale.status_code == 409 and stale.json()["current_version"] == 1
    changed = put(client, url, {"centre": "Beijing", "version": 1, "reason": "Beijing unit"})
    assert changed.status_code == 200 and changed.json()["version"] == 2
    assert client.get(url).json()["centre"] == "Beijing"


def test_bad_values_are_400_on_their_field_with_codes(
    client, site_a, coordinator_a, investigator_a
):
    subject = confirmed_subject(site_a, coordinator_a, investigator_a)
    client.force_login(coordinator_a)
    url = f"/api/v1/subjects/{subject.pk}/dosing/apheresis/"
    today = clock.today()
    response = put(
        client,
        url,
        {
            "apheresis_date": today.isoformat(),
            "centre": "Tianjin",
            "volume_processed_l": "12",
            "product_shipped_date": (today - dt.timedelta(days=1)).isoformat(),
        },
    )
    assert response.status_code == 400
    assert "product_shipped_date" in response.json()["errors"]
    assert response.json()["codes"] == ["order"]
    not_a_number = put(
        client, url, {"apheresis_date": today.isoformat(), "volume_processed_l": "x"}
    )
    assert not_a_number.status_code == 400 and "volume_processed_l" in not_a_number.json()["errors"]
    assert not Apheresis.objects.exists()


def test_assignment_through_the_api(client, study, site_a, coordinator_a, investigator_a):
    subject = confirmed_subject(site_a, coordinator_a, investigator_a)
    client.force_login(coordinator_a)
    url = f"/api/v1/subjects/{subject.pk}/assignment/"
    unknown = client.post(url, {"dose_level": 9, "phase": "ATD", "cohort_number": 1})
    assert unknown.status_code == 400 and unknown.json()["codes"] == ["no_such_level"]
    closed = client.post(url, {"dose_level": 2, "phase": "ATD", "cohort_number": 1})
    assert closed.status_code == 400 and closed.json()["codes"] == ["no_decision"]
    sign_decision(study, investigator_a, 2)
    created = client.post(url, {"dose_level": 2, "phase": "ATD", "cohort_number": 1})
    assert created.status_code == 201, created.json()
    assert created.json()["dose_level_label"] == "DL2"
    again = client.post(url, {"dose_level": 1, "phase": "ATD", "cohort_number": 1})
    assert again.status_code == 400 and again.json()["codes"] == ["already_assigned"]
    assert client.get(url).json()["phase"] == "ATD"


def test_the_infusion_through_the_api_sets_day_0_and_a_second_is_refused(
    client, site_a, coordinator_a, investigator_a
):
    subject = confirmed_subject(site_a, coordinator_a, investigator_a)
    day0 = clock.today() + dt.timedelta(days=DAYS_TO_INFUSION)
    prepare_treatment(subject, coordinator_a, day0=day0)
    client.force_login(coordinator_a)
    url = f"/api/v1/subjects/{subject.pk}/dosing/infusion/"
    body = {
        "infusion_start": f"{day0.isoformat()}T10:00:00+00:00",
        "weight_kg": "70",
        "total_car_t_cells_1e6": "36",
        "number_of_bags": 1,
    }
    with clock.freeze(day0):
        no_weight = put(client, url, {**body, "weight_kg": None})
        assert no_weight.status_code == 400 and no_weight.json()["codes"] == ["weight_required"]
        created = put(client, url, body)
        assert created.status_code == 201, created.json()
        assert created.json()["dose_cells_per_kg"] == pytest.approx(514285.7, 0.001)
        assert created.json()["dose_deviation_pct"] == pytest.approx(2.86, abs=0.01)
        second = put(client, url, body)  # a second infusion: the one recorded needs its version
    assert second.status_code == 428
    assert Subject.objects.get(pk=subject.pk).day0 == day0
    assert Infusion.objects.count() == 1


def test_lists_are_site_scoped_and_de_identified_for_sponsors(
    client, study, site_a, coordinator_a, coordinator_b, investigator_a, sponsor
):
    subject, day0 = treated_subject(site_a, coordinator_a, investigator_a)
    url = f"/api/v1/studies/{study.pk}/dosing/infusion/"
    client.force_login(coordinator_a)
    (row,) = client.get(url).json()["results"]
    assert row["infusion_start"].startswith(day0.isoformat())
    assert row["subject"] == str(subject)
    client.force_login(sponsor)
    (row,) = client.get(url).json()["results"]
    assert "infusion_start" not in row
    assert row["infusion_start_days_from_consent"] == (day0 - subject.screening_date).days
    assignments = client.get(f"/api/v1/studies/{study.pk}/dosing/assignments/").json()
    assert "assigned_by" not in assignments["results"][0]
    assert "assigned_at_days_from_consent" in assignments["results"][0]
    client.force_login(coordinator_b)
    assert client.get(url).json()["results"] == []
    assert client.get(f"/api/v1/studies/{study.pk}/dosing/nothing/").status_code == 404


def test_the_lists_run_a_fixed_number_of_queries(
    client, study, site_a, coordinator_a, investigator_a, django_assert_num_queries
):
    client.force_login(coordinator_a)
    for n in (1, 3):
        while Infusion.objects.count() < n:
            treated_subject(site_a, coordinator_a, investigator_a)
        for resource in ("infusion", "lymphodepletion", "assignments"):
            url = f"/api/v1/studies/{study.pk}/dosing/{resource}/"
            # session, user, study lookup, memberships, count, the page of records with their
            # study, subject, site (and level) and first consent, session save (3)
            with django_assert_num_queries(9):
                assert len(client.get(url).json()["results"]) == n


def test_a_sponsor_cannot_read_or_write_one_subjects_crf(
    client, site_a, coordinator_a, investigator_a, sponsor
):
    subject = confirmed_subject(site_a, coordinator_a, investigator_a)
    assign(subject, coordinator_a, 1)
    client.force_login(sponsor)
    assert client.get(f"/api/v1/subjects/{subject.pk}/assignment/").status_code == 403
    assert put(client, f"/api/v1/subjects/{subject.pk}/dosing/apheresis/", {}).status_code == 403
