"""The escalation design page: the configured design and its operating characteristics (issue 12).

Through the page, the service (``dosing.design``) and the task (``dosing.design_tasks``, eager
here as in ``make run``). The engine's own cross-checks (path counts, Storer's formulas, the
reductions, simulation vs enumeration on a 4-level ATD design) are in
test_operating_characteristics.py; these tests check what a user of the page sees: the design
exactly as the study settings configure it, the hand-checkable 3-level 3+3 cases (all
probabilities 0: the top level is selected with probability 1; all 1: no MTD), a simulation run
with its progress that agrees with the exact table within Monte-Carlo error, the CSV, and field
errors (never a 500) for anything typed.
"""

from __future__ import annotations

import csv
import io

import pytest
from django.core.cache import cache
from django.urls import reverse
from hypothesis import given, settings
from hypothesis import strategies as st

from dosing import design, design_tasks
from dosing.design_forms import OperatingCharacteristicsForm
from dosing.rules import EscalationDesign, operating_characteristics
from tests.factories import MembershipFactory, StudyFactory, UserFactory
from tests.fuzz_values import texts

pytestmark = pytest.mark.django_db

THREE_LEVELS = [
    {"level": 1, "label": "DL1", "dose_cells_per_kg": 0.5e6},
    {"level": 2, "label": "DL2", "dose_cells_per_kg": 1.0e6},
    {"level": 3, "label": "DL3", "dose_cells_per_kg": 3.0e6},
]
PLAIN_3_LEVELS = {"dose_levels": THREE_LEVELS, "dosing": {"atd_levels": 0}}
URL = "/design/"


def member(study, role="investigator"):
    user = UserFactory()
    MembershipFactory(user=user, study=study, site=None, role=role)
    return user


@pytest.fixture
def plain_study(db):
    return StudyFactory(settings_document=PLAIN_3_LEVELS)


@pytest.fixture
def logged_in(client, plain_study):
    client.force_login(member(plain_study))
    return client


def post(p, method="exact", **extra):
    data = {f"p_dlt_{level}": str(value) for level, value in enumerate(p, start=1)}
    return {"method": method, "n_trials": "10000", "seed": "0", **data, **extra}


def cells(response, level: str, column: str) -> str:
    """The text of one results cell (the table's rows carry data-level, cells data-col)."""
    html = response.content.decode()
    row = html.split(f'data-level="{level}"', 1)[1].split("</tr>", 1)[0]
    return row.split(f'data-col="{column}">', 1)[1].split("<", 1)[0].strip()


# --- The configured design ---------------------------------------------------------------------


def test_it_shows_the_design_every_value_from_the_study_settings(client):
    study = StudyFactory(
        settings_document={
            "dose_levels": THREE_LEVELS,
            "dosing": {"atd_levels": 2, "sentinel_days": 7, "mtd_max_dlt_of_6": 2},
        }
    )
    client.force_login(member(study, "monitor"))
    response = client.get(URL)
    assert response.status_code == 200
    sd = response.context["sd"]
    assert [(lv.label, lv.dose_cells_per_kg, lv.atd) for lv in sd.levels] == [
        ("DL1", 0.5e6, True),
        ("DL2", 1.0e6, True),
        ("DL3", 3.0e6, False),
    ]
    assert sd.design == EscalationDesign(
        num_levels=3, atd_levels=2, sentinel_days=7, mtd_max_dlt_of_6=2
    )
    html = response.content.decode()
    assert "3 × 10⁶" in html and "0.5 × 10⁶" in html
    summary = html.split('data-testid="design-summary"', 1)[1].split("</ul>", 1)[0]
    assert "Accelerated titration at DL1–DL2" in summary
    assert "at most 2 DLT(s) in 6" in summary
    assert "observed 7 day(s)" in summary
    settings_table = html.split('data-testid="design-settings"', 1)[1].split("</table>", 1)[0]
    for name in ("atd_levels", "atd_trigger", "sentinel_days", "six_at_top", "cohort_size"):
        assert f'data-setting="{name}"' in settings_table
    assert settings_table.count('data-setting="') == len(sd.settings) == 11
    assert "dlt_or_related_grade2" in settings_table
    # Grade-2 probabilities are asked at the ATD levels only.
    assert set(response.context["form"].fields) >= {"p_dlt_3", "p_grade2_1", "p_grade2_2"}
    assert "p_grade2_3" not in response.context["form"].fields


