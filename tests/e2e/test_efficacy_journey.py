"""The browser journey of issue #13 Requirement 6: from a Month-1 marrow to the dashboard's CRR.

Two infused subjects at DL1; the first has a Month-1 marrow of no response (NR), the second none
yet, so the investigator's efficacy dashboard shows a Month-1 CRR of 0/2 (every infused subject
is in the denominator, RULES.md §1.7). A coordinator enters the second subject's Month-1 marrow
(2 % blasts, ANC 0.4, platelets 120: CRi, since the platelets have recovered but the neutrophils
have not reached 0.5 for CRh) and sees "CRi" appear as the values are typed (the server classifies
them with the function the save uses); saves. The investigator confirms the category with the
password, and the dashboard's Month-1 CRR reads 1/2 from a newer data version.

How the recompute runs here: the test settings run Celery tasks eagerly, so each save's on-commit
recompute (``trialsite.records.recompute.schedule``) runs in the live server's request before the
page answers, as the worker would run it moments later in production. The dashboard left open
across the save is never reloaded by the test: its own poll of ``/efficacy/status/``
(``static/js/efficacy_dashboard.js``) sees the newer snapshot and reloads it, which is what the
investigator watching it sees.
"""

from __future__ import annotations

import datetime as dt
import re

import pytest
from playwright.sync_api import Page, expect

from efficacy.models import ResponseAssessment
from tests.dashboards.endpoints_data import NR, infused_subject, response
from tests.e2e.conftest import log_in
from trialsite import clock

pytestmark = pytest.mark.django_db(transaction=True)

#: The dashboard's poll runs every 5 s when nothing is pending; allow two rounds and a reload.
POLL_TIMEOUT_MS = 15_000


def month1_crr(page: Page):
    """The Month-1 cell of the CRR row, as the investigator reads it."""
    return page.locator("tr[data-rate='CRR'] td").first


def data_version(page: Page) -> int:
    text = page.get_by_test_id("as-of").inner_text()
    return int(re.search(r"As of data version (\d+)", text).group(1))


def test_a_month_1_cri_raises_the_month_1_crr(live_server, page: Page, browser, demo_team):
    _study, site, users = demo_team
    coordinator, investigator = users["coordinator"], users["investigator"]
    base = live_server.url
    day0 = clock.today() - dt.timedelta(days=35)
    month1 = day0 + dt.timedelta(days=28)
    non_responder = infused_subject(site, coordinator, investigator, day0, 1)
    response(non_responder, coordinator, month1, "M1", **NR)
    subject = infused_subject(site, coordinator, investigator, day0, 1)

    # Before: the investigator's dashboard, computed from the saves above.
    log_in(page, base, "investigator")
    page.get_by_role("link", name="Efficacy", exact=True).click()
    expect(page.get_by_test_id("group-n")).to_contain_text("2 infused subjects")
    expect(page.locator("[data-testid='rates-table'] thead th").nth(1)).to_have_text("M1")
    expect(month1_crr(page)).to_contain_text("0/2 (0.0 %)")
    expect(page.get_by_test_id("recomputing")).to_be_hidden()
    before = data_version(page)

    # The coordinator, on another computer, enters the Month-1 marrow and sees CRi as typed.
    desk = browser.new_context(base_url=base)
    entry = desk.new_page()
    log_in(entry, base, "coordinator")
    entry.goto(f"{base}/subjects/{subject.pk}/")
    entry.get_by_role("link", name="Response assessments (ELN 2022)").click()
    entry.get_by_role("link", name="Add a response assessment").click()
    entry.wait_for_url(f"**/efficacy/subjects/{subject.pk}/responses/new/")
    entry.wait_for_load_state()
    live = entry.get_by_test_id("live-category")
    entry.locator("[name='timepoint']").select_option("M1")
    entry.locator("[name='assessment_date']").fill(month1.isoformat())
    entry.locator("[name='bm_adequacy']").select_option("adequate")
    entry.locator("[name='bm_blasts_pct']").fill("2")
    entry.locator("[name='bm_cells_counted']").fill("500")
    entry.locator("[name='anc_10e9_l']").fill("0.4")
    entry.locator("[name='platelets_10e9_l']").fill("120")
    expect(live).to_have_text(re.compile(r"^CRi: blasts 2 % < 5 %"))
    entry.get_by_role("button", name="Save response assessment").click()
    row = entry.get_by_test_id("responses").locator("tbody tr").first
    expect(row).to_contain_text("Month 1 (Day 28)")
    expect(row.get_by_test_id("category-of-record")).to_have_text("CRi")
    expect(row).to_contain_text("to confirm")
    desk.close()

    # The investigator's open dashboard refreshes itself once the recompute has stored the
    # newer snapshot: one more responder in the Month-1 numerator.
    expect(month1_crr(page)).to_contain_text("1/2 (50.0 %)", timeout=POLL_TIMEOUT_MS)
    assert data_version(page) > before

    # The investigator confirms the computed category with the password.
    page.goto(f"{base}/subjects/{subject.pk}/")
    page.get_by_role("link", name="Response assessments (ELN 2022)").click()
    page.get_by_role("link", name="Confirm / override").click()
    expect(page.get_by_test_id("computed")).to_contain_text("CRi")
    page.get_by_label("Confirm the computed category").check()
    page.get_by_label("Your password (e-signature)").fill("trialsite-demo")
    page.get_by_role("button", name="Sign").click()
    row = page.get_by_test_id("responses").locator("tbody tr").first
    expect(row.get_by_test_id("category-of-record")).to_have_text("CRi")
    expect(row).to_contain_text("confirmed")
    record = ResponseAssessment.objects.get(subject=subject)
    assert (record.decision, record.category_of_record) == ("confirmed", "CRi")

    # After the confirmation's recompute: still 1/2, now the investigator's category of record.
    page.get_by_role("link", name="Efficacy", exact=True).click()
    expect(month1_crr(page)).to_contain_text("1/2 (50.0 %)")
    expect(page.locator("tr[data-category='CRi'] td")).to_have_text("1")
