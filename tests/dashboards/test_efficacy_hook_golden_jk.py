"""Golden §J (Kaplan–Meier), §K (exact binomial CIs) and §L (CAR-T kinetics) from the
database to the stored snapshots: the CRFs and imports a site enters → the ``endpoints`` hook →
``EndpointSnapshot`` values equal to CASES.md's tables (issue #13 Requirement 6: "every §A–C and
§J–M case through the services and the hook"; §A–C and §M have their own tests)."""

from __future__ import annotations

import datetime as dt

import pytest

from efficacy import sample_import
from efficacy.models import EndpointSnapshot
from tests.dashboards.endpoints_data import CRI, NR, event, follow_up, infused_subject, response
from tests.efficacy.sample_data import golden_kinetics_csv
from tests.efficacy.sample_data import infused_subject as sampled_subject
from trialsite.records import recompute

pytestmark = pytest.mark.django_db

DAY0 = dt.date(2025, 6, 1)
#: KM-A: (days from infusion, 1 = death / 0 = censored at the last contact).
KM_A = [(30, 1), (45, 0), (60, 1), (60, 1), (90, 0), (120, 1), (150, 0), (180, 1), (240, 0),
        (365, 0)]  # fmt: skip
#: KM-A's table: t, at risk, deaths, S(t), log-log 95 % CI.
KM_A_TABLE = [
    (30, 10, 1, 0.900, 0.473009, 0.985281),
    (60, 8, 2, 0.675, 0.290585, 0.882497),
    (120, 5, 1, 0.540, 0.181165, 0.800713),
    (180, 3, 1, 0.360, 0.062942, 0.685628),
]


def _stored(study, group, endpoint) -> dict:
    return EndpointSnapshot.objects.get(study=study, group=group, endpoint=endpoint).values


def _month(values: dict, month: int) -> dict:
    return next(m for m in values["months"] if m["month"] == month)


def test_km_a_entered_as_deaths_and_last_contacts_gives_the_golden_curve(
    study, site_a, coordinator_a, investigator_a
):
    for days, died in KM_A:
        subject = infused_subject(site_a, coordinator_a, investigator_a, DAY0, 1)
        when = DAY0 + dt.timedelta(days=days)
        if died:
            event(subject, coordinator_a, "death", when)
        else:
            follow_up(subject, coordinator_a, when)
    study.refresh_from_db()
    recompute.hooks()["endpoints"](study, study.data_version)

    os_ = _stored(study, "DL1", "os")
    assert os_["n"] == 10 and os_["n_events"] == 5
    steps = [s for s in os_["steps"] if s["events"]]
    assert [(s["time"], s["at_risk"], s["events"]) for s in steps] == [
        (t, n, e) for t, n, e, *_ in KM_A_TABLE
    ]
    for step, (*_, survival, lower, upper) in zip(steps, KM_A_TABLE, strict=True):
        assert step["survival"] == pytest.approx(survival, abs=5e-7)
        assert (step["ci_lower"], step["ci_upper"]) == (
            pytest.approx(lower, abs=5e-7),
            pytest.approx(upper, abs=5e-7),
        )
    # Median 180 days; Brookmeyer–Crowley with the log-log band: 30 to not reached.
    assert (os_["median"], os_["median_ci_lower"], os_["median_ci_upper"]) == (180, 30, None)
    assert sorted(os_["censor_times"]) == [45, 90, 150, 240, 365]


def test_response_rates_entered_as_marrows_carry_the_exact_clopper_pearson_cis(
    study, site_a, coordinator_a, investigator_a
):
    month1 = DAY0 + dt.timedelta(days=28)
    # DL2: 1 CR in 3 (and no PR, 0/3). DL3: CR, CRi and 4 NR (CRR 2/6, CRiR 1/6).
    for level, marrows in ((2, [{}, NR, NR]), (3, [{}, CRI, NR, NR, NR, NR])):
        for values in marrows:
            subject = infused_subject(site_a, coordinator_a, investigator_a, DAY0, level)
            response(subject, coordinator_a, month1, "M1", **values)
    study.refresh_from_db()
    recompute.hooks()["endpoints"](study, study.data_version)

    def cell(group, name):
        rate = _month(_stored(study, group, "response_rates"), 1)[name]
        return rate["numerator"], rate["denominator"], rate["ci_lower"], rate["ci_upper"]

    golden = {
        (1, 3): (0.008404, 0.905701),
        (0, 3): (0.0, 0.707598),
        (2, 6): (0.043272, 0.777222),
        (1, 6): (0.004211, 0.641235),
    }
    for group, name, k, n in (
        ("DL2", "CRR", 1, 3),
        ("DL2", "PRR", 0, 3),
        ("DL3", "CRR", 2, 6),
        ("DL3", "CRiR", 1, 6),
    ):
        numerator, denominator, lower, upper = cell(group, name)
        assert (numerator, denominator) == (k, n), (group, name)
        assert (lower, upper) == (
            pytest.approx(golden[(k, n)][0], abs=5e-7),
            pytest.approx(golden[(k, n)][1], abs=5e-7),
        ), (group, name)


def test_golden_l_imported_as_samples_reaches_the_kinetics_snapshot(
    study, site_a, coordinator_a, investigator_a
):
    """CASES.md §L: the profile imported through the sample import, then the hook: Cmax 45 000
    at Day 10, AUC0–28d 423 250 (linear trapezoid, the default), Tlast Day 60 / Clast 300."""
    subject = sampled_subject(site_a, coordinator_a, investigator_a)
    plan = sample_import.preview(
        golden_kinetics_csv(subject), kind="kinetics", filename="l.csv", study=study,
        user=coordinator_a,
    )  # fmt: skip
    assert plan.error_count == 0
    sample_import.commit(plan, user=coordinator_a, study=study)
    study.refresh_from_db()
    recompute.hooks()["endpoints"](study, study.data_version)

    analytes = _stored(study, "all", "kinetics")["analytes"]
    (row,) = analytes["qpcr/blood"]["subjects"]
    assert (row["cmax"], row["tmax"], row["auc_0_28"]) == (45_000, 10, pytest.approx(423_250))
    assert (row["tlast"], row["clast"]) == (60, 300)
