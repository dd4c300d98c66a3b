"""The efficacy dashboard in a real browser (issue #13: the investigator's dashboard).

Three infused subjects at two dose levels, entered through the CRF services and recomputed as
the worker does; the investigator opens "Efficacy" from the navigation and every chart (rates,
waterfall, the four Kaplan–Meier curves, the swimmer plot, the four exploratory scatters of
peak IL-6 / Cmax against grade) is drawn with no console error; the group selector shows one
dose level; the sponsor's page carries no subject ID.
"""

from __future__ import annotations

import datetime as dt

import pytest
from playwright.sync_api import Page, expect

from tests.dashboards.endpoints_data import NR, event, follow_up, infused_subject, response
from tests.e2e.conftest import log_in
from tests.safety.lab_data import panel
from trialsite.records import recompute

pytestmark = pytest.mark.django_db(transaction=True)

DAY0 = dt.date(2025, 6, 1)
CHARTS = (
    "efficacy-rates",
    "efficacy-waterfall",
    "efficacy-km-os",
    "efficacy-km-efs",
    "efficacy-km-rfs",
    "efficacy-km-dor",
    "efficacy-swimmer",
    "efficacy-correlation-0",
    "efficacy-correlation-1",
    "efficacy-correlation-2",
    "efficacy-correlation-3",
)


@pytest.fixture
def course(demo_team):
    study, site, users = demo_team
    coordinator, investigator = users["coordinator"], users["investigator"]
    subjects = []
    for level, values, death in ((1, {}, None), (1, NR, 50), (2, {}, 70)):
        s = infused_subject(site, coordinator, investigator, DAY0, level)
        response(s, coordinator, DAY0 + dt.timedelta(days=28), "M1", **values)
        if death:
            event(s, coordinator, "death", DAY0 + dt.timedelta(days=death))
        else:
            follow_up(s, coordinator, DAY0 + dt.timedelta(days=90))
        panel(s, coordinator, 2, ("IL6", str(300 * (len(subjects) + 1))))
        subjects.append(s)
    recompute.run(study.pk)
    return subjects


def test_the_investigator_sees_every_chart_drawn(live_server, page: Page, course):
    errors: list[str] = []
    # The browser's own favicon request (the product ships none) is not the page's error.
    page.on(
        "console",
        lambda m: (
            errors.append(m.text)
            if m.type == "error" and not m.location.get("url", "").endswith("/favicon.ico")
            else None
        ),
    )
    page.on("pageerror", lambda e: errors.append(str(e)))
    log_in(page, live_server.url, "investigator")
    page.get_by_role("link", name="Efficacy", exact=True).click()
    expect(page.get_by_role("heading", name="Efficacy endpoints")).to_be_visible()
    expect(page.get_by_test_id("as-of")).to_contain_text("As of data version")
    expect(page.get_by_test_id("recomputing")).to_be_hidden()
    expect(page.locator("tr[data-rate='CRR'] td").first).to_contain_text("2/3 (66.7 %)")
    expect(page.get_by_test_id("median-os")).to_contain_text("70 days")
    for chart in CHARTS:
        expect(page.locator(f"canvas[data-chart='{chart}-spec']")).to_have_attribute(
            "data-drawn", "true"
        )
    page.get_by_label("Group").select_option("DL1")
    page.get_by_role("button", name="Show").click()
    expect(page.get_by_test_id("group-n")).to_contain_text("2 infused subjects")
    expect(page.locator("tr[data-rate='CRR'] td").first).to_contain_text("1/2 (50.0 %)")
    with page.expect_download() as download:
        page.get_by_test_id("km-os").get_by_role("link", name="Download data (CSV)").click()
    assert download.value.suggested_filename == "efficacy-DL1-os.csv"
    assert errors == []


def test_the_sponsor_page_has_no_subject_ids(live_server, page: Page, course):
    log_in(page, live_server.url, "sponsor")
    page.goto(f"{live_server.url}/efficacy/")
    expect(page.locator("canvas[data-chart='efficacy-swimmer-spec']")).to_have_attribute(
        "data-drawn", "true"
    )
    html = page.content()
    for s in course:
        for label in (s.subject_number, s.screening_number):
            if label:
                assert label not in html
    assert "Subject 3" in html
