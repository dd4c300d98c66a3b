"""The investigator adjudicates a DLT candidate (issue #11 "Tests" §8, the DLT journey).

A related grade 3 AE inside the window that has not resolved within 72 hours is a DLT
candidate; the investigator finds it on "DLT candidates", opens the adjudication, signs "DLT"
with a rationale and their password (a wrong password first, refused on its field), and the
subject's DLT evaluation shows "Evaluable with DLT" with the signed adjudication. The AE is
entered through the service (the AE form is the AE CRF's own journey).
"""

from __future__ import annotations

import datetime as dt

import pytest
from django.utils import timezone
from playwright.sync_api import Page, expect

from enrollment import services
from enrollment.models import Subject
from safety.services import save_adverse_event
from tests.e2e.conftest import log_in
from tests.safety.ae_data import term

pytestmark = pytest.mark.django_db(transaction=True)


def infused(site, users):
    today = timezone.localdate()
    screening_date = today - dt.timedelta(days=30)
    subject = services.register_subject(
        actor=users["coordinator"],
        site=site,
        initials="DL",
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
    services.anchor_schedule(subject, today - dt.timedelta(days=10), actor=users["coordinator"])
    return Subject.objects.get(pk=subject.pk)


def test_the_investigator_adjudicates_a_candidate_and_the_evaluation_shows_it(
    live_server, page: Page, demo_team
):
    study, site, users = demo_team
    subject = infused(site, users)
    save_adverse_event(
        subject,
        actor=users["coordinator"],
        values={
            "term": term("Alanine aminotransferase increased", max_grade=4, soc="Investigations"),
            "onset_date": subject.day0 + dt.timedelta(days=4),
            "grade": 3,
            "relationship_car_t": "probable",
        },
    )
    base = live_server.url
    log_in(page, base, "investigator")
    page.get_by_role("link", name="DLT candidates").click()
    table = page.get_by_test_id("dlt-awaiting")
    expect(table).to_contain_text(str(subject))
    expect(table).to_contain_text("Alanine aminotransferase increased")
    expect(page.get_by_test_id("dlt-criteria-note")).to_contain_text("configurable DLT criteria")
    table.get_by_role("link", name="Adjudicate").click()

    page.get_by_label("Yes: a DLT").check()
    page.get_by_label("Rationale").fill("Grade 3 hepatotoxicity beyond 72 hours, probably related.")
    page.get_by_label("Your password (e-signature)").fill("not my password")
    page.get_by_role("button", name="Sign the adjudication").click()
    expect(page.locator("#div_id_password")).to_contain_text("The password is not correct")

    page.get_by_label("Yes: a DLT").check()
    page.get_by_label("Your password (e-signature)").fill("trialsite-demo")
    page.get_by_role("button", name="Sign the adjudication").click()

    expect(page.get_by_test_id("dlt-status")).to_contain_text("Evaluable with DLT")
    expect(page.get_by_test_id("dlt-adjudication")).to_contain_text("Adjudicated: DLT")
    expect(page.get_by_test_id("dlt-adjudication")).to_contain_text("Grade 3 hepatotoxicity")
    page.get_by_role("link", name="DLT candidates").click()
    expect(page.get_by_test_id("dlt-awaiting-empty")).to_be_visible()
