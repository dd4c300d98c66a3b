"""The escalation design page in a real browser (issue 12: "The statistician opens the design
page").

The demo study's design: 4 levels, DL1-DL2 in accelerated titration. A user types the true DLT
probabilities and sees the exact table and its chart; runs a small simulation and sees the
progress bar finish and the results; and, for a run the worker has not finished yet, watches
the page poll its progress (static/js/design.js) and show the results when it ends.
"""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import Page, expect

from dosing import design
from tests.e2e.conftest import log_in

pytestmark = pytest.mark.django_db(transaction=True)

PROBABILITIES = {"DL1": "0.05", "DL2": "0.1", "DL3": "0.25", "DL4": "0.4"}


def type_probabilities(page: Page) -> None:
    for level, value in PROBABILITIES.items():
        page.get_by_label(f"{level}: true probability of a DLT").fill(value)
    page.get_by_label("DL2: probability of a related grade 2 toxicity without DLT").fill("0.3")


def test_the_user_types_probabilities_and_sees_the_exact_table(live_server, page: Page, demo_team):
    base = live_server.url
    log_in(page, base, "investigator")
    page.get_by_role("link", name="Escalation design").click()
    expect(page.get_by_role("heading", name="Escalation design")).to_be_visible()
    expect(page.get_by_test_id("design-summary")).to_contain_text(
        "Accelerated titration at DL1–DL2"
    )
    expect(page.get_by_test_id("design-settings")).to_contain_text("sentinel_days")

    type_probabilities(page)
    page.get_by_label("DL3: true probability of a DLT").fill("one half")
    page.get_by_role("button", name="Compute").click()
    expect(page.get_by_test_id("error-summary")).to_be_visible()
    expect(page.get_by_label("DL3: true probability of a DLT")).to_have_value("one half")

    page.get_by_label("DL3: true probability of a DLT").fill("0.25")
    page.get_by_role("button", name="Compute").click()
    table = page.get_by_test_id("oc-table")
    expect(table).to_be_visible()
    expect(page.get_by_test_id("oc-method")).to_contain_text("Exact:")
    expect(table.locator("tr[data-level='DL2']")).to_contain_text("0.3")  # its grade-2 chance
    expect(table.locator("tr[data-level='DL4'] td[data-col='p-select']")).to_have_text(
        re.compile(r"^0\.\d{4}$")
    )
    expect(table.locator("tr[data-level='none']")).to_contain_text("No MTD")
    expect(page.locator("canvas[data-chart='oc-p-select-spec']")).to_have_attribute(
        "data-drawn", "true"
    )
    with page.expect_download() as download:
        page.get_by_test_id("oc-csv").click()
    assert download.value.suggested_filename.endswith(".csv")


def test_a_small_simulation_shows_its_progress_bar_finish_and_the_results(
    live_server, page: Page, demo_team
):
    base = live_server.url
    log_in(page, base, "datamanager")
    page.goto(f"{base}/design/")
    type_probabilities(page)
    page.get_by_label("Simulation: seeded random trials").check()
    page.get_by_label("Simulated trials").fill("500")
    expect(page.get_by_label("Seed", exact=True)).to_have_value("0")
    page.get_by_role("button", name="Compute").click()

    bar = page.get_by_test_id("run-progress-bar")
    expect(bar).to_have_attribute("value", "500")
    expect(bar).to_have_attribute("max", "500")
    expect(page.get_by_test_id("run-status")).to_have_text("Finished.")
    expect(page.get_by_test_id("oc-method")).to_contain_text("Simulation: 500 trials, seed 0")
    expect(page.get_by_test_id("oc-table").locator("tr[data-level='DL1']")).to_contain_text("(")


def test_the_page_follows_a_running_simulation_until_it_finishes(
    live_server, page: Page, demo_team
):
    study, _site, users = demo_team
    sd = design.study_design(study)
    inputs = design.Inputs(
        p_dlt=(0.05, 0.1, 0.25, 0.4), p_grade2=(0, 0.3, 0, 0), method="simulation", n_trials=300
    )
    job_id = design.create_run(sd, actor=users["investigator"], inputs=inputs)
    base = live_server.url
    log_in(page, base, "sponsor")
    page.goto(f"{base}/design/runs/{job_id}/")
    expect(page.get_by_test_id("run-status")).to_have_text("Waiting for the worker…")
    expect(page.get_by_test_id("run-inputs")).to_contain_text("0.25")

    design.run(job_id)  # the worker's part, in the test's process (the cache is shared)

    expect(page.get_by_test_id("run-status")).to_have_text("Finished.")
    expect(page.get_by_test_id("run-progress-bar")).to_have_attribute("value", "300")
    expect(page.get_by_test_id("oc-table")).to_be_visible()
