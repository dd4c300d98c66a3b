"""The screening log: sort, search, status filter (page and API), CSV export, CONSORT summary.

Issue 10, item 14.
"""

from __future__ import annotations

import csv
import io

import pytest
from django.urls import reverse

from enrollment import consort, services
from enrollment.models import EligibilityAssessment, Subject, Virology
from tests.enrollment_data import register_and_consent, screen_eligible_subject

pytestmark = pytest.mark.django_db


def _fail(subject, investigator):
    from tests.factories import PASSWORD

    services.record_screen_failure(
        subject,
        actor=investigator,
        category="failed_criteria",
        password=PASSWORD,
        expected_version=subject.version,
    )


@pytest.fixture
def log_world(site_a, coordinator_a, investigator_a, password):
    """Three subjects: one in screening, one HBsAg+ screen failure, one confirmed eligible."""
    waiting = register_and_consent(site_a, coordinator_a, investigator_a, initials="AAA")
    failed = screen_eligible_subject(
        site_a,
        coordinator_a,
        investigator_a,
        initials="BBB",
        overrides={Virology: {"hbsag_positive": True, "tppa_positive": True}},
    )
    _fail(failed, investigator_a)
    eligible = screen_eligible_subject(site_a, coordinator_a, investigator_a, initials="CCC")
    assessment = EligibilityAssessment.objects.get(subject=eligible)
    services.confirm_eligibility(
        eligible, actor=investigator_a, password=password, expected_version=assessment.version
    )
    return {"waiting": waiting, "failed": failed, "eligible": eligible}


def _numbers(page: str, subjects) -> list[str]:
    found = [(page.index(s.screening_number), s.screening_number) for s in subjects]
    return [number for _, number in sorted(found)]


def test_the_log_sorts_by_a_column_both_ways(client, coordinator_a, log_world):
    client.force_login(coordinator_a)
    url = reverse("enrollment:screening-log")
    subjects = list(log_world.values())
    by_initials = client.get(url, {"sort": "initials"}).content.decode()
    assert _numbers(by_initials, subjects) == [s.screening_number for s in subjects]
    reverse_page = client.get(url, {"sort": "-initials"}).content.decode()
    assert _numbers(reverse_page, subjects) == [s.screening_number for s in reversed(subjects)]
    assert 'aria-sort="descending"' in reverse_page


def test_an_unknown_sort_falls_back_to_newest_first(client, coordinator_a, log_world):
    client.force_login(coordinator_a)
    response = client.get(reverse("enrollment:screening-log"), {"sort": "password"})
    assert response.status_code == 200


@pytest.mark.parametrize("term", ["bbb", "S-0002", "bB"])
def test_the_log_searches_by_screening_number_or_initials(client, coordinator_a, log_world, term):
    client.force_login(coordinator_a)
    page = client.get(reverse("enrollment:screening-log"), {"q": term}).content.decode()
    assert log_world["failed"].screening_number in page
    assert log_world["waiting"].screening_number not in page


def test_the_log_filters_by_status(client, coordinator_a, log_world):
    client.force_login(coordinator_a)
    page = client.get(
        reverse("enrollment:screening-log"), {"status": "screen_failure"}
    ).content.decode()
    assert log_world["failed"].screening_number in page
    assert log_world["waiting"].screening_number not in page


def test_the_api_filters_subjects_by_enrollment_status(
    client, study, coordinator_a, sponsor, log_world
):
    url = f"/api/v1/studies/{study.pk}/subjects/"
    for user in (coordinator_a, sponsor):
        client.force_login(user)
        rows = client.get(url, {"enrollment_status": "screen_failure"}).json()["results"]
        assert [r["screening_number"] for r in rows] == [log_world["failed"].screening_number]
    response = client.get(url, {"enrollment_status": "nonsense"})
    assert response.status_code == 400
    assert "enrollment_status" in response.content.decode()


def test_the_log_exports_csv_with_its_filters(client, coordinator_a, log_world):
    client.force_login(coordinator_a)
    response = client.get(reverse("enrollment:screening-log-csv"), {"sort": "initials"})
    assert response.status_code == 200
    assert response.streaming
    assert response["Content-Type"].startswith("text/csv")
    assert "attachment" in response["Content-Disposition"]
    text = b"".join(response.streaming_content).decode("utf-8-sig")
    rows = list(csv.DictReader(io.StringIO(text)))
    assert [r["initials"] for r in rows] == ["AAA", "BBB", "CCC"]
    failed = rows[1]
    assert failed["status"] == "Screen failure"
    assert failed["failing_criteria"] == "EX12"
    assert "EX12.2" in failed["screen_failure_reasons"]
    filtered = client.get(reverse("enrollment:screening-log-csv"), {"q": "CCC"})
    lines = b"".join(filtered.streaming_content).decode("utf-8-sig").strip().splitlines()
    assert len(lines) == 2


def test_the_csv_export_is_refused_to_the_sponsor(client, sponsor, log_world):
    client.force_login(sponsor)
    assert client.get(reverse("enrollment:screening-log-csv")).status_code == 403


def test_the_summary_counts_each_criterion_once_per_subject(client, coordinator_a, log_world):
    # The HBsAg+ TPPA+ subject fails EX12.2 and EX12.4: one subject excluded under EX12.
    client.force_login(coordinator_a)
    page = client.get(reverse("enrollment:screening-log")).content.decode()
    assert 'data-testid="summary-screened">3<' in page
    assert 'data-testid="summary-failures">1' in page
    assert 'data-testid="failure-EX12">EX12: 1<' in page
    assert 'data-testid="summary-confirmed">1<' in page


def test_consort_counts_top_level_criteria_once_per_subject():
    reasons = [
        [{"code": "EX12.2"}, {"code": "EX12.4"}, {"code": "IN7.3"}],
        [{"code": "IN10"}, {"code": "EX12.1"}],
        [{"code": "IN2"}],
    ]
    assert consort.failures_by_criterion(reasons) == [
        ("IN2", 1),
        ("IN7", 1),
        ("IN10", 1),
        ("EX12", 2),
    ]


def test_the_log_with_its_summary_runs_a_fixed_number_of_queries(
    client, coordinator_a, investigator_a, site_a, django_assert_num_queries
):
    client.force_login(coordinator_a)
    url = reverse("enrollment:screening-log")
    for n in (1, 3):
        while Subject.objects.count() < n:
            register_and_consent(site_a, coordinator_a, investigator_a)
        # session, user, current study, memberships, filter sites, subject count, subjects
        # page, assessments, open query counts, summary counts, failure reasons, switcher
        # studies, session save (3)
        with django_assert_num_queries(15):
            assert client.get(url).status_code == 200
