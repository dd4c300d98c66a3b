"""The "Recompute status" page: study administrators see recent runs and failing hooks."""

from __future__ import annotations

import datetime as dt

import pytest
from django.urls import reverse
from django.utils import timezone

from trialsite.records.models import RecomputeRun
from trialsite.studies.models import Study

pytestmark = pytest.mark.django_db

T0 = timezone.make_aware(dt.datetime(2026, 3, 2, 9, 0, 0))


def make_run(study, data_version, errors=(), minutes=0):
    started = T0 + dt.timedelta(minutes=minutes)
    return RecomputeRun.objects.create(
        study=study,
        data_version=data_version,
        started_at=started,
        finished_at=started + dt.timedelta(seconds=2),
        results={"escalation": {"level": 2}},
        errors=list(errors),
    )


def test_it_shows_the_latest_runs_and_the_failing_hooks_in_a_fixed_number_of_queries(
    client, study_admin, study, django_assert_num_queries
):
    error = {"hook": "endpoints", "error": "KeyError: 'dose_level'"}
    client.force_login(study_admin)
    url = reverse("recompute-status")
    for runs in (1, 25):
        for version in range(RecomputeRun.objects.count() + 1, runs + 1):
            make_run(study, version, errors=[error] if version == 25 else [], minutes=version)
        Study.objects.filter(pk=study.pk).update(data_version=26)
        # session, user, current study, memberships (permission and navigation), the 20 newest
        # runs, switcher studies, and the session save (savepoint, update, release)
        with django_assert_num_queries(9):
            response = client.get(url)
        assert response.status_code == 200

    page = response.content.decode()
    assert "Recomputing" in page and "latest run saw v25" in page
    assert "Failing calculations in the latest run" in page
    assert "endpoints" in page and "KeyError: &#x27;dose_level&#x27;" in page
    assert "Traceback" not in page
    status = response.context["status"]
    assert [run.data_version for run in status.runs] == list(range(25, 5, -1))
    assert url in page  # the navigation links to it for an administrator


def test_an_up_to_date_study_shows_no_failure(client, study_admin, study):
    make_run(study, 0)
    client.force_login(study_admin)
    page = client.get(reverse("recompute-status")).content.decode()
    assert "Up to date" in page
    assert "Failing calculations" not in page


@pytest.mark.parametrize("persona", ["coordinator_a", "investigator_a", "data_manager", "sponsor"])
def test_only_study_administrators_see_it(client, request, persona):
    user = request.getfixturevalue(persona)
    client.force_login(user)
    assert client.get(reverse("recompute-status")).status_code == 403
    assert reverse("recompute-status") not in client.get("/").content.decode()


def test_a_user_without_a_role_gets_404(client, outsider, study):
    client.force_login(outsider)
    assert client.get(reverse("recompute-status")).status_code == 404
