"""A serious AE starts the SAE clocks; the coordinator records the initial report (issue #11).

The serious AE is saved through the AE service (the AE form is built on the AE branch; the same
service is behind it), then, in the browser: the SAE list shows the 24-hour clock running, the
coordinator opens the report, records the initial report with its reference number, and the
clock shows met on the report page and the list.
"""

from __future__ import annotations

import datetime as dt

import pytest
from django.utils import timezone
from playwright.sync_api import Page, expect

from enrollment import services
from safety.services import save_adverse_event
from tests.e2e.conftest import log_in
from tests.safety.ae_data import term

pytestmark = pytest.mark.django_db(transaction=True)


def test_a_serious_ae_runs_a_24_hour_clock_until_the_initial_report_is_recorded(
    live_server, page: Page, demo_team
):
    study, site, users = demo_team
    screening_date = timezone.localdate() - dt.timedelta(days=6)
    subject = services.register_subject(
        actor=users["coordinator"],
        site=site,
        initials="QZ",
        sex="F",
        birth_date=dt.date(1971, 2, 3),
        screening_date=screening_date,
    )
    services.record_consent(
        subject,
        actor=users["coordinator"],
        icf_version="v2.2 2025-09-01",
        signed_at=timezone.make_aware(dt.datetime.combine(screening_date, dt.time(9, 0))),
        obtained_by=users["investigator"],
    )
    save_adverse_event(
        subject,
        actor=users["coordinator"],
        values={
            "term": term("Febrile neutropenia", max_grade=5),
            "onset_date": timezone.localdate() - dt.timedelta(days=1),
            "grade": 3,
            "serious": True,
            "seriousness_criteria": ["hospitalisation"],
        },
    )
    base = live_server.url
    log_in(page, base, "coordinator")
    page.get_by_role("link", name="Serious adverse events").first.click()
    initial = page.get_by_test_id("sae-clock-initial")
    expect(initial).to_have_attribute("data-status", "running")
    expect(initial).to_contain_text("left")
    expect(initial).to_contain_text("Initial report to the sponsor")

    page.get_by_role("link", name="Febrile neutropenia").click()
    expect(page.get_by_role("heading", name="SAE report: Febrile neutropenia")).to_be_visible()
    row = page.get_by_test_id("sae-clock-initial")
    row.get_by_role("link", name="Record submission").click()
    expect(page.get_by_label("Submitted at")).not_to_have_value("")
    page.get_by_label("Reference number").fill("CIOMS-QZ-0001")
    page.get_by_role("button", name="Record the submission").click()

    row = page.get_by_test_id("sae-clock-initial")
    expect(row).to_have_attribute("data-status", "met")
    expect(row).to_contain_text("CIOMS-QZ-0001")
    page.get_by_role("link", name="Serious adverse events").first.click()
    expect(page.get_by_test_id("sae-clock-initial")).to_have_attribute("data-status", "met")
    expect(page.get_by_test_id("sae-clock-follow_up")).to_have_attribute("data-status", "running")
