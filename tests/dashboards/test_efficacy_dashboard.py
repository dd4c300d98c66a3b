"""The efficacy dashboard: subjects entered through the CRF services, the worker's recompute,
then the page and its CSVs show the rates and medians the rules give; sponsors see no subject
IDs or dates; an empty state before any infusion; a fixed number of queries."""

from __future__ import annotations

import csv
import datetime as dt
import io

import pytest
from django.urls import reverse

from efficacy.rules import exact_ci
from tests.dashboards.endpoints_data import NR, event, follow_up, infused_subject, response
from tests.safety.crs_data import add_crs
from tests.safety.lab_data import panel
from trialsite.records import recompute
from trialsite.studies.models import Study

pytestmark = pytest.mark.django_db

DAY0 = dt.date(2025, 6, 1)
M1 = DAY0 + dt.timedelta(days=28)
URL = "/efficacy/"
#: Session, user, study, membership and permission reads, the subjects of the reader's sites
#: (for their labels), the newest recompute run and the one snapshot query: the same for 1 or 8
#: subjects.
QUERIES = 11


def day(n: int) -> dt.date:
    return DAY0 + dt.timedelta(days=n)


def run_worker(study) -> Study:
    """What the worker does after a save: every recompute hook at the study's data version."""
    recompute.run(study.pk)
    return Study.objects.get(pk=study.pk)


@pytest.fixture
def course(study, site_a, coordinator_a, investigator_a):
    """Three subjects: DL1 CR alive at day 92; DL1 NR, dead on day 50; DL2 CR, dead on day 70.

    By the rules (RULES.md §1.7, §1.6): M1 CRR 2/3 overall, 1/2 at DL1; OS events at days 50 and
    70 among 3 → S = 2/3 then 1/3, median OS 70 days.
    """
    s1 = infused_subject(site_a, coordinator_a, investigator_a, DAY0, 1)
    response(s1, coordinator_a, M1, "M1")
    follow_up(s1, coordinator_a, day(92))
    s2 = infused_subject(site_a, coordinator_a, investigator_a, DAY0, 1)
    response(s2, coordinator_a, M1, "M1", **NR)
    event(s2, coordinator_a, "death", day(50))
    s3 = infused_subject(site_a, coordinator_a, investigator_a, DAY0, 2)
    response(s3, coordinator_a, M1, "M1")
    event(s3, coordinator_a, "death", day(70))
    return [s1, s2, s3]


@pytest.fixture
def exploratory(course, coordinator_a):
    """Peak IL-6 800, 150 and 2500 pg/mL; worst CRS none (grade 0), grade 1 (fever) and grade 2
    (fever with hypotension needing fluids): Spearman rho 0.5 over the 3 subjects."""
    for s, il6 in zip(course, ("800", "150", "2500"), strict=True):
        panel(s, coordinator_a, 2, ("IL6", il6))
    add_crs(course[1], coordinator_a, 2, "38.6")
    add_crs(course[2], coordinator_a, 2, "39.1", hypotension=True, fluid_bolus=True)
    return course


def _rate_text(k: int, n: int) -> str:
    lo, hi = exact_ci(k, n)
    return f"{k}/{n} ({k / n * 100:.1f} %) [95 % CI {lo * 100:.1f}–{hi * 100:.1f}]"


def _csv(client, table: str, group: str = "all") -> list[list[str]]:
    got = client.get(f"{reverse('efficacy-dashboard:csv', args=[table])}?group={group}")
    assert got.status_code == 200
    return list(csv.reader(io.StringIO(b"".join(got.streaming_content).decode("utf-8-sig"))))


