"""Enrollment API: scoped subject lists, de-identified for sponsors, eligibility, CRF writes."""

from __future__ import annotations

from decimal import Decimal

import pytest

from enrollment.models import ScreeningLabs
from tests.enrollment_data import register_and_consent, screen_eligible_subject

pytestmark = pytest.mark.django_db


def test_site_staff_get_identified_subjects_and_sponsors_do_not(
    client, study, site_a, coordinator_a, investigator_a, sponsor
):
    subject = register_and_consent(site_a, coordinator_a, investigator_a, initials="QRS")
    url = f"/api/v1/studies/{study.pk}/subjects/"
    client.force_login(coordinator_a)
    row = client.get(url).json()["results"][0]
    assert row["initials"] == "QRS" and row["screening_number"] == subject.screening_number
    client.force_login(sponsor)
    row = client.get(url).json()["results"][0]
    assert "initials" not in row and "birth_date" not in row
    assert row["screening_number"] == subject.screening_number


def test_the_subject_list_runs_a_fixed_number_of_queries(
    client, study, site_a, coordinator_a, investigator_a, django_assert_num_queries
):
    client.force_login(coordinator_a)
    url = f"/api/v1/studies/{study.pk}/subjects/"
    for n in (1, 3):
        while len(client.get(url).json()["results"]) < n:
            register_and_consent(site_a, coordinator_a, investigator_a)
        # session, user, study lookup, memberships, count, page of subjects with sites,
        # session save (savepoint, update, release)
        with django_assert_num_queries(9):
            assert len(client.get(url).json()["results"]) == n


def test_eligibility_api_shows_the_same_result_as_the_checklist(
    client, site_a, coordinator_a, investigator_a
):
    subject = screen_eligible_subject(
        site_a, coordinator_a, investigator_a, overrides={ScreeningLabs: {"creatinine": "2.0"}}
    )
    client.force_login(coordinator_a)
    body = client.get(f"/api/v1/subjects/{subject.pk}/eligibility/").json()
    assert body["eligible"] is False
    assert body["criteria"]["IN7.3"] == "fail"
    assert "43.3 mL/min" in body["details"]["IN7.3"]["message"]
    assert body["confirmed"] is False


def test_a_crf_written_through_the_api_recomputes_eligibility(
    client, site_a, coordinator_a, investigator_a
):
    subject = screen_eligible_subject(
        site_a, coordinator_a, investigator_a, overrides={ScreeningLabs: {"creatinine": "2.0"}}
    )
    labs = ScreeningLabs.objects.get(subject=subject)
    client.force_login(coordinator_a)
    url = f"/api/v1/subjects/{subject.pk}/screening/labs/"
    response = client.put(
        url,
        {"creatinine": "1.0", "version": labs.version, "reason": "Source shows 1.0 mg/dL"},
        content_type="application/json",
    )
    assert response.status_code == 200, response.json()
    assert response.json()["creatinine"] == "1.000"
    assert client.get(f"/api/v1/subjects/{subject.pk}/eligibility/").json()["eligible"] is True


def test_a_stale_api_write_is_409_and_a_bad_value_is_400_on_its_field(
    client, site_a, coordinator_a, investigator_a
):
    subject = screen_eligible_subject(site_a, coordinator_a, investigator_a)
    labs = ScreeningLabs.objects.get(subject=subject)
    client.force_login(coordinator_a)
    url = f"/api/v1/subjects/{subject.pk}/screening/labs/"
    stale = client.put(
        url,
        {"creatinine": "1.1", "version": labs.version - 1, "reason": "x"},
        content_type="application/json",
    )
    assert stale.status_code == 409
    assert "reload to see their change" in stale.json()["detail"]
    missing_reason = client.put(
        url, {"creatinine": "1.1", "version": labs.version}, content_type="application/json"
    )
    assert missing_reason.status_code == 400
    assert "reason" in missing_reason.json()["errors"]
    negative = client.put(
        url,
        {"creatinine": "-1", "version": labs.version, "reason": "x"},
        content_type="application/json",
    )
    assert negative.status_code == 400
    assert "creatinine" in negative.json()["errors"]
    assert ScreeningLabs.objects.get(subject=subject).creatinine == Decimal("0.900")


def test_sponsors_cannot_read_or_write_crfs(client, site_a, coordinator_a, investigator_a, sponsor):
    subject = screen_eligible_subject(site_a, coordinator_a, investigator_a)
    client.force_login(sponsor)
    assert client.get(f"/api/v1/subjects/{subject.pk}/screening/labs/").status_code == 403
