"""Withdrawal of consent, and a screen failure reversed and rescreened (issue 10 items 5, 6).

A coordinator records the withdrawal of a screened subject's consent: the subject page shows
the withdrawal and the status, and the screening CRFs open read-only. An investigator records a
screen failure for a patient who declines (criteria still missing) with the reason and an
e-signature, reverses it as a mistake with a reason, records it again and rescreens the patient
under a new screening number linked to the first.
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
from django.utils import timezone
from playwright.sync_api import Page, expect

from enrollment import services
from tests.e2e.conftest import log_in

pytestmark = pytest.mark.django_db(transaction=True)


def consented(site, users, initials="HM"):
    screening_date = timezone.localdate() - dt.timedelta(days=5)
    subject = services.register_subject(
        actor=users["coordinator"],
        site=site,
        initials=initials,
        sex="M",
        birth_date=dt.date(1966, 8, 9),
        screening_date=screening_date,
    )
    services.record_consent(
        subject,
        actor=users["coordinator"],
        icf_version="v2.2 2025-09-01",
        signed_at=timezone.make_aware(dt.datetime.combine(screening_date, dt.time(9, 0))),
        obtained_by=users["investigator"],
    )
    return subject


def test_withdrawing_consent_shows_the_withdrawal_and_blocks_new_data(
    live_server, page: Page, demo_team
):
    study, site, users = demo_team
    subject = consented(site, users)
    base = live_server.url
    log_in(page, base, "coordinator")
    page.goto(f"{base}/subjects/{subject.pk}/")
    page.get_by_role("link", name="Correct or withdraw").click()
    moment = timezone.localtime(timezone.now()) - dt.timedelta(minutes=5)
    page.get_by_label("Withdrawn at").fill(moment.strftime("%Y-%m-%dT%H:%M"))
    page.get_by_label("Reason for withdrawal").fill("Wishes to stop all trial procedures")
    page.locator("#id_reason").fill("Withdrawal of consent by phone, documented in notes")
    page.get_by_role("button", name="Save consent").click()

    expect(page.get_by_test_id("subject-status")).to_have_text("Consent withdrawn")
    status = page.get_by_test_id("consent-status")
    expect(status).to_contain_text("Wishes to stop all trial procedures")
    expect(status).to_contain_text("recorded by Demo Coordinator")
    expect(page.get_by_role("link", name="Record consent")).to_have_count(0)
    expect(page.get_by_test_id("consent-history")).to_contain_text("v2.2 2025-09-01")

    page.get_by_role("link", name="Screening laboratory values").click()
    expect(page.get_by_text("no new data is entered", exact=False)).to_be_visible()
    expect(page.get_by_role("button", name="Save")).to_have_count(0)


def test_screen_failure_with_signature_reversed_then_rescreened(live_server, page: Page, demo_team):
    study, site, users = demo_team
    subject = consented(site, users)
    base = live_server.url
    log_in(page, base, "investigator")
    page.goto(f"{base}/subjects/{subject.pk}/")
    page.get_by_role("link", name="Open the checklist").click()
    expect(page.get_by_test_id("eligibility-verdict")).to_contain_text("Incomplete")

    def record_screen_failure(reason: str, details: str) -> None:
        page.get_by_role("link", name="Record screen failure").click()
        page.locator("#id_category").select_option(label=reason)
        page.get_by_label("Details").fill(details)
        page.get_by_label("Your password (e-signature)").fill("trialsite-demo")
        page.get_by_role("button", name="Sign and record the screen failure").click()
        expect(page.get_by_test_id("subject-status")).to_have_text("Screen failure")

    # A wrong password is a field error; nothing is recorded.
    page.get_by_role("link", name="Record screen failure").click()
    page.locator("#id_category").select_option(label="Declined or withdrew consent")
    page.get_by_label("Your password (e-signature)").fill("not-my-password")
    page.get_by_role("button", name="Sign and record the screen failure").click()
    expect(page.get_by_text("The password is not correct")).to_be_visible()
    page.get_by_role("link", name=subject.screening_number).click()
    expect(page.get_by_test_id("subject-status")).to_have_text("Screening")

    page.get_by_role("link", name="Open the checklist").click()
    record_screen_failure("Declined or withdrew consent", "Declined apheresis")
    expect(page.get_by_test_id("screen-failures")).to_contain_text("Declined apheresis")

    # A mistake: the investigator reverses it with the reason.
    page.get_by_role("link", name="Reverse the screen failure").click()
    page.get_by_label("Why the screen failure was a mistake").fill("Wrong patient selected")
    page.get_by_role("button", name="Reverse the screen failure").click()
    expect(page.get_by_test_id("subject-status")).to_have_text("Screening")
    expect(page.get_by_test_id("screen-failure-reversal")).to_contain_text("Wrong patient selected")

    # Later a true screen failure, then rescreening under a new number.
    page.get_by_role("link", name="Open the checklist").click()
    record_screen_failure("Investigator decision", "Active infection: treat, then rescreen")
    page.get_by_role("button", name="Rescreen").click()
    expect(page.get_by_role("heading", name="TJ-S-0002")).to_be_visible()
    expect(page.get_by_test_id("previous-screening")).to_contain_text(subject.screening_number)
    expect(page.get_by_test_id("subject-status")).to_have_text("Screening")
    page.get_by_test_id("previous-screening").get_by_role("link").click()
    expect(page.get_by_test_id("rescreened-as")).to_contain_text("TJ-S-0002")


def test_a_mistaken_withdrawal_is_reversed_and_data_entered_again(
    live_server, page: Page, demo_team
):
    """Issue 10 last gaps item 3: withdraw, reverse (investigator, e-signature), enter data."""
    study, site, users = demo_team
    subject = consented(site, users, initials="WR")
    base = live_server.url
    log_in(page, base, "coordinator")
    page.goto(f"{base}/subjects/{subject.pk}/")
    page.get_by_role("link", name="Correct or withdraw").click()
    moment = timezone.localtime(timezone.now()) - dt.timedelta(minutes=5)
    page.get_by_label("Withdrawn at").fill(moment.strftime("%Y-%m-%dT%H:%M"))
    page.get_by_label("Reason for withdrawal").fill("Wishes to stop all trial procedures")
    page.locator("#id_reason").fill("Withdrawal by phone")
    page.get_by_role("button", name="Save consent").click()
    expect(page.get_by_test_id("subject-status")).to_have_text("Consent withdrawn")
    # The coordinator reads the withdrawal; only the investigator may reverse it.
    expect(page.get_by_role("link", name="Reverse the withdrawal", exact=False)).to_have_count(0)
    page.get_by_test_id("withdrawal-link").click()
    expect(page.get_by_test_id("withdrawal-record")).to_contain_text("Wishes to stop all")
    expect(page.get_by_role("button", name="Sign and reverse the withdrawal")).to_have_count(0)
    page.get_by_test_id("user-menu").click()
    page.get_by_role("button", name="Log out").click()

    log_in(page, base, "investigator")
    page.goto(f"{base}/subjects/{subject.pk}/")
    page.get_by_role("link", name="Reverse the withdrawal (recorded by mistake)").click()
    page.get_by_label("Why the withdrawal was a mistake").fill("Recorded on the wrong subject")
    page.get_by_label("Your password (e-signature)").fill("not-my-password")
    page.get_by_role("button", name="Sign and reverse the withdrawal").click()
    expect(page.get_by_text("The password is not correct")).to_be_visible()
    page.get_by_label("Why the withdrawal was a mistake").fill("Recorded on the wrong subject")
    page.get_by_label("Your password (e-signature)").fill("trialsite-demo")
    page.get_by_role("button", name="Sign and reverse the withdrawal").click()

    expect(page.get_by_test_id("subject-status")).to_have_text("Screening")
    expect(page.get_by_test_id("consent-status")).to_contain_text("ICF v2.2 2025-09-01 signed")
    reversal = page.get_by_test_id("withdrawal-reversal")
    expect(reversal).to_contain_text("Wishes to stop all trial procedures")
    expect(reversal).to_contain_text("Recorded on the wrong subject")

    # Data entry is open again.
    page.get_by_role("link", name="Screening laboratory values").click()
    expect(page.get_by_text("no new data is entered", exact=False)).to_have_count(0)
    page.get_by_label("Sample date").fill(timezone.localdate().isoformat())
    page.locator('input[name="creatinine"]').fill("0.9")
    page.get_by_role("button", name="Save").click()
    expect(page.get_by_test_id("crf-list")).to_contain_text("Screening laboratory values")
    from enrollment.models import ScreeningLabs

    assert ScreeningLabs.objects.get(subject=subject).creatinine == Decimal("0.9")
