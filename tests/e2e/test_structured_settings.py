"""The study administrator edits the structured settings in the browser (issue 10 last gaps 1).

The dose levels are a table: a dose is changed, a row added in the empty row, a row removed; a
dose that is not above the level below is refused on its row; the DLT criteria are labelled
fields in groups. The data manager reads the same sections without an input.
"""

from __future__ import annotations

import pytest
from playwright.sync_api import Page, expect

from tests.e2e.conftest import log_in
from trialsite.studies.models import Study

pytestmark = pytest.mark.django_db(transaction=True)


def test_the_administrator_edits_dose_levels_as_rows_and_dlt_criteria_as_fields(
    live_server, page: Page, demo_team
):
    study, site, users = demo_team
    base = live_server.url
    log_in(page, base, "admin")
    page.goto(f"{base}/study/settings/")
    table = page.get_by_test_id("settings-table-dose_levels")
    expect(table.get_by_test_id("settings-row")).to_have_count(5)  # four levels, one empty

    # A dose equal to the level below is refused on its row, nothing saved.
    table.locator('input[name="dose_levels-rows-2-dose_cells_per_kg"]').fill("1000000")
    table.locator('textarea[name="dose_levels-reason"]').fill("Protocol amendment 4")
    table.get_by_role("button", name="Save Dose levels").click()
    table = page.get_by_test_id("settings-table-dose_levels")
    expect(table.get_by_test_id("cell-error")).to_contain_text(
        "DL3: dose_cells_per_kg must be a number above the level below"
    )
    assert Study.objects.get(pk=study.pk).settings_version == study.settings_version

    # Corrected; a level added in the empty row and DL4 removed.
    table.locator('input[name="dose_levels-rows-2-dose_cells_per_kg"]').fill("2500000")
    table.locator('input[name="dose_levels-rows-4-label"]').fill("DL-1")
    table.locator('input[name="dose_levels-rows-4-dose_cells_per_kg"]').fill("250000")
    table.locator('input[name="dose_levels-rows-3-DELETE"]').check()
    table.locator('textarea[name="dose_levels-reason"]').fill("Protocol amendment 4")
    table.get_by_role("button", name="Save Dose levels").click()
    expect(page.get_by_text("Study settings saved as a new version.")).to_be_visible()
    levels = Study.objects.get(pk=study.pk).settings["dose_levels"]
    assert [(lv["level"], lv["label"], lv["dose_cells_per_kg"]) for lv in levels] == [
        (1, "DL-1", 250000.0),
        (2, "DL1", 500000.0),
        (3, "DL2", 1000000.0),
        (4, "DL3", 2500000.0),
    ]

    # The DLT criteria: labelled fields in groups, the default beside each.
    dlt = page.get_by_test_id("settings-object-dlt_criteria")
    expect(dlt.get_by_role("group", name="CRS (ASTCT 2019)")).to_be_visible()
    expect(dlt.get_by_text("Default: 4.").first).to_be_visible()
    dlt.get_by_label("ICANS: DLT if unresolved at grade").fill("3")
    dlt.locator('textarea[name="dlt_criteria-reason"]').fill("Protocol amendment 4")
    dlt.get_by_role("button", name="Save Dose-limiting toxicity").click()
    dlt = page.get_by_test_id("settings-object-dlt_criteria")
    expect(
        dlt.get_by_text("icans_unresolved_dlt_grade must be below icans_dlt_grade")
    ).to_be_visible()
    dlt.get_by_label("ICANS: DLT at grade").fill("4")
    dlt.get_by_label("ICANS: DLT if unresolved at grade").fill("3")
    dlt.locator('textarea[name="dlt_criteria-reason"]').fill("Protocol amendment 4")
    dlt.get_by_role("button", name="Save Dose-limiting toxicity").click()
    expect(page.get_by_text("Study settings saved as a new version.")).to_be_visible()
    stored = Study.objects.get(pk=study.pk).settings["dlt_criteria"]
    assert (stored["icans_dlt_grade"], stored["icans_unresolved_dlt_grade"]) == (4, 3)

    page.get_by_test_id("user-menu").click()
    page.get_by_role("button", name="Log out").click()
    log_in(page, base, "datamanager")
    page.goto(f"{base}/study/settings/")
    expect(page.get_by_test_id("settings-values-dose_levels")).to_contain_text("DL-1")
    expect(page.locator('input[name="dose_levels-rows-0-label"]')).to_have_count(0)
