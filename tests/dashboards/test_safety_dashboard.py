"""The safety dashboard (issue 11, Requirement 5): every cell equals the rules applied to the
entered data (tests/dashboards/safety_data.py says what was entered and why each number is what
it is), its charts and CSVs carry the same numbers, each reader sees what their role allows, and
the page costs a fixed number of queries at 1 and at n subjects."""

from __future__ import annotations

import csv
import io
import json
import re

import pytest
from django.urls import reverse

from safety.selectors_dashboard import safety_summary
from tests.dashboards.safety_data import safety_world
from tests.dosing_data import treated_subject
from tests.safety.sae_data import serious_event
from trialsite import clock

pytestmark = pytest.mark.django_db
URL = "/dashboards/safety/"


def csv_rows(response) -> list[list[str]]:
    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/csv")
    text = b"".join(response.streaming_content).decode("utf-8-sig")
    return list(csv.reader(io.StringIO(text)))


def spec(html: str, chart_id: str) -> dict:
    found = re.search(rf'<script id="{chart_id}-spec" type="application/json">(.*?)</script>', html)
    assert found, f"no chart {chart_id}"
    return json.loads(found.group(1))


def cells(board, term: str) -> dict:
    """{column: (G1..G5)} of one AE row (a SOC row when ``term`` is a SOC)."""
    for row in board.ae_rows:
        if row["term"] == term or (row["is_soc"] and row["soc"] == term):
            return {c: cell.by_grade for c, cell in zip(board.columns, row["cells"], strict=True)}
    raise AssertionError(f"no row {term}")


def test_the_investigator_reads_every_table_per_dose_level(
    client, study, site_a, coordinator_a, investigator_a
):
    world = safety_world(site_a, coordinator_a, investigator_a)
    client.force_login(investigator_a)
    with clock.freeze(world["today"]):
        page = client.get(URL)
    assert page.status_code == 200
    board = page.context["board"]
    html = page.content.decode()

    assert board.headers == [("DL1", 2), ("DL2", 1), ("All", 3)]
    # AEs by SOC and term x the subject's worst grade (from Day 0).
    assert cells(board, "Nausea") == {
        "DL1": (1, 0, 1, 0, 0),  # subject 1 grade 1; subject 2 worst 3 (two events, one row)
        "DL2": (0, 0, 0, 0, 0),
        "All": (1, 0, 1, 0, 0),
    }
    assert cells(board, "Gastrointestinal disorders") == cells(board, "Nausea")
    assert cells(board, "Cytokine release syndrome") == {
        "DL1": (0, 1, 0, 0, 0),
        "DL2": (1, 0, 0, 0, 0),
        "All": (1, 1, 0, 0, 0),
    }
    assert cells(board, "Alanine aminotransferase increased")["DL2"] == (0, 0, 0, 1, 0)
    assert cells(board, "Febrile neutropenia")["All"] == (0, 0, 1, 0, 0)
    nausea = next(r for r in board.ae_rows if r["term"] == "Nausea")
    assert [(c.any, c.any_count.pct) for c in nausea["cells"]] == [(2, 100.0), (0, 0.0), (2, 66.7)]
    socs = [r["soc"] for r in board.ae_rows if r["is_soc"]]
    assert socs == sorted(socs) and "Investigations" in socs
    assert 'data-term="Nausea"' in html and "2 (66.7%)" in html

    # CRS and ICANS from the episodes.
    crs = dict(zip(board.columns, board.crs, strict=True))
    assert [str(crs[c].incidence) for c in board.columns] == [
        "1/2 (50.0%)",
        "1/1 (100.0%)",
        "2/3 (66.7%)",
    ]
    assert crs["DL1"].max_grade.by_grade == (0, 1, 0, 0, 0)
    assert (str(crs["All"].onset), str(crs["All"].duration)) == ("1.5 (1–2)", "2 (2–2)")
    assert crs["All"].ongoing == 0
    icans = dict(zip(board.columns, board.icans, strict=True))
    assert str(icans["DL1"].incidence) == "0/2 (0.0%)"
    assert (str(icans["DL2"].onset), str(icans["DL2"].duration)) == ("3 (3–3)", "1 (1–1)")
    assert str(icans["DL1"].onset) == "—"

    # Tocilizumab and corticosteroids from the daily assessments.
    treatments = {r["label"]: r["cells"] for r in board.treatments}
    assert [(str(c.subjects), c.doses) for c in treatments["Tocilizumab"]] == [
        ("1/2 (50.0%)", 1),
        ("0/1 (0.0%)", 0),
        ("1/3 (33.3%)", 1),
    ]
    # One dexamethasone dose on Day 3, on both the CRS and the ICANS form: one dose.
    assert [(c.subjects.n, c.doses) for c in treatments["Corticosteroids"]] == [
        (0, 0),
        (1, 1),
        (1, 1),
    ]

    # Cytopenias from the graded labs; count recovery from the DLT evaluations.
    cytopenias = {r["term"]: r["cells"] for r in board.cytopenias}
    assert [c.grade_4_plus.n for c in cytopenias["Neutrophil count decreased"]] == [1, 0, 1]
    assert [str(c.grade_3_plus) for c in cytopenias["Platelet count decreased"]] == [
        "1/2 (50.0%)",
        "0/1 (0.0%)",
        "1/3 (33.3%)",
    ]
    assert [c.grade_3_plus.n for c in cytopenias["Anemia"]] == [0, 0, 0]
    recovery = {r["status"]: r["cells"] for r in board.recovery}
    assert recovery["pending"] == [2, 1, 3]  # Day 10: the recovery day (28) is not reached

    # DLT windows, candidates, SAEs.
    windows = {w["subject_id"]: w for w in board.open_windows}
    dl1 = {world["dl1_a"].pk, world["dl1_b"].pk}
    assert dl1 <= set(windows)
    assert {windows[s]["days_left"] for s in dl1} == {18}  # closes on Day 28, today Day 10
    [candidate] = board.candidates
    assert (candidate["subject_id"], candidate["grade"], candidate["day"]) == (
        world["dl2"].pk,
        4,
        6,
    )
    assert candidate["url"] == reverse("safety:dlt-evaluation", args=[world["dl2"].pk])
    assert reverse("safety:dlt-candidates") in html
    [sae] = board.saes
    assert sae["overdue"] and sae["group"] == "DL2"
    assert [s.status for s in sae["clocks"]][0] == "overdue"
    assert 'class="sae-clock-overdue"' in html
    assert reverse("safety:sae-report", args=[world["sae"].sae_report.pk]) in html
    assert world["dl2"].subject_number in html


