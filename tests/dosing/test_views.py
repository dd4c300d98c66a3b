"""Dosing pages: entry through the forms, refusals on their fields, blocked pages, derived values.

Forms post what a browser sends (strings, DD-MMM-YYYY or ISO dates, datetime-local); the clock
is set to the day of each entry.
"""

from __future__ import annotations

import datetime as dt

import pytest
from django.urls import reverse

from dosing.models import Apheresis, CohortAssignment, Infusion
from tests.dosing_data import (
    DAYS_TO_INFUSION,
    confirmed_subject,
    level,
    prepare_treatment,
    sign_decision,
    treated_subject,
)
from tests.enrollment_data import screen_eligible_subject
from trialsite import clock

pytestmark = pytest.mark.django_db


def error_codes(response, field: str) -> list[str]:
    form = response.context["form"]
    return [e.code for e in form.errors.as_data().get(field, [])]


def test_a_coordinator_assigns_a_confirmed_subject_on_the_page(
    client, site_a, coordinator_a, investigator_a
):
    subject = confirmed_subject(site_a, coordinator_a, investigator_a)
    client.force_login(coordinator_a)
    url = reverse("dosing:assign", args=[subject.pk])
    page = client.get(url)
    assert page.status_code == 200 and page.context["readonly"] is False
    body = {"dose_level": level(subject.study, 1).pk, "phase": "ATD", "cohort_number": "1"}
    closed = client.post(url, body)
    assert closed.status_code == 400
    assert error_codes(closed, "dose_level") == ["no_decision"]
    sign_decision(subject.study, investigator_a, accept=True)  # the engine: 1 at DL1 (ATD)
    response = client.post(url, body)
    assert response.status_code == 302
    assignment = CohortAssignment.objects.get(subject=subject)
    assert assignment.dose_level.label == "DL1"
    again = client.get(url)
    assert again.context["readonly"] is True
    assert "Assigned to DL1" in again.context["blocked"]


def test_a_dosing_page_before_confirmation_is_read_only_with_the_reason(
    client, site_a, coordinator_a, investigator_a
):
    subject = screen_eligible_subject(site_a, coordinator_a, investigator_a)
    client.force_login(coordinator_a)
    response = client.get(reverse("dosing:apheresis", args=[subject.pk]))
    assert response.status_code == 200 and response.context["readonly"] is True
    assert "Eligibility has not been confirmed" in response.context["blocked"]
    posted = client.post(reverse("dosing:apheresis", args=[subject.pk]), {})
    assert posted.status_code == 409
    assert not Apheresis.objects.exists()


def test_bad_apheresis_input_comes_back_on_its_field(client, site_a, coordinator_a, investigator_a):
    subject = confirmed_subject(site_a, coordinator_a, investigator_a)
    client.force_login(coordinator_a)
    url = reverse("dosing:apheresis", args=[subject.pk])
    today = clock.today()
    base = {
        "apheresis_date": today.isoformat(),
        "centre": "Tianjin",
        "volume_processed_l": "12",
        "product_shipped_date": (today - dt.timedelta(days=1)).isoformat(),
    }
    response = client.post(url, base)
    assert response.status_code == 400
    assert error_codes(response, "product_shipped_date") == ["order"]
    response = client.post(url, {**base, "product_shipped_date": "", "volume_processed_l": "abc"})
    assert response.status_code == 400 and error_codes(response, "volume_processed_l") == [
        "invalid"
    ]
    assert "abc" in response.content.decode()  # the input is kept beside its error
    response = client.post(
        url,
        {**base, "product_shipped_date": "", "apheresis_date": subject.screening_date.isoformat()},
    )
    assert error_codes(response, "apheresis_date") == ["before_confirmation"]
    assert not Apheresis.objects.exists()


