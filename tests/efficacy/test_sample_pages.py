"""Sample pages, selectors and API: golden §L from the database to the page, access, queries."""

from __future__ import annotations

import datetime as dt
import re

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse
from django.utils import timezone

from efficacy import sample_import, selectors_samples
from efficacy.course import KineticsPoint
from efficacy.models import KineticsSample, SampleImport
from tests.efficacy.sample_data import (
    ANTI_CAR_HEADER,
    RCL_HEADER,
    day,
    golden_kinetics_csv,
    infused_subject,
)

pytestmark = pytest.mark.django_db


@pytest.fixture
def subject(site_a, coordinator_a, investigator_a):
    return infused_subject(site_a, coordinator_a, investigator_a)


def _commit(content, kind, study, user):
    plan = sample_import.preview(content, kind=kind, filename="f.csv", study=study, user=user)
    assert plan.error_count == 0, [r.errors for r in plan.rows if r.errors]
    return sample_import.commit(plan, user=user, study=study)


@pytest.fixture
def golden(subject, study, coordinator_a):
    _commit(golden_kinetics_csv(subject), "kinetics", study, coordinator_a)
    return subject


def _text(html: str, testid: str) -> str:
    match = re.search(rf'data-testid="{testid}">(.*?)</td>', html, re.S)
    assert match, testid
    return re.sub(r"<[^>]+>", "", match.group(1)).strip()


def test_golden_l_from_the_database_to_the_kinetics_page(client, golden, coordinator_a):
    client.force_login(coordinator_a)
    response = client.get(reverse("efficacy:kinetics", args=[golden.pk]))
    assert response.status_code == 200
    (summary,) = response.context["summary"]
    assert (summary.cmax, summary.tmax, summary.persistence_day, summary.clast) == (
        45000,
        10,
        60,
        300,
    )
    assert summary.auc_0_28 == pytest.approx(423250)
    html = response.content.decode()
    assert _text(html, "cmax").replace(",", "").startswith("45000")
    assert _text(html, "tmax") == "10"
    assert _text(html, "auc").replace(",", "").startswith("423250")
    assert _text(html, "persistence") == "Day 60"
    chart = response.context["chart"]
    assert chart.spec["options"]["scales"]["y"]["type"] == "logarithmic"
    assert chart.labels[:3] == ["0", "4", "7"]
    # BLQ points are gaps on the log axis, not zeros.
    assert chart.series[0].values[0] is None and chart.series[0].values[3] == 45000
    assert 'data-testid="kinetics-csv"' in html and "Import samples" in html


def test_golden_l_through_the_selector(golden, study):
    points = selectors_samples.kinetics_points(study)[golden.pk]
    assert [p.study_day for p in points] == [0, 4, 7, 10, 14, 21, 28, 60, 90, 180]
    assert points[3] == KineticsPoint(10, 45000.0, "copies/µg gDNA", "blood", "qpcr")
    assert points[0].value == 0.0 and points[-1].value == 0.0  # BLQ as 0
    from efficacy import rules

    found = rules.kinetics(
        [(p.study_day, p.value) for p in points], auc_method="linear-up/log-down"
    )
    assert found.auc == pytest.approx(400036.5, abs=0.1)


def _bulk_subjects(site, coordinator, investigator, n):
    subjects = [infused_subject(site, coordinator, investigator, initials="AB") for _ in range(n)]
    now = timezone.now()
    KineticsSample.objects.bulk_create(
        KineticsSample(
            study=s.study,
            subject=s,
            sample_id=f"S{s.pk}-{d}",
            timepoint="UNS",
            collected_at=timezone.make_aware(dt.datetime.combine(day(s, d), dt.time(8))),
            compartment="blood",
            method="qpcr",
            value=100 * (d + 1),
            unit="copies/µg gDNA",
            created_at=now,
            updated_at=now,
            created_by=coordinator,
            updated_by=coordinator,
        )  # fmt: skip
        for s in subjects
        for d in (4, 7, 14)
    )
    return subjects


@pytest.mark.parametrize("n", [1, 50])
def test_kinetics_points_runs_one_query_at_any_size(
    study, site_a, coordinator_a, investigator_a, django_assert_num_queries, n
):
    subjects = _bulk_subjects(site_a, coordinator_a, investigator_a, n)
    with django_assert_num_queries(1):
        points = selectors_samples.kinetics_points(study)
    assert len(points) == n
    assert [p.study_day for p in points[subjects[-1].pk]] == [4, 7, 14]


def test_readers_get_the_pages_read_only_and_the_sponsor_does_not(
    client, golden, monitor, data_manager, sponsor, coordinator_b, outsider
):
    for user in (monitor, data_manager):
        client.force_login(user)
        for name in ("efficacy:kinetics", "efficacy:anti-car", "efficacy:rcl"):
            response = client.get(reverse(name, args=[golden.pk]))
            assert response.status_code == 200
            assert "Import samples" not in response.content.decode()
    # The import is study-level: another site's coordinator imports for their own subjects.
    for user, page, upload in (
        (sponsor, 403, 403),
        (coordinator_b, 403, 200),
        (outsider, 404, 404),
    ):
        client.force_login(user)
        assert client.get(reverse("efficacy:kinetics", args=[golden.pk])).status_code == page
        assert client.get(reverse("efficacy:sample-import")).status_code == upload


def test_the_kinetics_csv_has_every_sample(client, golden, coordinator_a):
    client.force_login(coordinator_a)
    response = client.get(reverse("efficacy:kinetics-csv", args=[golden.pk]))
    body = b"".join(response.streaming_content).decode("utf-8-sig").splitlines()
    assert body[0].startswith("sample_id,collected_at,study_day")
    assert len(body) == 11 and ",90,M3,blood,qpcr,,yes," in body[9]


