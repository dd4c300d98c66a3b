"""Kinetics CSV import in the browser: the lab's coordinator uploads a file, sees every bad row
in the preview (nothing saved), fixes the file, confirms, watches the progress finish, and
reads Cmax, Tmax, AUC0–28d and persistence on the subject's kinetics page (issue #13)."""

from __future__ import annotations

import datetime as dt

import pytest
from django.utils import timezone
from playwright.sync_api import Page, expect

from efficacy.models import KineticsSample
from enrollment import services
from tests.e2e.conftest import log_in
from tests.efficacy.sample_data import golden_kinetics_csv

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def infused(demo_team):
    study, site, users = demo_team
    screening = timezone.localdate() - dt.timedelta(days=230)
    subject = services.register_subject(
        actor=users["coordinator"], site=site, initials="PK", sex="M",
        birth_date=dt.date(1968, 9, 12), screening_date=screening,
        planned_apheresis_date=screening + dt.timedelta(days=5),
    )  # fmt: skip
    services.record_consent(
        subject,
        actor=users["coordinator"],
        icf_version="v2.1 2025-04-01",
        signed_at=timezone.make_aware(dt.datetime.combine(screening, dt.time(9, 0))),
        obtained_by=users["investigator"],
    )
    services.anchor_schedule(
        subject, timezone.localdate() - dt.timedelta(days=200), actor=users["coordinator"]
    )
    subject.refresh_from_db()
    return subject


def upload(page: Page, content: bytes) -> None:
    page.get_by_label("Sample type").select_option("kinetics")
    page.get_by_label("CSV file").set_input_files(
        {"name": "pk-batch.csv", "mimeType": "text/csv", "buffer": content}
    )
    page.get_by_role("button", name="Preview").click()


def test_a_coordinator_imports_kinetics_and_reads_the_parameters(page: Page, live_server, infused):
    log_in(page, live_server.url, "coordinator")
    page.get_by_role("link", name="Import efficacy samples").click()
    good = golden_kinetics_csv(infused)
    bad = good.replace(b",45000,copies/ug gDNA", b",45000,copies/mL")
    bad = bad.replace(b",12000,", b",-12000,")
    upload(page, bad)
    expect(page.locator("[data-line='4']").get_by_test_id("row-errors")).to_contain_text(
        "cannot be negative"
    )
    expect(page.locator("[data-line='5']").get_by_test_id("row-errors")).to_contain_text(
        "Unknown unit"
    )
    expect(page.get_by_test_id("preview-summary")).to_contain_text("2 with errors")
    expect(page.get_by_test_id("confirm-import")).to_have_count(0)
    assert not KineticsSample.objects.exists()

    upload(page, good)
    expect(page.get_by_test_id("preview-summary")).to_contain_text("10 to create")
    page.get_by_test_id("confirm-import").click()
    expect(page.get_by_test_id("import-progress")).to_contain_text("Done: 10 created")

    page.goto(f"{live_server.url}/subjects/{infused.pk}/")
    page.get_by_test_id("efficacy-samples").get_by_role("link", name="CAR-T kinetics").click()
    summary = page.get_by_test_id("kinetics-summary")
    expect(summary.get_by_test_id("tmax")).to_have_text("10")
    expect(summary.get_by_test_id("persistence")).to_have_text("Day 60")
    expect(summary.get_by_test_id("auc")).to_contain_text("423")
    expect(page.locator("canvas[data-chart='kinetics-spec']")).to_be_visible()
