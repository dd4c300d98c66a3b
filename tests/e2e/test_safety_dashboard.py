"""The safety dashboard in a real browser (issue 11, Requirement 5): the investigator opens it
from the menu on the demo study (with one more AE, so the swimmer plot has a bar), sees the
CRS/ICANS grade chart drawn by the vendored Chart.js without a console error, and downloads its
data as CSV."""

from __future__ import annotations

import datetime as dt

import pytest
from django.contrib.auth import get_user_model
from playwright.sync_api import Page, expect

from dosing.models import CohortAssignment
from enrollment.models import Subject
from safety.models import CTCAETerm
from safety.services import save_adverse_event
from tests.e2e.conftest import log_in

pytestmark = pytest.mark.django_db(transaction=True)
User = get_user_model()


def test_the_investigator_opens_the_dashboard_and_downloads_the_chart_data(
    live_server, page: Page, demo_site
):
    errors: list[str] = []

    def console(message) -> None:
        # A failed load is reported with its URL by the response handler (the browser's own
        # /favicon.ico request is not the page's).
        if message.type == "error" and not message.text.startswith("Failed to load resource"):
            errors.append(message.text)

    def response(answer) -> None:
        if answer.status >= 400 and not answer.url.endswith("/favicon.ico"):
            errors.append(f"{answer.status} {answer.url}")

    page.on("console", console)
    page.on("response", response)
    page.on("pageerror", lambda error: errors.append(str(error)))
    assigned = CohortAssignment.objects.values("subject")
    infused = Subject.objects.filter(day0__isnull=False, pk__in=assigned).order_by("day0").first()
    save_adverse_event(
        infused,
        actor=User.objects.get(username="coordinator"),
        values={
            "term": CTCAETerm.objects.get(term="Nausea"),
            "onset_date": infused.day0 + dt.timedelta(days=1),
            "grade": 2,
            "relationship_car_t": "unlikely",
        },
    )
    base = live_server.url
    log_in(page, base, "investigator")
    page.get_by_role("link", name="Safety dashboard").click()
    expect(page.get_by_role("heading", name="Safety dashboard")).to_be_visible()
    expect(page.get_by_test_id("ae-table")).to_be_visible()
    expect(page.get_by_test_id("crs-table").get_by_test_id("incidence")).to_contain_text("/")
    canvas = page.locator("canvas[data-chart='crs-icans-grades-spec']")
    expect(canvas).to_have_attribute("data-drawn", "true")
    assert canvas.bounding_box()["height"] > 50
    with page.expect_download() as download:
        page.locator("#crs-icans-grades-title").locator("xpath=..").get_by_role(
            "link", name="Download data (CSV)"
        ).click()
    assert download.value.suggested_filename == "crs-icans-max-grade.csv"
    with open(download.value.path(), encoding="utf-8-sig") as saved:
        header = saved.readline().strip()
    assert header.startswith("Syndrome and dose level,Grade 1")
    swimmer = page.locator("canvas[data-chart='ae-swimmer-spec']")
    expect(swimmer).to_have_attribute("data-drawn", "true")
    expect(page.locator("tr[data-term='Nausea']")).to_be_visible()
    assert errors == []
