"""The SAE API: reports read site-scoped (de-identified for sponsors), submissions written
through the service (428 without a version, 409 when stale, 400 on the field)."""

from __future__ import annotations

import datetime as dt

import pytest

from safety.models import ClockKind, SAEClock, SAEReport
from tests.enrollment_data import register_and_consent
from tests.safety.sae_data import moment, serious_event

pytestmark = pytest.mark.django_db


@pytest.fixture
def subject(site_a, coordinator_a, investigator_a):
    return register_and_consent(site_a, coordinator_a, investigator_a)


@pytest.fixture
def aware(subject, frozen_clock):
    at = moment(subject.screening_date + dt.timedelta(days=4))
    frozen_clock(at)
    return at


@pytest.fixture
def report(subject, coordinator_a, aware):
    return SAEReport.objects.get(event=serious_event(subject, coordinator_a))


def _initial(report) -> SAEClock:
    return SAEClock.objects.get(report=report, kind=ClockKind.INITIAL)


def test_site_staff_read_reports_with_their_clocks(client, coordinator_a, report, aware, study):
    client.force_login(coordinator_a)
    (row,) = client.get(f"/api/v1/studies/{study.pk}/sae-reports/").json()["results"]
    assert row["subject"] == str(report.subject) and row["term"] == "Febrile neutropenia"
    assert row["seriousness_criteria"] == ["hospitalisation"]
    initial = next(c for c in row["clocks"] if c["kind"] == "initial")
    assert initial["status"] == "running" and initial["hours_left"] == 24.0
    assert initial["due_at"] is not None and initial["submitted_at"] is None
    assert "aware_at" in row and "onset_date" in row


def test_a_sponsor_reads_every_report_without_dates(client, sponsor, report, study, aware):
    client.force_login(sponsor)
    (row,) = client.get(f"/api/v1/studies/{study.pk}/sae-reports/").json()["results"]
    assert "aware_at" not in row and "onset_date" not in row
    assert row["aware_days_from_consent"] == 4  # consent on the screening day, aware 4 days later
    assert row["onset_days_from_consent"] == 3
    assert all("due_at" not in c and "submitted_at" not in c for c in row["clocks"])
    detail = client.get(f"/api/v1/sae-reports/{report.pk}/").json()
    assert detail["id"] == report.pk and "aware_at" not in detail
    assert "WLX" not in str(detail)


def test_another_sites_staff_see_no_report(client, coordinator_b, report, study):
    client.force_login(coordinator_b)
    assert client.get(f"/api/v1/studies/{study.pk}/sae-reports/").json()["results"] == []
    assert client.get(f"/api/v1/sae-reports/{report.pk}/").status_code == 404


def test_an_outsider_gets_404(client, outsider, report, study):
    client.force_login(outsider)
    assert client.get(f"/api/v1/studies/{study.pk}/sae-reports/").status_code == 404
    assert client.get(f"/api/v1/sae-reports/{report.pk}/").status_code == 404


def test_the_list_runs_a_fixed_number_of_queries(
    client, study, site_a, coordinator_a, investigator_a, aware, django_assert_num_queries
):
    client.force_login(coordinator_a)
    url = f"/api/v1/studies/{study.pk}/sae-reports/"
    for n in (1, 3):
        while SAEReport.objects.count() < n:
            serious_event(
                register_and_consent(site_a, coordinator_a, investigator_a), coordinator_a
            )
        # session, user, study lookup, memberships, count, page of reports (subject, site,
        # event, term, first consent), their clocks, session save (savepoint, update, release)
        with django_assert_num_queries(10):
            assert len(client.get(url).json()["results"]) == n


def _put(client, clock, **body):
    return client.put(
        f"/api/v1/sae-clocks/{clock.pk}/submission/", body, content_type="application/json"
    )


def test_a_coordinator_records_a_submission(client, coordinator_a, report, aware, frozen_clock):
    frozen_clock(aware + dt.timedelta(hours=2))
    initial = _initial(report)
    client.force_login(coordinator_a)
    response = _put(
        client,
        initial,
        submitted_at=(aware + dt.timedelta(hours=1)).isoformat(),
        reference="SAE-API-1",
        version=initial.version,
    )
    assert response.status_code == 200, response.json()
    assert response.json()["status"] == "met" and response.json()["reference"] == "SAE-API-1"
    initial.refresh_from_db()
    assert initial.submitted_at == aware + dt.timedelta(hours=1)


def test_a_submission_without_a_version_is_428_and_a_stale_one_409(
    client, coordinator_a, report, aware
):
    initial = _initial(report)
    client.force_login(coordinator_a)
    body = {"submitted_at": aware.isoformat(), "reference": "X"}
    assert _put(client, initial, **body).status_code == 428
    assert _put(client, initial, **body, version=initial.version + 1).status_code == 409


def test_bad_submission_values_are_400_on_their_field(client, coordinator_a, report, aware):
    initial = _initial(report)
    client.force_login(coordinator_a)
    response = _put(client, initial, submitted_at="not a time", reference="", version=1)
    assert response.status_code == 400
    body = str(response.json())
    assert "submitted_at" in body and "reference" in body
    future = (aware + dt.timedelta(days=1)).isoformat()
    response = _put(client, initial, submitted_at=future, reference="X", version=1)
    assert response.status_code == 400 and "submitted_at" in str(response.json())
    initial.refresh_from_db()
    assert initial.submitted_at is None


@pytest.mark.parametrize(("persona", "status"), [("monitor", 403), ("sponsor", 403)])
def test_readers_cannot_record_a_submission(
    client, request, report, aware, persona, status, monitor, sponsor
):
    initial = _initial(report)
    client.force_login(request.getfixturevalue(persona))
    body = {"submitted_at": aware.isoformat(), "reference": "X", "version": 1}
    assert _put(client, initial, **body).status_code == status


def test_another_sites_coordinator_gets_404_on_a_submission(client, coordinator_b, report, aware):
    client.force_login(coordinator_b)
    body = {"submitted_at": aware.isoformat(), "reference": "X", "version": 1}
    assert _put(client, _initial(report), **body).status_code == 404