def test_the_investigator_reads_the_rates_and_medians_the_rules_give(
    client, study, course, monitor
):
    study = run_worker(study)
    client.force_login(monitor)
    page = client.get(URL)
    assert page.status_code == 200
    html = page.content.decode()
    assert f"As of data version {study.data_version}" in html
    board = page.context["board"]
    assert not board.recomputing and not board.empty and board.n == 3
    crr = next(r for r in board.rate_rows if r["key"] == "CRR")
    assert crr["cells"][0] == _rate_text(2, 3)
    assert _rate_text(2, 3) in html
    assert dict(board.best_response_rows)["CR"] == 2 and dict(board.best_response_rows)["NR"] == 1
    os_ = next(s for s in board.survival if s["key"] == "os")
    assert os_["km"]["median"] == 70 and os_["median"].startswith("70 days")
    assert [r["at_risk"] for r in os_["km"]["at_risk"]][:2] == [3, 1]  # at day 0 and month 3
    for key in ("os", "efs", "rfs", "dor"):
        assert f'id="efficacy-km-{key}-spec"' in html
    assert 'id="efficacy-swimmer-spec"' in html and 'id="efficacy-waterfall-spec"' in html
    # The subject IDs appear to a reader of every site.
    assert course[0].subject_number or course[0].screening_number in html

    rates = _csv(client, "rates")
    m1_crr = next(r for r in rates if r[:2] == ["1", "CRR"])
    lo, hi = exact_ci(2, 3)
    assert m1_crr[2:4] == ["2", "3"]
    assert float(m1_crr[4]) == pytest.approx(2 / 3) and float(m1_crr[5]) == pytest.approx(lo)
    assert float(m1_crr[6]) == pytest.approx(hi)
    os_rows = _csv(client, "os")
    assert os_rows[0] == ["time_days", "at_risk", "events", "survival", "ci_lower", "ci_upper"]
    curve = [(float(r[0]), float(r[3])) for r in os_rows[1:] if r[2] != "0"]
    assert curve == [(50, pytest.approx(2 / 3)), (70, pytest.approx(1 / 3))]


def test_each_dose_level_is_shown_alone(client, study, course, monitor):
    run_worker(study)
    client.force_login(monitor)
    board = client.get(URL, {"group": "DL1"}).context["board"]
    assert board.groups == ["all", "DL1", "DL2"] and board.group == "DL1" and board.n == 2
    assert next(r for r in board.rate_rows if r["key"] == "CRR")["cells"][0] == _rate_text(1, 2)
    assert _csv(client, "best-response", "DL2")[1][1] == "CR"
    assert client.get(URL, {"group": "DL9"}).context["board"].group == "all"


def test_the_sponsor_sees_no_subject_ids_or_dates(client, study, course, sponsor):
    run_worker(study)
    client.force_login(sponsor)
    html = client.get(URL).content.decode()
    for s in course:
        for label in (s.subject_number, s.screening_number):
            if label:
                assert label not in html
                assert label not in str(_csv(client, "swimmer"))
    assert "Subject 1" in html and "2025-" not in html
    assert [r[0] for r in _csv(client, "swimmer")[1:]] == ["Subject 1", "Subject 2", "Subject 3"]


def test_each_correlation_is_drawn_from_the_stored_points_with_its_csv(
    client, study, exploratory, monitor
):
    run_worker(study)
    client.force_login(monitor)
    page = client.get(URL)
    html = page.content.decode()
    board = page.context["board"]
    stored = board.values["correlations"]["il6_vs_crs"]
    labels = [s.subject_number or s.screening_number for s in exploratory]
    assert [(p["label"], p["x"], p["y"]) for p in stored["points"]] == [
        (labels[0], 800.0, 0),
        (labels[1], 150.0, 1),
        (labels[2], 2500.0, 2),
    ]
    assert stored["n"] == 3 and stored["rho"] == pytest.approx(0.5)
    chart = next(c for c in board.correlation_charts if c["key"] == "il6_vs_crs")["chart"]
    assert [(ds["label"], ds["data"]) for ds in chart.spec["data"]["datasets"]] == [
        (p["label"], [{"x": p["x"], "y": p["y"]}]) for p in stored["points"]
    ]
    assert f"Spearman ρ = 0.50, p = {stored['p_value']:.3f}, n = 3" in html
    for i in range(4):
        assert f'id="efficacy-correlation-{i}-spec"' in html
    rows = _csv(client, "correlation-points")
    assert rows[0] == ["comparison", "subject", "x", "grade"]
    assert [r for r in rows if r[0] == "il6_vs_crs"] == [
        ["il6_vs_crs", labels[0], "800.0", "0"],
        ["il6_vs_crs", labels[1], "150.0", "1"],
        ["il6_vs_crs", labels[2], "2500.0", "2"],
    ]


