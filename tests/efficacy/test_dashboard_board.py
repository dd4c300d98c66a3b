"""The efficacy dashboard's layout of stored endpoints (``efficacy.dashboard.EfficacyBoard``):
the charts and CSV tables carry exactly the stored numbers; nothing is recomputed."""

from __future__ import annotations

import dataclasses

import pytest

from efficacy.dashboard import EfficacyBoard, format_rate, survival_at
from efficacy.endpoints import ALL, compute_endpoints
from tests.efficacy.test_endpoints import L_PROFILE, d, points, subject, visit


def board(subjects, group=ALL) -> EfficacyBoard:
    values = compute_endpoints(subjects, {s.subject_id: "DL1" for s in subjects})
    return EfficacyBoard(
        group=group,
        groups=[ALL, "DL1"],
        values={e: v for (g, e), v in values.items() if g == group},
        data_version=7,
        computed_at=None,
        study_data_version=7,
    )


def with_safety(s, il6, crs, icans):
    return dataclasses.replace(s, peak_il6=il6, max_crs_grade=crs, max_icans_grade=icans)


@pytest.fixture
def subjects():
    out = []
    for i in range(4):
        s = subject(
            i + 1,
            responses=[visit(1, "CR" if i % 2 == 0 else "NR")],
            kinetics_points=points([(day, value / (i + 1)) for day, value in L_PROFILE]),
            death_date=d(60 + 30 * i) if i else None,
            last_known_alive_date=d(200) if i == 0 else d(50 + 30 * i),
        )
        out.append(with_safety(s, [50.0, 800.0, 2500.0, 120.0][i], [1, 2, 3, None][i], None))
    return out


def test_rates_are_written_k_of_n_with_the_exact_ci():
    rate = {"numerator": 2, "denominator": 3, "rate": 2 / 3, "ci_lower": 0.0943, "ci_upper": 0.9916}
    assert format_rate(rate) == "2/3 (66.7 %) [95 % CI 9.4–99.2]"
    empty = {"numerator": 0, "denominator": 0, "rate": None, "ci_lower": None, "ci_upper": None}
    assert format_rate(empty) == "0/0 (not estimable)"


def test_the_km_chart_is_the_stored_step_curve(subjects):
    b = board(subjects)
    os_ = next(s for s in b.survival if s["key"] == "os")
    curve = os_["chart"].spec["data"]["datasets"][0]
    steps = b.values["os"]["steps"]
    assert curve["stepped"] is True and curve["data"][0] == {"x": 0, "y": 1.0}
    assert curve["data"][1 : len(steps) + 1] == [
        {"x": s["time"], "y": s["survival"]} for s in steps
    ]
    assert os_["chart"].spec["options"]["scales"]["x"]["type"] == "linear"
    ticks = os_["chart"].spec["data"]["datasets"][3]["data"]
    assert [t["x"] for t in ticks] == b.values["os"]["censor_times"]
    assert b.table("os")[1:] == [
        [s["time"], s["at_risk"], s["events"], s["survival"], s["ci_lower"], s["ci_upper"]]
        for s in steps
    ]
    assert survival_at(steps, -1) == 1.0 and survival_at(steps, 10_000) == steps[-1]["survival"]


def test_kinetics_on_a_log_axis_with_the_stored_parameters(subjects):
    b = board(subjects)
    (qpcr,) = b.kinetics
    assert qpcr["chart"].spec["options"]["scales"]["y"]["type"] == "logarithmic"
    stored = b.values["kinetics"]["analytes"]["qpcr/blood"]["subjects"]
    assert [r[3] for r in b.table("kinetics")[1:]] == [s["cmax"] for s in stored]
    first = qpcr["chart"].spec["data"]["datasets"][0]["data"]
    assert first == [{"x": p["day"], "y": p["value"]} for p in stored[0]["points"]]