def test_the_lymphodepletion_page_shows_the_bsa_and_mg_per_day(
    client, site_a, coordinator_a, investigator_a
):
    subject = confirmed_subject(site_a, coordinator_a, investigator_a)
    day0 = clock.today() + dt.timedelta(days=DAYS_TO_INFUSION)
    prepare_treatment(subject, coordinator_a, day0=day0)
    client.force_login(coordinator_a)
    with clock.freeze(day0 - dt.timedelta(days=3)):
        page = client.get(reverse("dosing:lymphodepletion", args=[subject.pk])).content.decode()
    assert "Body surface area: 1.84 m²" in page  # Mosteller, 175 cm, 70 kg
    assert "30.0 mg/m² = 55.3 mg" in page
    assert (day0 - dt.timedelta(days=5)).strftime("%d-%b-%Y") in page


def test_the_infusion_form_records_day_0_and_the_subject_page_shows_it(
    client, site_a, coordinator_a, investigator_a
):
    subject = confirmed_subject(site_a, coordinator_a, investigator_a)
    day0 = clock.today() + dt.timedelta(days=DAYS_TO_INFUSION)
    prepare_treatment(subject, coordinator_a, day0=day0)
    client.force_login(coordinator_a)
    url = reverse("dosing:infusion", args=[subject.pk])
    form = {
        "infusion_start": f"{day0.isoformat()}T10:30",
        "weight_kg": "",
        "total_car_t_cells_1e6": "35",
        "number_of_bags": "1",
        "premedication_given": "true",
        "premedication": "paracetamol",
        "infusion_reaction": "false",
    }
    with clock.freeze(day0):
        page = client.get(url).content.decode()
        assert "Planned dose" in page and "5e+05" in page
        missing_weight = client.post(url, form)
        assert missing_weight.status_code == 400
        assert error_codes(missing_weight, "weight_kg") == ["weight_required"]
        too_much = client.post(url, {**form, "weight_kg": "70", "total_car_t_cells_1e6": "50"})
        assert error_codes(too_much, "total_car_t_cells_1e6") == ["INF-DOSE-MAX"]
        assert not Infusion.objects.exists()
        saved = client.post(url, {**form, "weight_kg": "70"})
        assert saved.status_code == 302
        shown = client.get(url).content.decode()
        assert "+0.0 %" in shown
        subject_page = client.get(reverse("enrollment:subject", args=[subject.pk])).content.decode()
    assert f"Day 0 (CAR-T infusion): {day0.strftime('%d-%b-%Y')}" in subject_page
    assert "Day 28 (Month 1)" in subject_page
    assert 'data-testid="subject-status">Treated' in subject_page


def test_the_treatment_section_says_what_is_next_and_what_is_blocked(
    client, site_a, coordinator_a, investigator_a
):
    subject = confirmed_subject(site_a, coordinator_a, investigator_a)
    client.force_login(coordinator_a)
    page = client.get(reverse("enrollment:subject", args=[subject.pk])).content.decode()
    section = page.split('data-testid="treatment-steps"', 1)[1].split("</ul>", 1)[0]
    assert section.count(">next<") == 2  # assignment and apheresis can be entered now
    assert "Record the apheresis first" in section
    assert "assign a cohort first" not in section  # the apheresis reason comes first


def test_a_monitor_reads_the_infusion_page_read_only(
    client, site_a, coordinator_a, investigator_a, monitor
):
    subject, day0 = treated_subject(site_a, coordinator_a, investigator_a)
    client.force_login(monitor)
    response = client.get(reverse("dosing:infusion", args=[subject.pk]))
    assert response.status_code == 200 and response.context["readonly"] is True
    page = response.content.decode()
    assert "Raise a data query" in page and "+0.0 %" in page


def test_the_infusion_page_runs_a_fixed_number_of_queries(
    client, site_a, coordinator_a, investigator_a, django_assert_num_queries
):
    client.force_login(coordinator_a)
    for _ in range(2):
        subject, _day0 = treated_subject(site_a, coordinator_a, investigator_a)
        url = reverse("dosing:infusion", args=[subject.pk])
        client.get(url)
        # session, user, current study, subject, memberships; the treatment state: assignment
        # with its level, the 4 CRFs (each with its visit, study, subject, last editor), active
        # consent, eligibility assessment, its signature; the infusion's open queries; the
        # study switcher (2); session save (savepoint, update, release)
        with django_assert_num_queries(18):
            assert client.get(url).status_code == 200
