"""A coordinator records a day of CRS and sees the ASTCT grade as typed (issue #11).

Fever, hypotension on one vasopressor: "Grade 3" appears beside the form before saving (the
server grades the typed values with the same function the save uses); after saving, the CRS
episode and the adverse event it is kept as are on the subject's CRS page.
"""

from __future__ import annotations

import pytest
from playwright.sync_api import Page, expect

from safety.models import AdverseEvent, CRSAssessment
from tests.e2e.conftest import log_in
from tests.safety.crs_data import infused_subject

pytestmark = pytest.mark.django_db(transaction=True)


def test_a_coordinator_sees_grade_3_as_typed_then_the_episode_and_its_ae(
    live_server, page: Page, demo_team
):
    _study, site, users = demo_team
    subject = infused_subject(site, users["coordinator"], users["investigator"], days_ago=3)
    base = live_server.url

    log_in(page, base, "coordinator")
    page.goto(f"{base}/subjects/{subject.pk}/")
    page.get_by_role("link", name="Daily CRS assessments and episodes").click()
    page.get_by_role("link", name="Add today's CRS assessment").click()
    page.wait_for_url(f"**/safety/subjects/{subject.pk}/crs/new/")
    page.wait_for_load_state()

    live = page.get_by_test_id("live-grade")
    page.get_by_label("Maximum temperature (°C)").fill("38.9")
    expect(live).to_have_text("Grade 1: fever without hypotension or oxygen need")
    page.get_by_label("Hypotension", exact=True).check()
    page.get_by_label("Norepinephrine", exact=True).check()
    expect(live).to_contain_text("Give the dose of norepinephrine")
    page.get_by_label("Norepinephrine (µg/kg/min)").fill("0.08")
    expect(live).to_have_text("Grade 3: hypotension needing one vasopressor")
    assert not CRSAssessment.objects.exists()  # graded as typed, nothing saved yet

    page.get_by_role("button", name="Save CRS assessment").click()
    expect(page.get_by_test_id("episodes")).to_contain_text("Grade 3")
    expect(page.get_by_test_id("episode-ae")).to_contain_text(
        "Cytokine release syndrome, grade 3 (worst 3)"
    )
    expect(page.get_by_test_id("daily-assessments")).to_contain_text(
        "Grade 3: hypotension needing one vasopressor"
    )
    assert AdverseEvent.objects.get(subject=subject).worst_grade == 3
