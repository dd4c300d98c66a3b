"""SAE pages: the list with each clock's time left (overdue in red), the report page, recording
a submission, the report details and the printable CIOMS-I-style report."""

from __future__ import annotations

import datetime as dt
import re
from pathlib import Path

import pytest

from enrollment.services import anchor_schedule
from safety.models import ClockKind, SAEClock, SAEReport
from tests.enrollment_data import register_and_consent
from tests.safety.sae_data import moment, serious_event

pytestmark = pytest.mark.django_db
CSS = Path(__file__).resolve().parents[2] / "static" / "css" / "trialsite.css"
QUERIES = 10  # the SAE list page, at 1 and at n SAEs


@pytest.fixture
def subject(site_a, coordinator_a, investigator_a):
    return register_and_consent(site_a, coordinator_a, investigator_a)


@pytest.fixture
def aware(subject, frozen_clock):
    at = moment(subject.screening_date + dt.timedelta(days=4))
    frozen_clock(at)
    return at


@pytest.fixture
def report(subject, coordinator_a, aware):
    return SAEReport.objects.get(event=serious_event(subject, coordinator_a))


def _initial(report) -> SAEClock:
    return SAEClock.objects.get(report=report, kind=ClockKind.INITIAL)


def _clock_li(html: str, kind: str) -> str:
    match = re.search(rf'<(?:li|tr) class="sae-clock ([^"]+)" data-testid="sae-clock-{kind}"', html)
    assert match, f"no {kind} clock on the page"
    return match.group(1)


def test_the_list_shows_a_running_24_hour_clock(client, coordinator_a, report):
    client.force_login(coordinator_a)
    html = client.get("/safety/sae/").content.decode()
    assert "Febrile neutropenia" in html and str(report.subject) in html
    assert _clock_li(html, "initial") == "sae-clock-running"
    assert "24 h 0 min left" in html


def test_an_overdue_clock_is_red_on_the_list(client, coordinator_a, report, aware, frozen_clock):
    frozen_clock(aware + dt.timedelta(hours=24, minutes=1))
    client.force_login(coordinator_a)
    html = client.get("/safety/sae/").content.decode()
    assert _clock_li(html, "initial") == "sae-clock-overdue"
    assert "overdue by 0 h 1 min" in html
    css = CSS.read_text(encoding="utf-8")
    assert ".sae-clock-overdue" in css and "--bs-danger" in css
    assert "style=" not in html.split("<main", 1)[1]  # no inline style (CSP)


def test_the_list_is_scoped_by_site(client, coordinator_b, report):
    client.force_login(coordinator_b)
    html = client.get("/safety/sae/").content.decode()
    assert "Febrile neutropenia" not in html
    assert "No serious adverse event recorded." in html


def test_the_list_filters_by_subject(client, coordinator_a, report, site_a, investigator_a):
    other = register_and_consent(site_a, coordinator_a, investigator_a, initials="ABC")
    client.force_login(coordinator_a)
    html = client.get(f"/safety/sae/?subject={other.screening_number}").content.decode()
    assert "Febrile neutropenia" not in html
    html = client.get(f"/safety/sae/?subject={report.subject.screening_number}").content.decode()
    assert "Febrile neutropenia" in html


def test_the_list_runs_a_fixed_number_of_queries(
    client, coordinator_a, investigator_a, site_a, aware, django_assert_num_queries
):
    client.force_login(coordinator_a)
    for n in (1, 3):
        while SAEReport.objects.count() < n:
            subject = register_and_consent(site_a, coordinator_a, investigator_a)
            serious_event(subject, coordinator_a)
        # session, user, current study, memberships, SAE reports with subject, site, event and
        # term, all their clocks, switchable studies, session save (savepoint, update, release)
        with django_assert_num_queries(QUERIES):
            response = client.get("/safety/sae/")
        assert response.content.decode().count('data-testid="sae-clock-initial"') == n


def test_the_report_page_offers_recording_to_the_site_and_reading_to_a_monitor(
    client, coordinator_a, monitor, report
):
    client.force_login(coordinator_a)
    html = client.get(f"/safety/sae/{report.pk}/").content.decode()
    assert "Record submission" in html and 'data-testid="sae-print-link"' in html
    client.force_login(monitor)
    html = client.get(f"/safety/sae/{report.pk}/").content.decode()
    assert "Record submission" not in html
    response = client.get(f"/safety/sae/clocks/{_initial(report).pk}/")
    assert response.status_code == 200 and response.context["readonly"] is True


def test_a_sponsor_and_another_site_do_not_open_the_report_page(
    client, sponsor, coordinator_b, report
):
    for user in (sponsor, coordinator_b):
        client.force_login(user)
        assert client.get(f"/safety/sae/{report.pk}/").status_code == 403
        assert client.get(f"/safety/sae/{report.pk}/print/").status_code == 403


def test_recording_the_initial_report_meets_the_clock(
    client, coordinator_a, report, aware, frozen_clock
):
    frozen_clock(aware + dt.timedelta(hours=5))
    initial = _initial(report)
    client.force_login(coordinator_a)
    url = f"/safety/sae/clocks/{initial.pk}/"
    form = client.get(url)
    assert form.status_code == 200 and form.context["readonly"] is False
    typed = (aware + dt.timedelta(hours=4)).astimezone(dt.UTC)
    from django.utils import timezone

    local = timezone.localtime(typed)
    response = client.post(
        url,
        {
            "submitted_at": local.strftime("%d-%b-%Y %H:%M"),
            "reference": "CIOMS-2026-0001",
            "version": initial.version,
        },
    )
    assert response.status_code == 302 and response["Location"] == f"/safety/sae/{report.pk}/"
    html = client.get(response["Location"]).content.decode()
    assert _clock_li(html, "initial") == "sae-clock-met"
    assert "CIOMS-2026-0001" in html


