"""A coordinator's typing mistakes on a CRF: the error summary, and dates as DD-MMM-YYYY.

Issue 10, item 11: a long form with an error gets a summary at the top whose link takes the
keyboard to the field; letters typed in a number field are shown back; a date typed as
DD-MMM-YYYY is saved and shown the same way.
"""

from __future__ import annotations

import pytest
from django.utils import timezone
from playwright.sync_api import Page, expect

from enrollment.models import ScreeningVitals
from tests.e2e.conftest import log_in
from tests.enrollment_data import register_and_consent
from trialsite.records.dates import format_dmy

pytestmark = pytest.mark.django_db(transaction=True)


def test_the_error_summary_links_to_the_field_and_a_typed_dd_mmm_yyyy_date_saves(
    live_server, page: Page, demo_team
):
    _study, site, users = demo_team
    subject = register_and_consent(site, users["coordinator"], users["investigator"])
    today = timezone.localdate()
    base = live_server.url

    log_in(page, base, "coordinator")
    page.goto(f"{base}/subjects/{subject.pk}/screening/vitals/")
    page.get_by_label("Assessment date").fill(format_dmy(today).upper())  # typed in capitals
    page.get_by_label("Weight (kg)").fill("seventy")
    for name, value in {
        "systolic_bp_1": "128",
        "diastolic_bp_1": "82",
        "systolic_bp_2": "126",
        "diastolic_bp_2": "80",
    }.items():
        page.locator(f'input[name="{name}"]').fill(value)
    page.get_by_role("button", name="Save").click()

    summary = page.get_by_test_id("error-summary")
    expect(summary).to_be_visible()
    expect(summary).to_be_focused()
    expect(page.locator("#id_weight_kg")).to_have_value("seventy")  # kept, with its error
    summary.get_by_role("link", name="Weight (kg)").click()
    expect(page.locator("#id_weight_kg")).to_be_focused()

    page.locator("#id_weight_kg").fill("70")
    page.get_by_role("button", name="Save").click()
    expect(page.get_by_test_id("error-summary")).to_have_count(0)
    vitals = ScreeningVitals.objects.get(subject=subject)
    assert vitals.assessment_date == today
    page.goto(f"{base}/subjects/{subject.pk}/screening/vitals/")
    expect(page.get_by_label("Assessment date")).to_have_value(format_dmy(today))