def test_a_settings_change_is_on_the_page_at_once(client, plain_study):
    from trialsite.studies import services

    admin = member(plain_study, "admin")
    client.force_login(admin)
    assert client.get(URL).context["sd"].design.sentinel_days == 0
    services.update_study_settings(
        plain_study,
        actor=admin,
        document={**plain_study.settings, "dosing": {"atd_levels": 1, "sentinel_days": 14}},
        expected_version=plain_study.settings_version,
        reason="protocol amendment 2",
    )
    sd = client.get(URL).context["sd"]
    assert (sd.design.atd_levels, sd.design.sentinel_days, sd.settings_version) == (1, 14, 2)


@pytest.mark.parametrize(
    ("role", "link"),
    [
        ("admin", "Change the design in the study settings"),
        ("data_manager", "See the study settings"),
        ("investigator", None),
        ("sponsor", None),
    ],
)
def test_the_settings_link_is_shown_to_those_it_opens_for(client, plain_study, role, link):
    client.force_login(member(plain_study, role))
    html = client.get(URL).content.decode()
    if link:
        assert link in html
        assert client.get(reverse("study-settings")).status_code == 200
    else:
        assert 'data-testid="settings-link"' not in html


def test_every_role_finds_the_page_in_the_menu(client, plain_study):
    for role in ("coordinator", "investigator", "monitor", "data_manager", "sponsor", "admin"):
        client.force_login(member(plain_study, role))
        assert f'href="{URL}"' in client.get("/").content.decode(), role


def test_the_page_reads_no_subject_data_and_a_fixed_number_of_queries(
    client, plain_study, django_assert_num_queries
):
    client.force_login(member(plain_study))
    client.get(URL)  # the session and the current study are warm
    # Only what every page of the platform costs (session, user, the current study and the
    # studies to switch to, memberships, the session save); the design is the study's
    # settings, read from the study row the middleware loaded, and no subject is read.
    with django_assert_num_queries(8):
        assert client.get(URL).status_code == 200


# --- Exact operating characteristics on the page -----------------------------------------------


def test_with_no_dlt_anywhere_the_top_level_is_selected_with_probability_1(logged_in):
    """3 levels, plain Korn 3+3, p = 0: 0/3 at DL1, DL2, DL3, then 3 more at the top: DL3."""
    response = logged_in.post(URL, post([0, 0, 0]))
    assert response.status_code == 200
    table = response.context["table"]
    assert [r.p_select for r in table.rows] == [0, 0, 1]
    assert table.no_mtd.p_select == 0
    assert [r.subjects for r in table.rows] == [3, 3, 6]
    assert [r.dlts for r in table.rows] == [0, 0, 0]
    assert table.total_subjects == 12
    assert table.paths == 1 and table.method == "exact"
    assert cells(response, "DL3", "p-select") == "1.0000"
    assert cells(response, "none", "p-select") == "0.0000"
    assert cells(response, "total", "subjects") == "12.000"


def test_with_a_dlt_in_every_subject_there_is_no_mtd(logged_in):
    """p = 1: 3/3 DLTs at DL1 exceed the MTD at the lowest level: stop, 3 subjects, 3 DLTs."""
    response = logged_in.post(URL, post([1, 1, 1]))
    table = response.context["table"]
    assert table.no_mtd.p_select == 1
    assert [r.p_select for r in table.rows] == [0, 0, 0]
    assert [r.subjects for r in table.rows] == [3, 0, 0]
    assert [r.dlts for r in table.rows] == [3, 0, 0]
    assert cells(response, "none", "p-select") == "1.0000"


def test_the_exact_table_is_the_engines_answer_for_the_study_design(logged_in):
    p = [0.05, 0.2, 0.4]
    table = logged_in.post(URL, post(p)).context["table"]
    expected = operating_characteristics(EscalationDesign(num_levels=3), p)
    assert {r.label: r.p_select for r in table.rows} == {
        f"DL{level}": expected.p_select[level] for level in (1, 2, 3)
    }
    assert sum(r.p_select for r in table.rows) + table.no_mtd.p_select == pytest.approx(1)
    assert table.total_subjects == pytest.approx(expected.expected_total_subjects)