@pytest.mark.parametrize(
    ("values", "field", "code_text"),
    [
        ({"submitted_at": "yesterday", "reference": "X"}, "submitted_at", "DD-MMM-YYYY HH:MM"),
        ({"submitted_at": "31-Feb-2026 10:00", "reference": "X"}, "submitted_at", "DD-MMM-YYYY"),
        ({"submitted_at": "05-Mar-2026 25:00", "reference": "X"}, "submitted_at", "DD-MMM-YYYY"),
        ({"submitted_at": "", "reference": "X"}, "submitted_at", "required"),
        ({"reference": ""}, "reference", "required"),
    ],
)
def test_bad_submission_input_is_a_field_error_and_saves_nothing(
    client, coordinator_a, report, aware, values, field, code_text
):
    from django.utils import timezone

    initial = _initial(report)
    client.force_login(coordinator_a)
    data = {
        "submitted_at": timezone.localtime(aware).strftime("%d-%b-%Y %H:%M"),
        "version": initial.version,
        **values,
    }
    response = client.post(f"/safety/sae/clocks/{initial.pk}/", data)
    assert response.status_code == 400
    assert field in response.context["form"].errors
    initial.refresh_from_db()
    assert initial.submitted_at is None and initial.version == 1


def test_a_submission_in_the_future_is_refused_on_its_field(client, coordinator_a, report, aware):
    from django.utils import timezone

    initial = _initial(report)
    client.force_login(coordinator_a)
    future = timezone.localtime(aware + dt.timedelta(hours=2)).strftime("%d-%b-%Y %H:%M")
    response = client.post(
        f"/safety/sae/clocks/{initial.pk}/",
        {"submitted_at": future, "reference": "X", "version": initial.version},
    )
    assert response.status_code == 400
    assert [e.code for e in response.context["form"].errors.as_data()["submitted_at"]] == ["future"]


def test_the_report_details_need_a_reason_and_move_the_clocks(client, coordinator_a, report, aware):
    from django.utils import timezone

    client.force_login(coordinator_a)
    url = f"/safety/sae/{report.pk}/details/"
    earlier = timezone.localtime(aware - dt.timedelta(hours=3)).strftime("%d-%b-%Y %H:%M")
    data = {
        "aware_at": earlier,
        "narrative": "Fever 39.4 °C on Day 3 with ANC 0.1; admitted, cefepime started.",
        "relevant_tests": "See attached.",
        "concomitant_drugs": "See attached.",
        "relevant_history": "See attached.",
        "reporter": "",
        "version": report.version,
    }
    response = client.post(url, data)
    assert response.status_code == 400 and "reason" in response.context["form"].errors
    response = client.post(url, {**data, "reason": "the ward phoned earlier"})
    assert response.status_code == 302
    assert _initial(report).due_at == aware - dt.timedelta(hours=3) + dt.timedelta(hours=24)


def test_the_report_details_are_read_only_for_a_data_manager(client, data_manager, report):
    client.force_login(data_manager)
    response = client.get(f"/safety/sae/{report.pk}/details/")
    assert response.status_code == 200 and response.context["readonly"] is True
    assert client.post(f"/safety/sae/{report.pk}/details/", {}).status_code == 403


def test_the_printable_report_is_a_cioms_layout_with_sponsor_identifiers(
    client, coordinator_a, report, subject
):
    client.force_login(coordinator_a)
    html = client.get(f"/safety/sae/{report.pk}/print/").content.decode()
    assert 'data-testid="cioms-form"' in html
    assert f'<span data-testid="cioms-subject">{subject}</span>' in html
    assert "WLX" not in html and "1975" not in html  # no initials, no birth date
    criteria = re.search(r'data-testid="cioms-criteria">(.*?)</ul>', html, re.S).group(1)
    assert re.search(r'cioms-box">X</span> Requires or prolongs hospitalisation', criteria)
    assert re.search(r'cioms-box"></span> Results in death', criteria)
    assert "Not infused yet" in html
    assert "As recorded on the infusion CRF" in html  # the dose comes with the dosing wiring
    assert "See attached." in html  # labs and history the coordinator attaches
    assert "Principal investigator" in html  # reporter by default
    assert "js/print.js" in html


def test_the_printable_report_shows_day_0_once_infused(
    client, coordinator_a, investigator_a, report, subject
):
    day0 = subject.screening_date + dt.timedelta(days=1)
    anchor_schedule(subject, day0, actor=investigator_a)
    client.force_login(coordinator_a)
    html = client.get(f"/safety/sae/{report.pk}/print/").content.decode()
    shown = re.search(r'data-testid="cioms-day0">([^<]+)<', html).group(1)
    assert shown == day0.strftime("%d-%b-%Y")
    assert "(Day 2)" in html  # onset three days after screening: Day 2


def test_print_css_hides_the_navigation():
    css = CSS.read_text(encoding="utf-8")
    print_rules = css.split("@media print", 1)[1]
    assert "nav.navbar" in print_rules and ".no-print" in print_rules


def test_the_subject_page_links_to_its_saes(client, coordinator_a, report, subject):
    client.force_login(coordinator_a)
    html = client.get(f"/subjects/{subject.pk}/").content.decode()
    assert f"/safety/sae/?subject={subject.screening_number}" in html
