"""The ``endpoints`` recompute hook: data in the database → ``EndpointSnapshot`` rows equal to the
rules' answers (golden §M), grouped by dose level, fixed queries, older data never winning, a
refused course recorded on the run (issue #13 Requirement 2, docs/architecture.md §13.3)."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from dosing.models import CohortAssignment
from efficacy.endpoints import ENDPOINTS, compute_endpoints, study_efficacy_settings
from efficacy.models import EndpointSnapshot
from efficacy.rules import (
    KMRow,
    duration_of_response,
    event_free_survival,
    kaplan_meier,
    overall_survival,
    relapse_free_survival,
)
from efficacy.selectors import subject_efficacy
from efficacy.selectors_endpoints import endpoint_snapshots
from tests.dashboards.endpoints_data import (
    CRI,
    MLFS,
    NR,
    event,
    follow_up,
    infused_subject,
    response,
)
from trialsite.dashboards.efficacy_hook import endpoints_hook
from trialsite.records import recompute
from trialsite.records.models import RecomputeRun
from trialsite.studies.models import Study

pytestmark = pytest.mark.django_db

DAY0 = dt.date(2025, 6, 1)
D = dt.date


def golden_m(site, coordinator, investigator):
    """TTE-01 and TTE-02 at DL1, TTE-03 and TTE-04 at DL2 (CASES.md §M), entered as CRFs."""
    s1 = infused_subject(site, coordinator, investigator, DAY0, 1)
    response(s1, coordinator, D(2025, 7, 1), "M1")  # CR
    response(s1, coordinator, D(2025, 11, 15), "UNS", bm_blasts_pct=Decimal(6))  # relapse
    event(s1, coordinator, "death", D(2026, 2, 1))
    s2 = infused_subject(site, coordinator, investigator, DAY0, 1)
    for when, tp in ((D(2025, 6, 29), "M1"), (D(2025, 8, 1), "M2"), (D(2025, 8, 31), "M3")):
        response(s2, coordinator, when, tp, **NR)
    event(s2, coordinator, "progression", D(2025, 9, 10))
    follow_up(s2, coordinator, D(2026, 1, 10))
    s3 = infused_subject(site, coordinator, investigator, DAY0, 2)
    response(s3, coordinator, D(2025, 7, 1), "M1", **MLFS)
    event(s3, coordinator, "progression", D(2025, 10, 1))
    s4 = infused_subject(site, coordinator, investigator, DAY0, 2)
    response(s4, coordinator, D(2025, 7, 1), "M1", **CRI)
    event(s4, coordinator, "hsct", D(2025, 8, 1))
    response(s4, coordinator, D(2026, 6, 1), "M12")
    follow_up(s4, coordinator, D(2026, 6, 15))
    return s1, s2, s3, s4


def _stored(study, group, endpoint):
    return EndpointSnapshot.objects.get(study=study, group=group, endpoint=endpoint)


def _days(study, group, endpoint):
    rows = _stored(study, group, endpoint).values["subjects"]
    return {r["subject_id"]: (r["days"], r["event"], r["reason"]) for r in rows}


def test_golden_m_through_the_database_equals_the_rules(
    study, site_a, coordinator_a, investigator_a
):
    s1, s2, s3, s4 = golden_m(site_a, coordinator_a, investigator_a)
    study.refresh_from_db()
    summary = recompute.hooks()["endpoints"](study, study.data_version)

    assert summary["subjects"] == 4 and summary["groups"] == ["DL1", "DL2", "all"]
    assert summary["stored"] == 3 * len(ENDPOINTS)
    assert EndpointSnapshot.objects.filter(study=study).count() == 3 * len(ENDPOINTS)
    assert set(
        EndpointSnapshot.objects.filter(study=study).values_list("data_version", flat=True)
    ) == {study.data_version}
    # CASES.md §M in days.
    assert _days(study, "all", "os") == {
        s1.pk: (245, True, "death"),
        s2.pk: (223, False, "censored_last_known_alive"),
        s3.pk: (122, False, "censored_last_known_alive"),
        s4.pk: (379, False, "censored_last_known_alive"),
    }
    efs = _days(study, "all", "efs")
    assert (efs[s1.pk], efs[s2.pk], efs[s3.pk]) == (
        (167, True, "relapse"),
        (101, True, "progression"),
        (122, True, "progression"),
    )
    assert _days(study, "all", "rfs") == {
        s1.pk: (137, True, "relapse"),
        s4.pk: (349, False, "censored_last_known_alive"),
    }
    dor = _days(study, "all", "dor")
    assert (dor[s1.pk], dor[s3.pk]) == ((137, True, "relapse"), (92, True, "progression"))
    assert set(_days(study, "DL1", "os")) == {s1.pk, s2.pk}
    assert set(_days(study, "DL2", "rfs")) == {s4.pk}

    # The rules applied directly to the subjects' courses give the same curve and median.
    courses = [c.course for _, c in sorted(subject_efficacy(study).items())]
    for name, fn in (
        ("os", overall_survival),
        ("efs", event_free_survival),
        ("rfs", relapse_free_survival),
        ("dor", duration_of_response),
    ):
        ttes = [t for t in map(fn, courses) if t is not None]
        km = kaplan_meier([t.duration_days for t in ttes], [t.event for t in ttes])
        stored = _stored(study, "all", name).values
        steps = [tuple(s[k] for k in KMRow._fields) for s in stored["steps"]]
        assert steps == [tuple(r) for r in km.table]
        assert (stored["median"], stored["median_ci_lower"], stored["median_ci_upper"]) == (
            km.median,
            *km.median_ci,
        )
    # Month-1 rates of DL2: MLFS and CRi of 2 infused.
    m1 = _stored(study, "DL2", "response_rates").values["months"][0]
    assert (m1["ORR"]["numerator"], m1["ORR"]["denominator"]) == (2, 2)
    assert (m1["CRR"]["numerator"], m1["CRiR"]["numerator"], m1["MLFSR"]["numerator"]) == (1, 1, 1)
    # Every stored value is what compute_endpoints gives for the selector's courses.
    subjects = subject_efficacy(study)
    groups = {s1.pk: "DL1", s2.pk: "DL1", s3.pk: "DL2", s4.pk: "DL2"}
    want = compute_endpoints(list(subjects.values()), groups, study_efficacy_settings(study))
    assert endpoint_snapshots(study).values == want


def test_the_hook_runs_a_fixed_number_of_queries(study, site_a, coordinator_a, investigator_a):
    infused_subject(site_a, coordinator_a, investigator_a, DAY0, 1)
    study.refresh_from_db()
    with CaptureQueriesContext(connection) as one:
        endpoints_hook(study, study.data_version)
    for i in range(49):
        s = infused_subject(site_a, coordinator_a, investigator_a, DAY0, 1)
        response(s, coordinator_a, D(2025, 6, 29), "M1", **({} if i % 2 else NR))
        follow_up(s, coordinator_a, D(2025, 9, 1) + dt.timedelta(days=i))
    study.refresh_from_db()
    with CaptureQueriesContext(connection) as fifty:
        summary = endpoints_hook(study, study.data_version)
    assert summary["subjects"] == 50
    assert len(fifty) == len(one)
    # Reads: dose levels (1) + courses (8) + kinetics (1); then one
    # upsert per (group, endpoint) pair (DL1 and all) and the clean-up of vanished groups.
    reads = len(one) - 2 * len(ENDPOINTS) - 1
    assert reads == 10


def test_older_data_never_overwrites_newer(study, site_a, coordinator_a, investigator_a):
    s1, *_ = golden_m(site_a, coordinator_a, investigator_a)
    study.refresh_from_db()
    newest = study.data_version
    endpoints_hook(study, newest)
    before = endpoint_snapshots(study)
    # A run that read older data finishes late, after another subject died.
    follow_up(s1, coordinator_a, D(2025, 12, 1))
    Study.objects.filter(pk=study.pk).update(data_version=newest)
    summary = endpoints_hook(study, newest - 1)
    assert summary["stored"] == 0
    assert endpoint_snapshots(study).values == before.values
    assert endpoint_snapshots(study).data_version == newest
    assert endpoint_snapshots(study).stale == []
    # The same version again is no newer either.
    assert endpoints_hook(study, newest)["stored"] == 0


def test_a_group_left_without_subjects_is_removed(study, site_a, coordinator_a, investigator_a):
    s1, s2, s3, s4 = golden_m(site_a, coordinator_a, investigator_a)
    study.refresh_from_db()
    endpoints_hook(study, study.data_version)
    assert "DL2" in endpoint_snapshots(study).groups
    CohortAssignment.objects.filter(subject__in=[s3, s4]).update(is_active=False)
    summary = endpoints_hook(study, study.data_version + 1)
    assert summary["removed"] == len(ENDPOINTS)
    stored = endpoint_snapshots(study)
    assert stored.groups == ["all", "DL1"]
    assert stored.get("all", "os")["n"] == 4  # still in the overall figures


def test_a_refused_course_is_recorded_on_the_run_and_keeps_the_stored_values(
    study, site_a, coordinator_a, investigator_a
):
    s1, *_ = golden_m(site_a, coordinator_a, investigator_a)
    study.refresh_from_db()
    endpoints_hook(study, study.data_version)
    before = endpoint_snapshots(study)
    bad = infused_subject(site_a, coordinator_a, investigator_a, DAY0, 1)
    response(bad, coordinator_a, D(2025, 7, 20), "M1")  # CR
    event(bad, coordinator_a, "relapse", D(2025, 7, 1))  # a relapse before the remission

    run = recompute.run(study.pk)

    assert RecomputeRun.objects.filter(pk=run.pk).exists()
    errors = [e for e in run.errors if e["hook"] == "endpoints"]
    assert len(errors) == 1
    assert errors[0]["error"].startswith("ValueError: RFS of subject ")
    assert "endpoints" not in run.results
    assert endpoint_snapshots(study).values == before.values


def test_the_selector_reads_every_snapshot_in_one_query(
    study, site_a, coordinator_a, investigator_a, django_assert_num_queries
):
    with django_assert_num_queries(1):
        empty = endpoint_snapshots(study)
    assert (empty.values, empty.data_version, empty.groups) == ({}, None, [])
    golden_m(site_a, coordinator_a, investigator_a)
    study.refresh_from_db()
    endpoints_hook(study, study.data_version)
    with django_assert_num_queries(1):
        stored = endpoint_snapshots(study)
    assert len(stored.values) == 3 * len(ENDPOINTS)
    assert stored.data_version == study.data_version and stored.computed_at is not None
    assert stored.groups == ["all", "DL1", "DL2"]