def test_the_subject_page_has_the_samples_section(client, golden, coordinator_a):
    client.force_login(coordinator_a)
    html = client.get(reverse("enrollment:subject", args=[golden.pk])).content.decode()
    assert 'data-testid="efficacy-samples"' in html
    assert reverse("efficacy:kinetics", args=[golden.pk]) in html


def test_anti_car_and_rcl_pages_list_the_results(client, subject, study, coordinator_a):
    key = subject.screening_number
    _commit(
        (ANTI_CAR_HEADER + f"{key},ADA-1,{day(subject, 28)},D28,positive,160\n").encode(),
        "anti_car", study, coordinator_a,
    )  # fmt: skip
    _commit(
        (RCL_HEADER + f"{key},RCL-1,{day(subject, 90)},M3,coculture,negative,polyclonal,3\n")
        .encode(), "rcl", study, coordinator_a,
    )  # fmt: skip
    client.force_login(coordinator_a)
    html = client.get(reverse("efficacy:anti-car", args=[subject.pk])).content.decode()
    assert "ADA-1" in html and "1:160" in html and "Positive" in html
    html = client.get(reverse("efficacy:rcl", args=[subject.pk])).content.decode()
    assert "RCL-1" in html and "Polyclonal" in html and "dominant clone 3 %" in html


def test_the_import_page_previews_then_commits_with_progress(client, subject, coordinator_a):
    client.force_login(coordinator_a)
    url = reverse("efficacy:sample-import")
    assert client.get(url).status_code == 200
    upload = SimpleUploadedFile("pk.csv", golden_kinetics_csv(subject))
    response = client.post(url, {"kind": "kinetics", "file": upload})
    assert response.status_code == 200 and not KineticsSample.objects.exists()
    assert response.context["preview"].summary["create"] == 10
    token = response.context["token"]
    response = client.post(url, {"token": token})
    assert response.status_code == 200 and "import-progress" in response.content.decode()
    assert KineticsSample.objects.count() == 10  # eager task in tests
    status = client.get(reverse("efficacy:sample-import-status", args=[token])).json()
    assert status["state"] == "done" and status["done"] == status["total"] == 10
    assert status["summary"]["create"] == 10
    assert status["import_id"] == SampleImport.objects.get().pk
    html = client.get(url).content.decode()
    assert 'data-testid="recent-imports"' in html and "pk.csv" in html


def test_the_progress_belongs_to_its_user(client, subject, coordinator_a, investigator_a):
    sample_import.set_progress("tok", state="running", done=5, total=10, user_id=coordinator_a.pk)
    client.force_login(investigator_a)
    assert client.get(reverse("efficacy:sample-import-status", args=["tok"])).status_code == 404
    client.force_login(coordinator_a)
    state = client.get(reverse("efficacy:sample-import-status", args=["tok"])).json()
    assert state == {"state": "running", "done": 5, "total": 10}


def test_a_file_with_errors_offers_no_confirmation(client, subject, coordinator_a):
    client.force_login(coordinator_a)
    bad = golden_kinetics_csv(subject).replace(b",45000,", b",-45000,")
    response = client.post(
        reverse("efficacy:sample-import"),
        {"kind": "kinetics", "file": SimpleUploadedFile("pk.csv", bad)},
    )
    html = response.content.decode()
    assert "cannot be negative" in html and "confirm-import" not in html
    assert "token" not in response.context


# --- API -----------------------------------------------------------------------------------------


def _api(kind, subject):
    return f"/api/v1/subjects/{subject.pk}/efficacy/{kind}/"


def test_the_api_serves_identified_and_deidentified_samples(client, golden, coordinator_a,
                                                           sponsor, coordinator_b):  # fmt: skip
    client.force_login(coordinator_a)
    rows = client.get(_api("kinetics", golden)).json()["results"]
    assert len(rows) == 10
    peak = rows[3]
    assert peak["sample_id"] == f"PK-{golden.pk}-10" and peak["study_day"] == 10
    assert peak["value"] == "45000.0000" and peak["collected_at"]
    client.force_login(sponsor)
    rows = client.get(_api("kinetics", golden)).json()["results"]
    assert rows[3]["study_day"] == 10 and rows[3]["value"] == "45000.0000"
    assert "sample_id" not in rows[3] and "collected_at" not in rows[3]
    for kind in ("anti-car", "rcl"):
        assert client.get(_api(kind, golden)).json()["results"] == []
    client.force_login(coordinator_b)
    assert client.get(_api("kinetics", golden)).status_code == 404


@pytest.mark.parametrize("n", [1, 8])
def test_the_api_runs_a_fixed_number_of_queries(
    client, subject, study, coordinator_a, django_assert_num_queries, n
):
    lines = golden_kinetics_csv(subject).decode().splitlines(keepends=True)
    _commit("".join(lines[: n + 1]).encode(), "kinetics", study, coordinator_a)
    client.force_login(coordinator_a)
    client.get(_api("kinetics", subject))
    with django_assert_num_queries(QUERIES_LIST):
        assert len(client.get(_api("kinetics", subject)).json()["results"]) == n


QUERIES_LIST = 8


@pytest.mark.parametrize("n", [1, 8])
def test_the_kinetics_page_runs_a_fixed_number_of_queries(
    client, subject, study, coordinator_a, django_assert_num_queries, n
):
    lines = golden_kinetics_csv(subject).decode().splitlines(keepends=True)
    _commit("".join(lines[: n + 1]).encode(), "kinetics", study, coordinator_a)
    client.force_login(coordinator_a)
    url = reverse("efficacy:kinetics", args=[subject.pk])
    client.get(url)
    with django_assert_num_queries(PAGE_QUERIES):
        assert len(client.get(url).context["samples"]) == n


PAGE_QUERIES = 10