def test_the_sponsor_hovers_subject_n_on_the_scatter(client, study, exploratory, sponsor):
    run_worker(study)
    client.force_login(sponsor)
    board = client.get(URL).context["board"]
    chart = next(c for c in board.correlation_charts if c["key"] == "il6_vs_crs")["chart"]
    shown = [ds["label"] for ds in chart.spec["data"]["datasets"]]
    assert shown == ["Subject 1", "Subject 2", "Subject 3"]
    rows = _csv(client, "correlation-points")
    assert {r[1] for r in rows[1:]} == {"Subject 1", "Subject 2", "Subject 3"}
    for s in exploratory:
        for label in (s.subject_number, s.screening_number):
            if label:
                assert label not in str(chart.spec) and label not in str(rows)


def test_before_any_infusion_the_page_says_so_and_a_newer_save_shows_recomputing(
    client, study, site_a, coordinator_a, investigator_a, monitor
):
    client.force_login(monitor)
    page = client.get(URL)
    assert page.status_code == 200 and 'data-testid="empty-state"' in page.content.decode()
    s = infused_subject(site_a, coordinator_a, investigator_a, DAY0, 1)
    study = run_worker(study)
    status = client.get(reverse("efficacy-dashboard:status")).json()
    assert status == {
        "data_version": study.data_version,
        "snapshot_data_version": study.data_version,
        "stale": False,
        "failed": False,
    }
    response(s, coordinator_a, M1, "M1")  # saved; the worker has not run yet
    board = client.get(URL).context["board"]
    assert board.recomputing and board.data_version == study.data_version
    assert client.get(reverse("efficacy-dashboard:status")).json()["stale"] is True


def test_an_unknown_table_is_404(client, study, monitor):
    client.force_login(monitor)
    assert client.get(reverse("efficacy-dashboard:csv", args=["nothing"])).status_code == 404


@pytest.mark.parametrize("subjects", [1, 8])
def test_the_page_takes_a_fixed_number_of_queries(
    client, study, site_a, coordinator_a, investigator_a, subjects, django_assert_num_queries
):
    for i in range(subjects):
        s = infused_subject(site_a, coordinator_a, investigator_a, DAY0, 1 + i % 2)
        response(s, coordinator_a, M1, "M1", **({} if i % 2 == 0 else NR))
        follow_up(s, coordinator_a, day(60 + i))
        panel(s, coordinator_a, 2, ("IL6", str(100 * (i + 1))))  # a scatter point per subject
    run_worker(study)
    client.force_login(investigator_a)
    client.get(URL)  # warm the session and content-type caches
    with django_assert_num_queries(QUERIES):
        assert client.get(URL).status_code == 200
    with django_assert_num_queries(QUERIES):
        assert client.get(URL, {"group": "DL1"}).status_code == 200


def test_a_failed_recompute_is_said_not_shown_as_recomputing(
    client, study, course, monitor, sponsor, coordinator_a, monkeypatch
):
    study = run_worker(study)
    shown = study.data_version

    def refused(*args, **kwargs):
        raise ValueError("RFS of subject X-1: relapse before the CR")

    monkeypatch.setattr("trialsite.dashboards.efficacy_hook.compute_endpoints", refused)
    follow_up(course[0], coordinator_a, day(100))
    run_worker(study)
    client.force_login(monitor)
    page = client.get(URL)
    board = page.context["board"]
    assert board.data_version == shown and not board.recomputing
    assert "relapse before the CR" in page.content.decode()
    status = client.get(reverse("efficacy-dashboard:status")).json()
    assert (status["stale"], status["failed"]) == (False, True)
    client.force_login(sponsor)
    html = client.get(URL).content.decode()
    assert 'data-testid="recompute-failed"' in html and "X-1" not in html
