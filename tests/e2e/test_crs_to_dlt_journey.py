"""The single browser journey of issue #11 Requirement 8: from a day of CRS to a DLT.

A coordinator records a day of CRS with fever and hypotension on norepinephrine and sees
"Grade 3" appear as the values are typed (the server grades them with the function the save
uses); saves; the CRS episode is kept as an AE, which the DLT evaluation flags as a candidate
(grade 3 CRS, presumed related; resolution within 72 h not yet known). The investigator opens
"DLT candidates", adjudicates that candidate (DLT yes, rationale, password), and the subject's
DLT evaluation shows the DLT. The separate journeys (test_crs_live_grade.py,
test_dlt_adjudication.py) test more of each step; this one tests that the steps join up.
"""

from __future__ import annotations

import pytest
from playwright.sync_api import Page, expect

from safety.models import AdverseEvent, DLTAdjudication, DLTEvaluation
from tests.e2e.conftest import log_in
from tests.safety.crs_data import infused_subject

pytestmark = pytest.mark.django_db(transaction=True)


def test_a_day_of_grade_3_crs_becomes_an_adjudicated_dlt(live_server, page: Page, demo_team):
    _study, site, users = demo_team
    subject = infused_subject(site, users["coordinator"], users["investigator"], days_ago=3)
    base = live_server.url

    # The coordinator records today's CRS and sees the grade as typed.
    log_in(page, base, "coordinator")
    page.goto(f"{base}/subjects/{subject.pk}/")
    page.get_by_role("link", name="Daily CRS assessments and episodes").click()
    page.get_by_role("link", name="Add today's CRS assessment").click()
    page.wait_for_url(f"**/safety/subjects/{subject.pk}/crs/new/")
    page.wait_for_load_state()
    live = page.get_by_test_id("live-grade")
    page.get_by_label("Maximum temperature (°C)").fill("39.1")
    expect(live).to_contain_text("Grade 1")
    page.get_by_label("Hypotension", exact=True).check()
    page.get_by_label("Norepinephrine", exact=True).check()
    page.get_by_label("Norepinephrine (µg/kg/min)").fill("0.1")
    expect(live).to_have_text("Grade 3: hypotension needing one vasopressor")
    page.get_by_role("button", name="Save CRS assessment").click()
    expect(page.get_by_test_id("episode-ae")).to_contain_text("Cytokine release syndrome")
    crs_event = AdverseEvent.objects.get(subject=subject)
    assert crs_event.worst_grade == 3

    # The investigator finds the candidate the save flagged and signs "DLT".
    page.context.clear_cookies()
    log_in(page, base, "investigator")
    page.get_by_role("link", name="DLT candidates").click()
    table = page.get_by_test_id("dlt-awaiting")
    expect(table).to_contain_text(str(subject))
    expect(table).to_contain_text("Cytokine release syndrome")
    table.get_by_role("link", name="Adjudicate").click()
    page.get_by_label("Yes: a DLT").check()
    page.get_by_label("Rationale").fill("Grade 3 CRS needing norepinephrine on Day 3.")
    page.get_by_label("Your password (e-signature)").fill("trialsite-demo")
    page.get_by_role("button", name="Sign the adjudication").click()

    # The subject's DLT evaluation shows the DLT.
    expect(page.get_by_test_id("dlt-status")).to_contain_text("Evaluable with DLT")
    expect(page.get_by_test_id("dlt-adjudication")).to_contain_text("Adjudicated: DLT")
    expect(page.get_by_test_id("dlt-adjudication")).to_contain_text("norepinephrine on Day 3")
    evaluation = DLTEvaluation.objects.get(subject=subject)
    assert evaluation.dlt is True
    assert DLTAdjudication.objects.get(subject=subject, event=crs_event).is_dlt is True
