"""From an eligible subject to Day 0: the investigator signs the safety-review decision that
opens the first slot (the engine's "enroll 1 at DL1"), the coordinator assigns the subject to
it, records the apheresis, the product release, lymphodepletion and the CAR-T infusion, sees
Day 0 and the schedule, and the escalation dashboard shows the subject inside the DLT window.

The clock (``trialsite.clock``, shared with the live server's thread) is set to the day of each
step, as the days of a real treatment pass; nothing waits on time.
"""

from __future__ import annotations

import datetime as dt

import pytest
from playwright.sync_api import Page, expect

from enrollment import services as enrollment
from enrollment.models import EligibilityAssessment, Subject
from tests.e2e.conftest import log_in
from tests.enrollment_data import screen_eligible_subject
from trialsite import clock

pytestmark = pytest.mark.django_db(transaction=True)


def fill(page: Page, values: dict) -> None:
    for name, value in values.items():
        page.locator(f'[name="{name}"]').fill(value)


def test_assign_treat_and_see_day_0(live_server, page: Page, demo_team):
    study, site, users = demo_team
    base = live_server.url
    subject = screen_eligible_subject(site, users["coordinator"], users["investigator"])
    enrollment.confirm_eligibility(
        subject,
        actor=users["investigator"],
        password="trialsite-demo",
        expected_version=EligibilityAssessment.objects.get(subject=subject).version,
    )
    subject = Subject.objects.get(pk=subject.pk)
    start = clock.today()
    day0 = start + dt.timedelta(days=20)
    subject_url = f"{base}/subjects/{subject.pk}/"

    with clock.freeze(start + dt.timedelta(days=1)):
        # The safety review: the investigator accepts the engine's first step and signs.
        log_in(page, base, "investigator")
        page.goto(f"{base}/escalation/")
        expect(page.get_by_test_id("recommendation")).to_contain_text("enroll 1 at DL1")
        expect(page.get_by_test_id("open-slots")).to_contain_text("No slot is open.")
        page.get_by_label("Accept the recommendation").check()
        page.get_by_label("Your password (e-signature)").fill("wrong-password")
        page.get_by_role("button", name="Sign the decision").click()
        expect(page.get_by_test_id("error-summary")).to_contain_text("The password is not correct")
        page.get_by_label("Your password (e-signature)").fill("trialsite-demo")
        page.get_by_role("button", name="Sign the decision").click()
        expect(page.get_by_test_id("open-slots")).to_contain_text("1 slot open at DL1")
        expect(page.get_by_test_id("decision-signature")).to_contain_text("I record the safety")
        page.context.clear_cookies()  # the next user logs in on the same browser

        log_in(page, base, "coordinator")
        page.goto(subject_url)
        steps = page.get_by_test_id("treatment-steps")
        expect(steps).to_contain_text("Record the apheresis first")
        # Assign to DL1, the first ATD level.
        steps.get_by_role("link", name="Cohort assignment").click()
        page.locator('[name="dose_level"]').select_option(label="DL1 (5e+05 cells/kg)")
        page.locator('[name="phase"]').select_option("ATD")
        page.get_by_role("button", name="Assign").click()
        expect(page.get_by_test_id("subject-status")).to_contain_text("Enrolled")
        # Apheresis the same day.
        page.get_by_test_id("treatment-steps").get_by_role("link", name="Apheresis").click()
        fill(
            page,
            {
                "apheresis_date": (start + dt.timedelta(days=1)).isoformat(),
                "centre": "Tianjin apheresis unit",
                "volume_processed_l": "12",
                "wbc_collected_10e9": "8.4",
            },
        )
        page.get_by_role("button", name="Save apheresis").click()
        expect(page.get_by_test_id("treatment-steps")).to_contain_text("entered")

    with clock.freeze(start + dt.timedelta(days=12)):
        page.goto(subject_url)
        page.get_by_role("link", name="Manufacturing and product release").click()
        fill(
            page,
            {
                "lot_number": "CAR-26-0042",
                "release_date": (start + dt.timedelta(days=12)).isoformat(),
                "viability_pct": "93",
                "car_positive_pct": "40",
                "total_viable_car_t_cells_1e6": "400",
            },
        )
        page.locator('[name="release_result"]').select_option("pass")
        page.get_by_role("button", name="Save release").click()

    with clock.freeze(day0 - dt.timedelta(days=5)):
        page.goto(subject_url)
        page.get_by_role("link", name="Lymphodepletion").click()
        fill(
            page,
            {
                "planned_infusion_date": day0.isoformat(),
                "start_date": (day0 - dt.timedelta(days=5)).isoformat(),
                "height_cm": "175",
                "weight_kg": "70",
                "fludarabine_mg_m2_day_minus5": "30",
                "fludarabine_mg_m2_day_minus4": "30",
                "fludarabine_mg_m2_day_minus3": "30",
                "cyclophosphamide_mg_m2_day_minus5": "300",
                "cyclophosphamide_mg_m2_day_minus4": "300",
                "cyclophosphamide_mg_m2_day_minus3": "300",
            },
        )
        page.get_by_role("button", name="Save lymphodepletion").click()
        page.get_by_role("link", name="Lymphodepletion").click()
        expect(page.get_by_test_id("bsa")).to_contain_text("1.84 m²")

    with clock.freeze(dt.datetime.combine(day0, dt.time(8, 0), tzinfo=dt.UTC)):
        page.goto(subject_url)
        page.get_by_role("link", name="CAR-T infusion").click()
        expect(page.get_by_test_id("planned-dose")).to_contain_text("5e+05")
        page.locator('[name="infusion_start"]').fill(f"{day0.isoformat()}T07:30")
        fill(page, {"weight_kg": "", "total_car_t_cells_1e6": "35", "number_of_bags": "1"})
        page.locator('[name="premedication_given"][value="true"]').check()
        page.locator('[name="infusion_reaction"][value="false"]').check()
        page.get_by_role("button", name="Save infusion").click()
        # No weight: refused on the weight, the cell count kept.
        expect(
            page.get_by_text("Give the weight the dose was calculated for (cells/kg).", exact=True)
        ).to_be_visible()
        page.locator('[name="weight_kg"]').fill("70")
        page.get_by_role("button", name="Save infusion").click()
        expect(page.get_by_test_id("day0")).to_contain_text(day0.strftime("%d-%b-%Y"))
        expect(page.get_by_test_id("subject-status")).to_contain_text("Treated")
        expect(page.get_by_text("Day 28 (Month 1)")).to_be_visible()
        expect(
            page.get_by_text((day0 + dt.timedelta(days=28)).strftime("%d-%b-%Y")).first
        ).to_be_visible()
        page.get_by_test_id("treatment-steps").get_by_role("link", name="CAR-T infusion").click()
        expect(page.get_by_test_id("dose-deviation")).to_contain_text("+0.0 %")
        # The escalation dashboard: the subject is inside the DLT window, the engine waits.
        page.goto(f"{base}/escalation/")
        expect(page.get_by_test_id("recommendation")).to_contain_text("wait for the DLT window")
        expect(page.get_by_test_id("level-1")).to_contain_text(str(subject))
        expect(page.get_by_test_id("level-1")).to_contain_text("28 days left")
        expect(page.get_by_test_id("recomputing")).to_be_hidden()