def test_correlations_and_swimmer_rows_are_the_stored_ones(subjects):
    b = board(subjects)
    stored = b.values["correlations"]["il6_vs_crs"]
    row = next(r for r in b.correlation_rows if r["key"] == "il6_vs_crs")
    assert (row["n"], row["rho"], row["p_value"]) == (stored["n"], stored["rho"], stored["p_value"])
    assert ["il6_vs_crs", stored["n"], stored["rho"], stored["p_value"], None] in b.table(
        "correlations"
    )
    swimmer = b.swimmer_chart.spec
    assert swimmer["options"]["indexAxis"] == "y" and swimmer["data"]["labels"] == [
        "S-001",
        "S-002",
        "S-003",
        "S-004",
    ]
    deaths = next(ds for ds in swimmer["data"]["datasets"] if ds["label"] == "Death")
    assert deaths["data"] == [
        {"x": r["death_day"], "y": r["label"]} for r in b.swimmer_rows if r["death_day"]
    ]


def test_an_override_is_shown_beside_the_category_the_rules_computed(subjects):
    overridden = dataclasses.replace(visit(2, "CRi"), computed_category="MLFS", source="overridden")
    first = dataclasses.replace(subjects[0], responses=(visit(1, "CR"), overridden))
    b = board([first, *subjects[1:]])

    assert b.overrides == [
        {
            "label": "S-001",
            "day": overridden.study_day,
            "month": 2,
            "category": "CRi",
            "computed": "MLFS",
            "source": "overridden",
        }
    ]
    row = next(r for r in b.table("swimmer")[1:] if r[0] == "S-001")
    assert "CRi (overridden; computed MLFS)" in row[2]
    assert board(subjects).overrides == []


def test_each_correlation_is_a_scatter_of_the_stored_points_titled_with_its_statistic(subjects):
    b = board(subjects)
    charts = {c["key"]: c for c in b.correlation_charts}
    assert list(charts) == ["il6_vs_crs", "il6_vs_icans", "cmax_vs_crs", "cmax_vs_icans"]
    stored = b.values["correlations"]["il6_vs_crs"]
    spec = charts["il6_vs_crs"]["chart"].spec
    # One dataset per subject, named by its (reader's) label, at exactly the stored point.
    assert [(ds["label"], ds["data"]) for ds in spec["data"]["datasets"]] == [
        (p["label"], [{"x": p["x"], "y": p["y"]}]) for p in stored["points"]
    ]
    assert [ds["type"] for ds in spec["data"]["datasets"]] == ["scatter"] * 4
    assert spec["options"]["scales"]["x"]["type"] == "logarithmic"
    assert "IL-6" in spec["options"]["scales"]["x"]["title"]["text"]
    assert (spec["options"]["scales"]["y"]["min"], spec["options"]["scales"]["y"]["max"]) == (0, 5)
    title = charts["il6_vs_crs"]["chart"].title
    assert title == (
        f"Peak IL-6 vs worst CRS grade: Spearman ρ = {stored['rho']:.2f}, "
        f"p = {stored['p_value']:.3f}, n = {stored['n']}"
    )
    assert charts["il6_vs_crs"]["chart"].csv_url.endswith("/correlation-points.csv?group=all")
    # No ICANS at all: every subject at grade 0, no estimate; said in the title, not invented.
    assert charts["il6_vs_icans"]["chart"].title.endswith("Spearman ρ = –, p = –, n = 4 (constant)")
    cmax_axis = charts["cmax_vs_crs"]["chart"].spec["options"]["scales"]["x"]["title"]["text"]
    assert "qpcr/blood" in cmax_axis and "copies" in cmax_axis


def test_the_correlation_points_csv_is_the_stored_points(subjects):
    b = board(subjects)
    rows = b.table("correlation-points")
    assert rows[0] == ["comparison", "subject", "x", "grade"]
    stored = b.values["correlations"]
    assert rows[1:] == [
        [key, p["label"], p["x"], p["y"]]
        for key in ("il6_vs_crs", "il6_vs_icans", "cmax_vs_crs", "cmax_vs_icans")
        for p in stored[key]["points"]
    ]
    assert len(rows) - 1 == sum(stored[k]["n"] for k in stored if isinstance(stored[k], dict))


def test_a_zero_on_the_log_axis_is_counted_as_not_drawn(subjects):
    subjects[0] = dataclasses.replace(subjects[0], peak_il6=0.0)
    charts = {c["key"]: c for c in board(subjects).correlation_charts}
    assert charts["il6_vs_crs"]["not_drawn"] == 1 and charts["cmax_vs_crs"]["not_drawn"] == 0
