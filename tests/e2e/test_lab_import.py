"""Lab CSV import in the browser: a coordinator uploads a file, sees a row error in the preview
(nothing saved), fixes the file, confirms, watches the progress finish, sees the CTCAE grades on
the subject's lab page and confirms a proposed AE (issue #11, labs)."""

from __future__ import annotations

import datetime as dt

import pytest
from django.utils import timezone
from playwright.sync_api import Page, expect

from enrollment import services
from safety.models import AdverseEvent, LabPanel
from tests.e2e.conftest import log_in

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def infused(demo_team):
    study, site, users = demo_team
    screening = timezone.localdate() - dt.timedelta(days=30)
    subject = services.register_subject(
        actor=users["coordinator"], site=site, initials="LB", sex="F",
        birth_date=dt.date(1970, 5, 2), screening_date=screening,
    )  # fmt: skip
    services.record_consent(
        subject,
        actor=users["coordinator"],
        icf_version="v2.1 2025-04-01",
        signed_at=timezone.make_aware(dt.datetime.combine(screening, dt.time(9, 0))),
        obtained_by=users["investigator"],
    )
    services.anchor_schedule(
        subject, timezone.localdate() - dt.timedelta(days=10), actor=users["coordinator"]
    )
    subject.refresh_from_db()
    return subject


def csv_text(subject, plt_unit: str) -> bytes:
    day3 = (subject.day0 + dt.timedelta(days=3)).isoformat()
    return (
        "subject,accession_number,collected_at,specimen,lab_name,test,value,unit,lln,uln\n"
        f"{subject.screening_number},E2E-1,{day3} 07:00,blood,Central,ANC,0.3,10^9/L,1.8,7.5\n"
        f"{subject.screening_number},E2E-1,{day3} 07:00,blood,Central,PLT,42,{plt_unit},,\n"
    ).encode()


def upload(page: Page, content: bytes) -> None:
    page.get_by_label("CSV file").set_input_files(
        {"name": "lis-export.csv", "mimeType": "text/csv", "buffer": content}
    )
    page.get_by_role("button", name="Preview").click()


def test_a_coordinator_imports_labs_and_confirms_a_proposed_ae(page: Page, live_server, infused):
    log_in(page, live_server.url, "coordinator")
    page.get_by_role("link", name="Import lab results").click()
    upload(page, csv_text(infused, "g/L"))
    bad = page.locator("[data-line='3']")
    expect(bad.get_by_test_id("row-errors")).to_contain_text("accepted units")
    expect(page.get_by_test_id("confirm-import")).to_have_count(0)
    assert not LabPanel.objects.exists()

    upload(page, csv_text(infused, "10^9/L"))
    expect(page.get_by_test_id("preview-summary")).to_contain_text("2 to create")
    page.get_by_test_id("confirm-import").click()
    expect(page.get_by_test_id("import-progress")).to_contain_text("Done: 2 created")

    page.goto(f"{live_server.url}/subjects/{infused.pk}/")
    page.get_by_test_id("safety-labs").get_by_role("link", name="Lab results").click()
    expect(page.locator("tr[data-test='ANC']").get_by_test_id("grade")).to_have_text("grade 4")
    expect(page.locator("tr[data-test='PLT']").get_by_test_id("grade")).to_have_text("grade 3")

    page.get_by_role("link", name="2 proposed adverse events to review").click()
    row = page.get_by_test_id("proposal").filter(has_text="Neutrophil count decreased")
    row.get_by_role("button", name="Confirm as AE").click()
    expect(page.get_by_text("Recorded as an adverse event")).to_be_visible()
    expect(
        page.get_by_test_id("proposal").filter(has_text="Neutrophil count decreased")
    ).to_contain_text("Confirmed as an adverse event")
    event = AdverseEvent.objects.get(subject=infused)
    assert (event.term.term, event.grade, event.source) == ("Neutrophil count decreased", 4, "lab")


def test_the_grade_appears_as_the_value_is_typed(page: Page, live_server, infused):
    log_in(page, live_server.url, "coordinator")
    page.goto(f"{live_server.url}/safety/subjects/{infused.pk}/labs/new/")
    day2 = infused.day0 + dt.timedelta(days=2)
    page.get_by_label("Collection date").fill(day2.isoformat())
    page.get_by_label("Collection time").fill("07:30")
    row = page.locator("tr[data-test='PLT']")
    row.get_by_label("Platelets").fill("22")
    expect(row.locator("[data-live-grade]")).to_have_text("L · grade 4")
    row.get_by_label("Platelets").fill("60")
    expect(row.locator("[data-live-grade]")).to_have_text("L · grade 2")
    assert not LabPanel.objects.exists()  # nothing saved until Save
