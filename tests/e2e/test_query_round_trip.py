"""Data queries in the browser: a soft check's automatic query, and a monitor's manual query.

(a) The coordinator enters screening vital signs dated after the screening visit window
    (screening date .. +28 days, rule VIS-WINDOW): the save goes through and the form shows the
    open automatic query beside the date; correcting the date, with a reason for change, closes
    the query by itself ("Closed automatically" in its thread).
(b) The monitor opens the CRF read-only and raises a query on a field; the coordinator sees it
    beside the field on the form and in the subject's open-query count, and answers; the monitor
    sees "Answered" and closes it (issue 8 §2).
"""

from __future__ import annotations

import datetime as dt

import pytest
from django.utils import timezone
from playwright.sync_api import Page, expect

from enrollment import services
from enrollment.models import ScreeningVitals
from tests.e2e.conftest import log_in

pytestmark = pytest.mark.django_db(transaction=True)

SCREENED_DAYS_AGO = 40  # the screening window (screening date + 28 days) closed 12 days ago


@pytest.fixture
def consented_subject(demo_team):
    """A subject screened 40 days ago whose consent is on file, ready for screening data."""
    study, site, users = demo_team
    screening_date = timezone.localdate() - dt.timedelta(days=SCREENED_DAYS_AGO)
    subject = services.register_subject(
        actor=users["coordinator"],
        site=site,
        initials="QR",
        sex="M",
        birth_date=dt.date(1968, 3, 14),
        screening_date=screening_date,
    )
    services.record_consent(
        subject,
        actor=users["coordinator"],
        icf_version="v2.1 2025-04-01",
        signed_at=timezone.make_aware(dt.datetime.combine(screening_date, dt.time(9, 30))),
        obtained_by=users["investigator"],
    )
    return subject


def log_out(page: Page) -> None:
    page.get_by_test_id("user-menu").click()
    page.get_by_role("button", name="Log out").click()


def enter_vitals(page: Page, assessment_date: dt.date) -> None:
    page.get_by_label("Assessment date").fill(assessment_date.isoformat())
    for name, value in {
        "height_cm": "172",
        "weight_kg": "70",
        "systolic_bp_1": "128",
        "diastolic_bp_1": "82",
        "systolic_bp_2": "126",
        "diastolic_bp_2": "80",
        "spo2_room_air_pct": "97",
        "ecog": "1",
    }.items():
        field = page.locator(f'[name="{name}"]')
        if field.evaluate("e => e.tagName") == "SELECT":
            field.select_option(value)
        else:
            field.fill(value)
    page.get_by_role("button", name="Save").click()


def test_a_visit_window_query_closes_itself_when_the_date_is_corrected(
    live_server, page: Page, consented_subject
):
    subject = consented_subject
    base = live_server.url
    today = timezone.localdate()

    log_in(page, base, "coordinator")
    page.goto(f"{base}/subjects/{subject.pk}/")
    page.get_by_role("link", name="Demographics and vital signs").click()
    enter_vitals(page, today)  # 40 days after screening: outside the 28-day window

    # The save went through (a soft check), and the form shows the query beside the date.
    expect(page.get_by_test_id("crf-list")).to_contain_text("Demographics and vital signs")
    page.get_by_role("link", name="Demographics and vital signs").click()
    beside_date = page.locator('.field-queries[data-field="assessment_date"]')
    expect(beside_date).to_contain_text("Open query")
    expect(beside_date).to_contain_text("VIS-WINDOW")
    expect(beside_date).to_contain_text(f"the date given is {today.isoformat()}")
    thread_url = beside_date.get_by_role("link", name="thread").get_attribute("href")

    # The coordinator corrects the date to the screening day, with a reason for change.
    page.get_by_label("Assessment date").fill(subject.screening_date.isoformat())
    page.locator("#id_reason").fill("Vitals were taken at the screening visit; date mistyped")
    page.get_by_role("button", name="Save").click()
    expect(page.get_by_test_id("crf-list")).to_be_visible()
    assert ScreeningVitals.objects.get(subject=subject).assessment_date == subject.screening_date

    page.get_by_role("link", name="Demographics and vital signs").click()
    expect(page.locator(".field-queries")).to_have_count(0)
    page.goto(f"{base}{thread_url}")
    expect(page.get_by_test_id("query-status")).to_have_text("Closed")
    expect(page.get_by_test_id("query-thread")).to_contain_text(
        "Closed automatically (data corrected)"
    )


def test_a_monitor_query_is_answered_by_the_coordinator_and_closed(
    live_server, page: Page, consented_subject, demo_team
):
    subject = consented_subject
    users = demo_team[2]
    services.save_screening_crf(
        subject,
        ScreeningVitals,
        actor=users["coordinator"],
        values={
            "assessment_date": subject.screening_date,
            "height_cm": 172,
            "weight_kg": 70,
            "systolic_bp_1": 128,
            "diastolic_bp_1": 82,
            "systolic_bp_2": 126,
            "diastolic_bp_2": 80,
            "spo2_room_air_pct": 97,
            "ecog": 1,
        },
    )
    base = live_server.url

    # The monitor reads the CRF (read-only) and raises a query on the weight.
    log_in(page, base, "monitor")
    page.goto(f"{base}/subjects/{subject.pk}/")
    expect(page.get_by_test_id("open-queries")).to_contain_text("0 open queries")
    page.get_by_role("link", name="Demographics and vital signs").click()
    expect(page.get_by_text("read-only")).to_be_visible()
    expect(page.get_by_role("button", name="Save")).to_have_count(0)
    page.get_by_label("Question", exact=True).select_option("weight_kg")
    page.get_by_label("Query", exact=True).fill("Source says 76 kg; please check the weight.")
    page.get_by_role("button", name="Raise query").click()
    expect(page.get_by_test_id("query-status")).to_have_text("Open")
    log_out(page)

    # The coordinator sees it on the subject page and beside the field, and answers.
    log_in(page, base, "coordinator")
    page.goto(f"{base}/subjects/{subject.pk}/")
    expect(page.get_by_test_id("open-queries")).to_contain_text("1 open query")
    page.get_by_role("link", name="Demographics and vital signs").click()
    beside_weight = page.locator('.field-queries[data-field="weight_kg"]')
    expect(beside_weight).to_contain_text("Source says 76 kg; please check the weight.")
    beside_weight.get_by_role("link", name="thread").click()
    page.get_by_label("Answer").fill("Checked the source: 70 kg is right, 76 kg was last year.")
    page.get_by_role("button", name="Send answer").click()
    expect(page.get_by_test_id("query-status")).to_have_text("Answered")
    log_out(page)

    # The monitor sees the answer and closes the query.
    log_in(page, base, "monitor")
    page.get_by_role("link", name="Data queries").click()
    page.get_by_role("link", name="Source says 76 kg; please check the weight.").click()
    expect(page.get_by_test_id("query-status")).to_have_text("Answered")
    expect(page.get_by_test_id("query-thread")).to_contain_text("70 kg is right")
    page.get_by_role("button", name="Close query").click()
    expect(page.get_by_test_id("query-status")).to_have_text("Closed")
    page.goto(f"{base}/subjects/{subject.pk}/")
    expect(page.get_by_test_id("open-queries")).to_contain_text("0 open queries")