def test_the_chart_draws_p_selected_per_level_from_the_servers_numbers(logged_in):
    response = logged_in.post(URL, post([0, 0, 0]))
    spec = response.context["chart"].spec
    assert spec["data"]["labels"] == ["DL1", "DL2", "DL3", "No MTD (stopped)"]
    assert spec["data"]["datasets"][0]["data"] == [0, 0, 1, 0]
    html = response.content.decode()
    assert 'data-chart="oc-p-select-spec"' in html
    assert "vendor/chartjs-4.6.1/chart.umd.min.js" in html


def test_the_csv_download_is_the_table(logged_in):
    response = logged_in.post(URL, post([0, 0.5, 1]))
    csv_url = response.context["csv_url"]
    download = logged_in.get(csv_url)
    assert download.status_code == 200
    assert download["Content-Disposition"].startswith("attachment;")
    rows = list(csv.reader(io.StringIO(b"".join(download.streaming_content).decode("utf-8-sig"))))
    assert rows[0][:5] == [
        "dose_level",
        "cells_per_kg",
        "true_p_dlt",
        "p_related_grade2",
        "p_selected_as_mtd",
    ]
    table = response.context["table"]
    by_level = {row[0]: row for row in rows[1:]}
    for r in table.rows:
        assert float(by_level[r.label][4]) == pytest.approx(r.p_select)
        assert float(by_level[r.label][6]) == pytest.approx(r.subjects)
    assert float(by_level["No MTD (stopped)"][4]) == pytest.approx(table.no_mtd.p_select)
    assert float(by_level["total"][6]) == pytest.approx(table.total_subjects)
    assert rows[-1][0].startswith("# method: exact")


def test_a_csv_link_with_bad_values_is_refused_with_the_reason_not_a_500(logged_in):
    response = logged_in.get(reverse("design:exact-csv"), {"p_dlt_1": "2", "p_dlt_2": "x"})
    assert response.status_code == 400
    text = response.content.decode()
    assert "p_dlt_1" in text and "p_dlt_2" in text and "p_dlt_3" in text


# --- Simulation as a run with progress ---------------------------------------------------------


def test_a_simulation_agrees_with_the_exact_table_within_monte_carlo_error(logged_in):
    p = [0.1, 0.25, 0.45]
    exact = logged_in.post(URL, post(p)).context["table"]
    response = logged_in.post(URL, post(p, method="simulation", n_trials="4000", seed="11"))
    assert response.status_code == 302
    page = logged_in.get(response["Location"])
    sim = page.context["table"]
    assert (sim.method, sim.n_trials, sim.seed) == ("simulation", 4000, 11)
    for e, s in zip((*exact.rows, exact.no_mtd), (*sim.rows, sim.no_mtd), strict=True):
        assert abs(s.p_select - e.p_select) <= 3 * s.p_select_se + 1e-12, e.label
    for e, s in zip(exact.rows, sim.rows, strict=True):
        assert abs(s.subjects - e.subjects) <= 3 * s.subjects_se + 1e-12, e.label
        assert abs(s.dlts - e.dlts) <= 3 * s.dlts_se + 1e-12, e.label
    assert abs(sim.total_subjects - exact.total_subjects) <= 3 * sim.total_subjects_se
    assert 0 < sim.total_subjects_se < 0.1
    html = page.content.decode()
    assert "Simulation: 4000 trials, seed 11" in html
    assert cells(page, "DL1", "p-select").count(".") == 1  # the estimate, then its SE in brackets
    assert "(" in html.split('data-level="DL1"', 1)[1].split("</tr>", 1)[0]


def test_the_run_reports_its_progress_and_finishes(logged_in, plain_study):
    sd = design.study_design(plain_study)
    inputs = design.Inputs(p_dlt=(0.1, 0.2, 0.3), p_grade2=(0, 0, 0), method="simulation",
                           n_trials=500, seed=3)  # fmt: skip
    job_id = design.create_run(sd, actor=UserFactory(), inputs=inputs)
    progress_url = reverse("design:run-progress", args=[job_id])
    waiting = logged_in.get(reverse("design:run", args=[job_id]))
    assert f'data-run-progress-url="{progress_url}"' in waiting.content.decode()
    assert logged_in.get(progress_url).json() == {
        "status": "queued",
        "done": 0,
        "total": 500,
        "message": "Waiting for the worker…",
    }

    summary = design_tasks.run_design_job.delay(job_id).get()
    assert summary["status"] == "done"
    assert logged_in.get(progress_url).json() == {
        "status": "done",
        "done": 500,
        "total": 500,
        "message": "Finished.",
    }
    page = logged_in.get(reverse("design:run", args=[job_id])).content.decode()
    assert "data-run-progress-url" not in page  # nothing left to poll
    assert 'max="500" value="500"' in page
    # Running it again (a redelivered task) changes nothing.
    assert design_tasks.run_design_job.delay(job_id).get() == {"id": job_id, "status": "done"}
    rows = b"".join(logged_in.get(reverse("design:run-csv", args=[job_id])).streaming_content)
    assert "simulation (500 trials, seed 3)" in rows.decode("utf-8-sig")