def test_the_charts_and_csvs_carry_the_tables_numbers(
    client, study, site_a, coordinator_a, investigator_a
):
    world = safety_world(site_a, coordinator_a, investigator_a)
    client.force_login(investigator_a)
    with clock.freeze(world["today"]):
        html = client.get(URL).content.decode()
        grades = csv_rows(client.get(reverse("dashboards:safety-grades-csv")))
        swimmer = csv_rows(client.get(reverse("dashboards:safety-swimmer-csv")))
        table = csv_rows(client.get(reverse("dashboards:safety-ae-csv")))

    chart = spec(html, "crs-icans-grades")
    assert chart["data"]["labels"] == ["CRS DL1", "CRS DL2", "ICANS DL1", "ICANS DL2"]
    data = {d["label"]: d["data"] for d in chart["data"]["datasets"]}
    assert data["Grade 1"] == [0, 1, 0, 1] and data["Grade 2"] == [1, 0, 0, 0]
    assert data["Grade 3"] == [0, 0, 0, 0]
    assert chart["options"]["scales"]["x"]["stacked"] is True
    assert grades[0][0] == "Syndrome and dose level"
    assert grades[1][:3] == ["CRS DL1", "0", "1"]
    assert reverse("dashboards:safety-grades-csv") in html

    plot = spec(html, "ae-swimmer")
    assert plot["options"]["indexAxis"] == "y"
    labels = [world[k].subject_number for k in ("dl1_a", "dl1_b", "dl2")]
    assert plot["data"]["labels"] == labels
    grade_3 = next(d for d in plot["data"]["datasets"] if d["label"] == "Grade 3")
    # Subject 2's nausea: onset Day 2, resolved Day 6 (bar drawn through Day 6); the SAE Day 5
    # to today (Day 10), ongoing.
    assert {"x": [2, 7], "y": labels[1]} in grade_3["data"]
    assert {"x": [5, 11], "y": labels[2]} in grade_3["data"]
    assert swimmer[0] == [
        "subject",
        "dose_level",
        "term",
        "worst_grade",
        "onset_day",
        "end_day",
        "ongoing",
    ]
    assert [labels[1], "DL1", "Nausea", "3", "2", "6", "no"] in swimmer
    assert [labels[2], "DL2", "Febrile neutropenia", "3", "5", "10", "yes"] in swimmer

    by_key = {(r[1] or r[0], r[2]): r for r in table[1:]}
    assert by_key[("Nausea", "DL1")][3:] == ["2", "1", "0", "1", "0", "0", "2", "100.0"]
    assert by_key[("Nausea", "All")][9:] == ["2", "66.7"]


