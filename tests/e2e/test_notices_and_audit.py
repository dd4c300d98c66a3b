"""Notices that clear, the signature list, and the inspector's audit trail in the browser.

(a) Issue 10 §8: an all-pass checklist appears under "Waiting for your signature" and as a
    notice; the investigator dismisses the notice, confirms with an e-signature and the list is
    empty. A later correction reopens eligibility: the notice links to the checklist, opening it
    marks it read, and confirming again leaves nothing "Needs your attention".
(b) Issue 10 §15: the monitor filters the audit trail to changes, reads the reason without
    scrolling sideways, sees recomputes summarised on the System events tab, follows a row to
    the record's history and back, and downloads the filtered rows as CSV.
"""

from __future__ import annotations

import csv
from decimal import Decimal
from pathlib import Path

import pytest
from playwright.sync_api import Page, expect

from enrollment import services
from enrollment.models import ScreeningVitals
from tests.e2e.conftest import log_in
from tests.enrollment_data import screen_eligible_subject

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def eligible_subject(demo_team):
    _study, site, users = demo_team
    return screen_eligible_subject(site, users["coordinator"], users["investigator"])


def log_out(page: Page) -> None:
    page.get_by_test_id("user-menu").click()
    page.get_by_role("button", name="Log out").click()


def confirm(page: Page, base: str, subject) -> None:
    page.goto(f"{base}/subjects/{subject.pk}/eligibility/")
    page.get_by_role("link", name="Confirm eligibility (e-signature)").click()
    page.get_by_label("Your password").fill("trialsite-demo")
    page.get_by_role("button", name="Sign").click()
    expect(page.get_by_text("Signed by Demo Investigator")).to_be_visible()


def test_notices_clear_and_the_signature_list_empties(
    live_server, page: Page, demo_team, eligible_subject
):
    base = live_server.url
    _study, _site, users = demo_team
    subject = eligible_subject
    log_in(page, base, "investigator")
    waiting = page.get_by_test_id("awaiting-signature")
    expect(waiting).to_contain_text(f"Confirm the eligibility of {subject}")
    notices = page.get_by_test_id("notifications")
    expect(notices).to_contain_text("awaits your confirmation")
    page.get_by_role("button", name="Dismiss").click()
    expect(page.get_by_test_id("notifications")).to_have_count(0)
    expect(waiting).to_be_visible()  # the list stays until the checklist is signed

    confirm(page, base, subject)
    page.goto(f"{base}/")
    expect(page.get_by_test_id("awaiting-signature")).to_have_count(0)

    # A correction after the confirmation reopens eligibility and notifies the investigator.
    subject.refresh_from_db()  # confirmed: it now has its subject number
    vitals = ScreeningVitals.objects.get(subject=subject)
    services.save_screening_crf(
        subject,
        ScreeningVitals,
        actor=users["coordinator"],
        values={"weight_kg": vitals.weight_kg + Decimal("1.5")},
        expected_version=vitals.version,
        reason="Re-weighed on the day",
    )
    page.goto(f"{base}/")
    page.get_by_role("link", name="confirm it again").click()
    expect(page).to_have_url(f"{base}/subjects/{subject.pk}/eligibility/")
    page.goto(f"{base}/")
    expect(page.get_by_test_id("notifications")).to_have_count(0)  # opened: read
    expect(page.get_by_test_id("awaiting-signature")).to_contain_text(str(subject))

    confirm(page, base, subject)
    page.goto(f"{base}/")
    expect(page.get_by_test_id("awaiting-signature")).to_have_count(0)
    expect(page.get_by_test_id("notifications")).to_have_count(0)


def test_the_monitor_filters_reads_and_exports_the_audit_trail(
    live_server, page: Page, demo_team, eligible_subject, tmp_path: Path
):
    base = live_server.url
    _study, _site, users = demo_team
    subject = eligible_subject
    vitals = ScreeningVitals.objects.get(subject=subject)
    services.save_screening_crf(
        subject,
        ScreeningVitals,
        actor=users["coordinator"],
        values={"weight_kg": vitals.weight_kg + Decimal("1.5")},
        expected_version=vitals.version,
        reason="Scale recalibrated, source corrected",
    )
    page.set_viewport_size({"width": 1280, "height": 900})
    log_in(page, base, "monitor")
    page.get_by_role("link", name="Audit trail").click()
    page.get_by_label("Action").select_option("update")
    page.get_by_role("button", name="Filter").click()

    rows = page.get_by_test_id("audit-row")
    expect(rows).to_have_count(1)
    expect(rows.first).to_contain_text("Demo Coordinator")
    reason = rows.first.get_by_test_id("audit-reason")
    expect(reason).to_have_text("Scale recalibrated, source corrected")
    box = reason.bounding_box()
    assert box is not None and box["x"] + box["width"] <= 1280  # in view, no sideways scroll
    width = page.evaluate("document.documentElement.scrollWidth")
    assert width <= 1280

    # The recomputes are on their own tab, one line each.
    page.get_by_role("link", name="System events").click()
    expect(page.get_by_test_id("audit-row").first).to_contain_text("recomputed")
    expect(page.get_by_test_id("audit-table")).not_to_contain_text('"threshold"')

    # A row leads to its record's history, and the history back to the audit trail.
    page.get_by_role("link", name="Clinical changes").click()
    page.get_by_test_id("audit-row").first.get_by_role("link").first.click()
    expect(page.get_by_test_id("record-history")).to_be_visible()
    # People by full name, the username beside it (was the username alone).
    who = page.get_by_test_id("history-who").last
    expect(who).to_contain_text("Demo Coordinator")
    expect(who).to_have_attribute("title", "coordinator")
    page.get_by_test_id("history-in-audit-trail").click()
    expect(page.get_by_text("Showing one record's history.")).to_be_visible()

    # The filtered rows download as CSV.
    page.goto(f"{base}/study/audit/?action=update")
    with page.expect_download() as download_info:
        page.get_by_test_id("audit-export").click()
    path = tmp_path / "audit.csv"
    download_info.value.save_as(path)
    lines = list(csv.DictReader(path.open(encoding="utf-8")))
    assert [line["reason"] for line in lines] == ["Scale recalibrated, source corrected"]
    assert lines[0]["user"] == "Demo Coordinator"