def test_the_engine_reports_simulation_progress_without_changing_the_result():
    seen = []
    d = EscalationDesign(num_levels=3)
    with_progress = operating_characteristics(
        d, [0.1, 0.2, 0.3], method="simulation", n_trials=250, seed=5,
        progress=lambda done, total: seen.append((done, total)),
    )  # fmt: skip
    without = operating_characteristics(d, [0.1, 0.2, 0.3], method="simulation", n_trials=250,
                                        seed=5)  # fmt: skip
    assert with_progress == without
    assert seen[-1] == (250, 250)
    assert [done for done, _ in seen] == sorted({done for done, _ in seen})
    assert len(seen) == 125  # every second trial (1% of 250, at least 1) and the last


def test_a_large_design_runs_its_exact_enumeration_as_a_run(client):
    """5 levels with 2 ATD levels: several seconds exactly, so a run with a progress page."""
    levels = [{"level": n, "label": f"DL{n}", "dose_cells_per_kg": n * 1e6} for n in range(1, 6)]
    study = StudyFactory(settings_document={"dose_levels": levels, "dosing": {"atd_levels": 2}})
    client.force_login(member(study))
    assert not client.get(URL).context["sd"].exact_on_page
    response = client.post(URL, post([1, 1, 1, 1, 1]))
    assert response.status_code == 302
    page = client.get(response["Location"])
    table = page.context["table"]
    assert table.method == "exact" and table.no_mtd.p_select == 1
    assert [r.subjects for r in table.rows] == [3, 0, 0, 0, 0]  # the ATD DLT, then 2 more
    assert "Exact: " in page.content.decode()


def test_a_small_design_is_computed_on_the_page(client, plain_study):
    assert design.study_design(plain_study).exact_on_page  # 3 levels, no ATD


def test_a_run_belongs_to_its_study(client, plain_study):
    other = StudyFactory(settings_document=PLAIN_3_LEVELS)
    inputs = design.Inputs(p_dlt=(0, 0, 0), p_grade2=(0, 0, 0), method="simulation", n_trials=100)
    job_id = design.create_run(design.study_design(other), actor=UserFactory(), inputs=inputs)
    design.run(job_id)
    client.force_login(member(plain_study))
    for name in ("design:run", "design:run-progress", "design:run-csv"):
        assert client.get(reverse(name, args=[job_id])).status_code == 404, name
    assert client.get("/design/runs/00000000000000000000000000000000/").status_code == 404


def test_an_expired_run_is_not_found_and_its_task_does_nothing(logged_in, plain_study):
    inputs = design.Inputs(p_dlt=(0, 0, 0), p_grade2=(0, 0, 0), method="simulation", n_trials=100)
    job_id = design.create_run(design.study_design(plain_study), actor=UserFactory(), inputs=inputs)
    cache.delete(f"dosing:design-run:{job_id}")
    assert design.run(job_id) == {"id": job_id, "status": "missing"}
    assert logged_in.get(reverse("design:run", args=[job_id])).status_code == 404


def test_a_design_with_dl_minus_1_says_why_there_are_no_operating_characteristics(client):
    study = StudyFactory(
        settings_document={"dose_levels": THREE_LEVELS, "dosing": {"dose_level_minus1": True}}
    )
    client.force_login(member(study))
    for response in (client.get(URL), client.post(URL, post([0.1, 0.2, 0.3]))):
        assert response.status_code == 200
        assert "pre-specified DL-1" in response.content.decode()
        assert response.context["table"] is None