def test_each_reader_sees_what_their_role_allows(
    client, study, site_a, coordinator_a, investigator_a, sponsor, monitor, coordinator_b
):
    world = safety_world(site_a, coordinator_a, investigator_a)
    numbers = [world[k].subject_number for k in ("dl1_a", "dl1_b", "dl2")]
    seen = {}
    for name, user in (("sponsor", sponsor), ("monitor", monitor), ("site B", coordinator_b)):
        client.force_login(user)
        with clock.freeze(world["today"]):
            page = client.get(URL)
        assert page.status_code == 200, name
        seen[name] = (page.context["board"], page.content.decode())
        assert "<form" not in seen[name][1].split('id="ae-table"')[1], name  # read-only

    board, html = seen["sponsor"]
    assert not any(n in html for n in numbers)
    assert board.swimmer_rows == ["Subject 1", "Subject 2", "Subject 3"]
    assert "/safety/subjects/" not in html and "/safety/sae/" not in html
    assert world["day0"].isoformat() not in html  # study days only
    assert cells(board, "Nausea")["DL1"] == (1, 0, 1, 0, 0)  # the same counts

    board, html = seen["monitor"]
    assert all(n in html for n in numbers)
    assert reverse("safety:dlt-evaluation", args=[world["dl2"].pk]) in html

    board, html = seen["site B"]
    assert not any(n in html for n in numbers)
    sae_url = reverse("safety:sae-report", args=[world["sae"].sae_report.pk])
    assert "/safety/subjects/" not in html and sae_url not in html
    assert [c["label"] for c in board.candidates] == ["Subject 3"]
    assert cells(board, "Cytokine release syndrome")["All"] == (1, 1, 0, 0, 0)
    for link in (reverse("safety:dlt-candidates"), reverse("safety:sae-list")):
        assert link in html
        assert client.get(link).status_code == 200


def test_the_page_costs_the_same_queries_at_1_and_at_n_subjects(
    client, study, site_a, coordinator_a, investigator_a, django_assert_num_queries
):
    subject, day0 = treated_subject(site_a, coordinator_a, investigator_a, number=1)
    with clock.freeze(day0):
        serious_event(subject, coordinator_a)  # one SAE: its clocks are the prefetch's query
    client.force_login(investigator_a)
    client.get(URL)  # the session is read once
    with clock.freeze(day0), django_assert_num_queries(QUERIES):
        assert client.get(URL).context["board"].headers == [("DL1", 1), ("All", 1)]
    with django_assert_num_queries(SUMMARY_QUERIES):
        safety_summary(study, {subject.pk: "DL1"}, ["DL1"])
    world = safety_world(site_a, coordinator_a, investigator_a)
    with clock.freeze(world["today"]), django_assert_num_queries(QUERIES):
        board = client.get(URL).context["board"]
    assert board.headers[-1] == ("All", 4)
    assert len(board.saes) == 2 and len(board.ae_rows) > 5
    groups = dict.fromkeys(board.summary.group_of, "DL1")
    with django_assert_num_queries(SUMMARY_QUERIES):
        assert safety_summary(study, groups, ["DL1"]).denominators["All"] == 4


#: Session and user, the user's memberships, the study's settings, the navigation's checks, the
#: dose levels (1) and the safety summary (10: subjects, AEs, CRS and ICANS episodes and days,
#: graded counts, DLT evaluations, SAE reports and their clocks).
QUERIES = 19
SUMMARY_QUERIES = 10
