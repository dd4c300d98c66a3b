"""A coordinator records an adverse event in the browser (issue #11, "What a user does").

Searches the CTCAE terms for "fever", picks Fever, sees its grade definitions beside the grade,
saves grade 2; then raises it to grade 3 from a later date and sees the grade history.
"""

from __future__ import annotations

import datetime as dt

import pytest
from playwright.sync_api import Page, expect

from safety.models import AdverseEvent, CTCAETerm
from safety.services import load_shipped_terms
from tests.e2e.conftest import log_in
from tests.enrollment_data import register_and_consent
from trialsite.records.dates import format_dmy

pytestmark = pytest.mark.django_db(transaction=True)


def test_the_coordinator_records_a_fever_and_raises_its_grade(live_server, page: Page, demo_team):
    load_shipped_terms()  # a transactional test may follow a flush that emptied the terms
    _study, site, users = demo_team
    subject = register_and_consent(site, users["coordinator"], users["investigator"])
    onset = subject.screening_date + dt.timedelta(days=2)
    base = live_server.url

    log_in(page, base, "coordinator")
    page.goto(f"{base}/subjects/{subject.pk}/")
    page.get_by_test_id("ae-log-link").click()
    page.get_by_test_id("add-ae").click()

    page.get_by_label("Search CTCAE terms").fill("fever")
    fever = CTCAETerm.objects.get(term="Fever")
    term_select = page.get_by_label("CTCAE v5.0 term")
    expect(term_select.locator("option")).to_have_count(2)  # the prompt and Fever
    term_select.select_option(str(fever.pk))
    definitions = page.get_by_test_id("grade-definitions")
    expect(definitions).to_contain_text("38.0 - 39.0 degrees C")
    expect(definitions).to_contain_text(">40.0 degrees C (>104.0 degrees F) for >24 hrs")

    page.get_by_label("Onset date").fill(format_dmy(onset))
    page.get_by_label("Grade (current)").select_option("2")
    page.get_by_label("Relationship to the CAR-T product").select_option("possible")
    page.get_by_role("button", name="Save adverse event").click()

    log = page.get_by_test_id("ae-log")
    expect(log).to_contain_text("Fever")
    event = AdverseEvent.objects.get(subject=subject)
    assert (event.grade, event.worst_grade) == (2, 2)

    log.get_by_role("link", name="Fever").click()
    expect(page.get_by_test_id("grade-definitions")).to_contain_text("Fever")  # server-rendered
    page.get_by_label("Grade (current)").select_option("3")
    raised = onset + dt.timedelta(days=1)
    page.get_by_label("Grade since").fill(format_dmy(raised))
    page.get_by_label("Reason for change").fill("Temperature 40.3 °C for 12 hours")
    page.get_by_role("button", name="Save adverse event").click()
    expect(page.get_by_test_id("ae-log").locator('[data-col="worst-grade"]')).to_contain_text("3")

    page.get_by_test_id("ae-log").get_by_role("link", name="Fever").click()
    history = page.get_by_test_id("grade-history")
    expect(history.locator("tbody tr")).to_have_count(2)
    expect(history.locator("tbody tr").nth(0)).to_contain_text(format_dmy(onset))
    expect(history.locator("tbody tr").nth(1)).to_contain_text(format_dmy(raised))
    expect(history.locator("tbody tr").nth(1)).to_contain_text("3")