# --- Bad input -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("changes", "field", "code"),
    [
        ({"p_dlt_2": "abc"}, "p_dlt_2", "invalid"),
        ({"p_dlt_2": "NaN"}, "p_dlt_2", "invalid"),
        ({"p_dlt_2": "1e999"}, "p_dlt_2", "max_value"),
        ({"p_dlt_2": "1.01"}, "p_dlt_2", "max_value"),
        ({"p_dlt_2": "-0.1"}, "p_dlt_2", "min_value"),
        ({"p_dlt_2": ""}, "p_dlt_2", "required"),
        ({"p_dlt_2": "25%"}, "p_dlt_2", "invalid"),
        ({"method": "bayes"}, "method", "invalid_choice"),
        ({"method": "simulation", "n_trials": "10"}, "n_trials", "min_value"),
        ({"method": "simulation", "n_trials": "1000000"}, "n_trials", "max_value"),
        ({"method": "simulation", "n_trials": "1.5"}, "n_trials", "invalid"),
        ({"method": "simulation", "n_trials": ""}, "n_trials", "required"),
        ({"method": "simulation", "seed": "-1"}, "seed", "min_value"),
        ({"method": "simulation", "seed": ""}, "seed", "required"),
        ({"method": "simulation", "seed": str(2**32)}, "seed", "max_value"),
    ],
)
def test_bad_values_get_a_field_error_with_its_code(logged_in, plain_study, changes, field, code):
    data = {**post([0.1, 0.2, 0.3]), **changes}
    form = OperatingCharacteristicsForm(design.study_design(plain_study), data)
    assert not form.is_valid()
    assert [e.code for e in form.errors.as_data()[field]] == [code]
    response = logged_in.post(URL, data)
    assert response.status_code == 400
    assert response.context["table"] is None
    html = response.content.decode()
    assert 'data-testid="error-summary"' in html
    assert f'id="id_{field}_error"' in html or field == "method"


def test_a_probability_typed_wrong_is_shown_back_beside_its_error(logged_in):
    html = logged_in.post(URL, post([0.1, "0,2", 0.3])).content.decode()
    assert 'value="0,2"' in html
    assert 'aria-describedby="id_p_dlt_2_error"' in html


FUZZ = settings(max_examples=40, deadline=None, database=None)
FIELDS = ["p_dlt_1", "p_dlt_2", "p_dlt_3", "p_grade2_1", "method", "n_trials", "seed"]


def test_no_text_typed_into_the_form_gives_a_server_error(client):
    """Hypothesis types any text into one to three fields (ATD design: grade-2 fields too)."""
    study = StudyFactory(
        settings_document={"dose_levels": THREE_LEVELS, "dosing": {"atd_levels": 1}}
    )
    client.force_login(member(study))
    valid = {**post([0.1, 0.2, 0.3]), "p_grade2_1": "0.3"}

    @FUZZ
    @given(
        changes=st.lists(st.sampled_from(FIELDS), min_size=1, max_size=3, unique=True).flatmap(
            lambda chosen: st.fixed_dictionaries(dict.fromkeys(chosen, texts))
        )
    )
    def typed(changes):
        response = client.post(URL, {**valid, **changes})
        assert response.status_code in (200, 302, 400), response.status_code
        if response.status_code == 400:
            assert response.context["form"].errors

    typed()


@FUZZ
@given(p=st.lists(st.floats(0, 1), min_size=3, max_size=3))
def test_any_probabilities_give_a_table_that_sums_to_1(p):
    """Any valid input reaches the engine and the table's probabilities add up."""
    study = StudyFactory.build(settings=PLAIN_3_LEVELS | {"dosing": {"atd_levels": 0}})
    study.pk, study.settings_version = 1, 1
    sd = design.study_design(study)
    form = OperatingCharacteristicsForm(sd, post([repr(x) for x in p]))
    assert form.is_valid(), form.errors
    table = design.exact_table(sd, form.inputs())
    assert sum(r.p_select for r in table.rows) + table.no_mtd.p_select == pytest.approx(1)


def test_a_grade_2_probability_at_an_atd_level_changes_the_table_and_is_shown(client):
    """ATD at DL1: a related grade 2 there triggers the 3+3 at DL1 (RULES.md §4.2)."""
    study = StudyFactory(
        settings_document={"dose_levels": THREE_LEVELS, "dosing": {"atd_levels": 1}}
    )
    client.force_login(member(study))
    without = client.post(URL, post([0, 0, 0])).context["table"]
    response = client.post(URL, {**post([0, 0, 0]), "p_grade2_1": "1"})
    table = response.context["table"]
    assert [r.subjects for r in without.rows] == [1, 3, 6]
    assert [r.subjects for r in table.rows] == [3, 3, 6]  # the trigger expands DL1 to 3
    assert table.has_grade2 and not without.has_grade2
    assert "P(related grade 2)" in response.content.decode()
