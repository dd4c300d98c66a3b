"""``GET /api/v1/studies/<id>/efficacy/endpoints/``: the stored snapshots with their data version,
for every role on the study; de-identified for sponsors; a fixed number of queries."""

from __future__ import annotations

import datetime as dt

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from efficacy.selectors_endpoints import endpoint_snapshots
from tests.dashboards.endpoints_data import NR, follow_up, infused_subject, response
from tests.safety.lab_data import panel
from trialsite.dashboards.efficacy_hook import endpoints_hook
from trialsite.studies.models import Study

pytestmark = pytest.mark.django_db

DAY0 = dt.date(2025, 6, 1)


def url(study) -> str:
    return f"/api/v1/studies/{study.pk}/efficacy/endpoints/"


def infuse(site, coordinator, investigator, n: int, level: int = 1) -> list:
    subjects = []
    for i in range(n):
        s = infused_subject(site, coordinator, investigator, DAY0, level)
        response(s, coordinator, dt.date(2025, 6, 29), "M1", **({} if i % 2 == 0 else NR))
        follow_up(s, coordinator, dt.date(2025, 9, 1) + dt.timedelta(days=i))
        subjects.append(s)
    return subjects


def recompute(study) -> Study:
    study = Study.objects.get(pk=study.pk)
    endpoints_hook(study, study.data_version)
    return study


def test_before_any_run_it_says_nothing_is_stored(client, study, sponsor):
    client.force_login(sponsor)
    body = client.get(url(study)).json()
    assert body == {
        "data_version": None,
        "computed_at": None,
        "stale": [],
        "subject_ids_shown": False,
        "groups": [],
        "endpoints": {},
    }


def test_a_study_wide_reader_sees_the_stored_values_and_labels(
    client, study, site_a, coordinator_a, investigator_a, monitor
):
    subjects = infuse(site_a, coordinator_a, investigator_a, 3)
    study = recompute(study)
    client.force_login(monitor)
    body = client.get(url(study)).json()
    assert body["data_version"] == study.data_version and body["stale"] == []
    assert body["groups"] == ["all", "DL1"] and body["subject_ids_shown"] is True
    stored = endpoint_snapshots(study)
    assert body["endpoints"]["DL1"]["os"] == stored.get("DL1", "os")
    m1 = body["endpoints"]["all"]["response_rates"]["months"][0]
    assert (m1["month"], m1["CRR"]["numerator"], m1["CRR"]["denominator"]) == (1, 2, 3)
    labels = [r["label"] for r in body["endpoints"]["all"]["swimmer"]["subjects"]]
    assert labels == [s.subject_number or s.screening_number for s in subjects]


def test_the_sponsor_reads_it_de_identified(
    client, study, site_a, coordinator_a, investigator_a, sponsor
):
    subjects = infuse(site_a, coordinator_a, investigator_a, 3)
    for i, s in enumerate(subjects):
        panel(s, coordinator_a, 2, ("IL6", str(100 * (i + 1))))
    study = recompute(study)
    client.force_login(sponsor)
    response_ = client.get(url(study))
    assert response_.status_code == 200
    body = response_.json()
    assert body["subject_ids_shown"] is False
    text = response_.content.decode()
    assert '"subject_id"' not in text
    for s in subjects:
        assert (s.subject_number or s.screening_number) not in text
    rows = body["endpoints"]["all"]["os"]["subjects"]
    assert [r["label"] for r in rows] == ["Subject 1", "Subject 2", "Subject 3"]
    # The exploratory scatter's points are named as the swimmer rows are, with no internal ID.
    points = body["endpoints"]["all"]["correlations"]["il6_vs_crs"]["points"]
    assert points == [{"label": f"Subject {i}", "x": 100.0 * i, "y": 0} for i in (1, 2, 3)]
    # The numbers are the stored ones.
    assert (
        body["endpoints"]["all"]["os"]["steps"]
        == endpoint_snapshots(study).get("all", "os")["steps"]
    )


def test_outsiders_get_404(client, study, outsider):
    client.force_login(outsider)
    assert client.get(url(study)).status_code == 404


def test_fixed_queries_at_one_and_many_subjects(
    client, study, site_a, coordinator_a, investigator_a, sponsor, django_assert_num_queries
):
    infuse(site_a, coordinator_a, investigator_a, 1)
    recompute(study)
    client.force_login(sponsor)
    client.get(url(study))  # warm the session
    with CaptureQueriesContext(connection) as one:
        assert client.get(url(study)).status_code == 200
    infuse(site_a, coordinator_a, investigator_a, 8, level=2)
    recompute(study)
    with django_assert_num_queries(len(one)):
        body = client.get(url(study)).json()
    assert body["endpoints"]["all"]["os"]["n"] == 9
