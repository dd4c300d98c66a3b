"""The coordinator's first hour with a new patient, and the investigator's confirmation.

A coordinator registers a subject, records consent, enters screening data with one failing value
(creatinine 2.0 mg/dL), sees the failing criterion with its value and threshold, corrects it with
a reason for change, and the investigator confirms eligibility with an e-signature.
"""

from __future__ import annotations

import datetime as dt

import pytest
from django.utils import timezone
from playwright.sync_api import Page, expect

from enrollment import services
from enrollment.demo import eligible_screening_values
from enrollment.models import InvestigatorAttestation, ScreeningLabs, ScreeningVitals, Subject
from tests.e2e.conftest import log_in

pytestmark = pytest.mark.django_db(transaction=True)


def test_register_consent_screen_correct_and_confirm(live_server, page: Page, demo_team):
    study, site, users = demo_team
    base = live_server.url
    today = timezone.localdate()

    # The coordinator registers the subject.
    log_in(page, base, "coordinator")
    page.get_by_role("link", name="Screening log").click()
    page.get_by_role("link", name="Register a subject").click()
    page.get_by_label("Initials").fill("LQ")
    page.get_by_label("Sex").select_option("F")
    page.get_by_label("Date of birth").fill("1971-05-20")
    page.get_by_label("Planned apheresis date").fill((today + dt.timedelta(days=7)).isoformat())
    page.get_by_role("button", name="Register subject").click()
    expect(page.get_by_role("heading", name="TJ-S-0001")).to_be_visible()
    expect(page.get_by_test_id("consent-status")).to_contain_text("No consent recorded")

    # Consent, obtained by the coordinator now.
    page.get_by_role("link", name="Record consent").click()
    page.get_by_label("ICF version").select_option("v2.1 2025-04-01")
    page.get_by_role("button", name="Save consent").click()
    expect(page.get_by_test_id("consent-status")).to_contain_text("ICF v2.1 2025-04-01 signed")

    # Screening labs in the browser, with a failing creatinine.
    page.get_by_role("link", name="Screening laboratory values").click()
    page.get_by_label("Sample date").fill(today.isoformat())
    for name, value in {
        "alt_u_l": "30",
        "alt_uln_u_l": "40",
        "ast_u_l": "28",
        "ast_uln_u_l": "40",
        "total_bilirubin": "0.8",
        "total_bilirubin_uln": "1.2",
        "direct_bilirubin": "0.2",
        "direct_bilirubin_uln": "0.3",
        "creatinine": "2.0",
    }.items():
        page.locator(f'input[name="{name}"]').fill(value)
    page.locator('input[name="congenital_hyperbilirubinemia"][value="false"]').check()
    page.get_by_role("button", name="Save").click()
    expect(page.get_by_test_id("crf-list")).to_contain_text("Screening laboratory values")

    # The other screening CRFs, as the coordinator (and the investigator for the attestations)
    # would enter them; typed here through the same services the forms call.
    subject = Subject.objects.get(screening_number="TJ-S-0001")
    values = eligible_screening_values(today)
    values[ScreeningVitals]["weight_kg"] = 62
    for model, crf_values in values.items():
        if model is ScreeningLabs:
            continue
        actor = users["investigator"] if model is InvestigatorAttestation else users["coordinator"]
        services.save_screening_crf(subject, model, actor=actor, values=crf_values)

    # The checklist shows the failing criterion with its value and threshold.
    page.reload()
    page.get_by_role("link", name="Open the checklist").click()
    expect(page.get_by_test_id("eligibility-verdict")).to_contain_text("Not eligible")
    failing = page.locator('tr[data-criterion="IN7.3"]')
    expect(failing).to_contain_text("fail")
    expect(failing).to_contain_text("needs > 45")

    # Correct the transcription error with a reason for change.
    page.get_by_role("link", name="TJ-S-0001").click()
    page.get_by_role("link", name="Screening laboratory values").click()
    page.locator('input[name="creatinine"]').fill("0.9")
    page.get_by_role("button", name="Save").click()
    # Without a reason the browser refuses to submit (the server would refuse it too).
    expect(page.locator("#id_reason:invalid")).to_have_count(1)
    assert ScreeningLabs.objects.get(subject=subject).creatinine == 2
    page.locator('input[name="creatinine"]').fill("0.9")
    page.locator("#id_reason").fill("Transcription error: source report says 0.9 mg/dL")
    page.get_by_role("button", name="Save").click()
    page.get_by_role("link", name="Open the checklist").click()
    expect(page.get_by_test_id("eligibility-verdict")).to_contain_text(
        "Eligible by every criterion"
    )
    expect(page.get_by_role("link", name="Confirm eligibility (e-signature)")).to_have_count(0)

    # The investigator confirms with an e-signature.
    page.get_by_test_id("user-menu").click()
    page.get_by_role("button", name="Log out").click()
    log_in(page, base, "investigator")
    page.goto(f"{base}/subjects/{subject.pk}/eligibility/")
    page.get_by_role("link", name="Confirm eligibility (e-signature)").click()
    expect(page.get_by_test_id("signature-meaning")).to_contain_text(
        "I confirm this subject is eligible for the study."
    )
    page.get_by_label("Your password").fill("trialsite-demo")
    page.get_by_role("button", name="Sign").click()
    expect(page.get_by_text("Signed by Demo Investigator")).to_be_visible()
    page.get_by_role("link", name="TJ-S-0001").click()
    expect(page.get_by_test_id("subject-status")).to_contain_text("Eligible — awaiting cohort")
    expect(page.get_by_role("heading", name="TJ-S-0001 · TJ-001")).to_be_visible()
