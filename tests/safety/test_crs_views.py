"""CRS/ICANS pages: the daily list (fixed queries), the CRF, readers read-only, live grade."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
from django.test import Client
from django.urls import reverse

from safety.models import AdverseEvent, CRSAssessment
from tests.enrollment_data import register_and_consent
from tests.safety.crs_data import add_crs, add_icans, infused_subject

pytestmark = pytest.mark.django_db


@pytest.fixture
def subject(site_a, coordinator_a, investigator_a):
    return infused_subject(site_a, coordinator_a, investigator_a)


def _post_data(day: dt.date, **changes) -> dict:
    return {
        "assessment_date": day.isoformat(),
        "max_temperature_c": "38.9",
        "hypotension": "on",
        "vasopressors": ["norepinephrine"],
        "norepinephrine_ug_kg_min": "0.08",
        "oxygen_device": "room_air",
        **changes,
    }


def test_the_daily_list_has_a_fixed_number_of_queries(
    client, subject, coordinator_a, django_assert_num_queries
):
    client.force_login(coordinator_a)
    url = reverse("safety:crs-list", args=[subject.pk])
    add_crs(subject, coordinator_a, 1, "38.5")
    client.get(url)  # warm the session and the study
    # Session, user, studies of the menu, subject, memberships; episodes, their AEs (one query
    # for all), the days; the menu's studies, the session save, and the platform's own reads:
    # 12, the same at 1 day and at 6 days with two episodes.
    with django_assert_num_queries(12) as one:
        response = client.get(url)
    assert response.status_code == 200
    for day, tmax in ((2, "37.0"), (3, "38.6"), (4, "39.1"), (5, "38.2"), (6, "37.1")):
        add_crs(subject, coordinator_a, day, tmax)
    with django_assert_num_queries(len(one.captured_queries)):
        response = client.get(url)
    assert response.content.decode().count('data-testid="episode-ae"') == 2


def test_the_icans_list_has_the_same_number_of_queries_at_n_days(
    client, subject, coordinator_a, django_assert_num_queries
):
    client.force_login(coordinator_a)
    url = reverse("safety:icans-list", args=[subject.pk])
    add_icans(subject, coordinator_a, 1, (3, 2, 1, 0, 0))
    client.get(url)
    with django_assert_num_queries(12) as one:
        client.get(url)
    for day in range(2, 6):
        add_icans(subject, coordinator_a, day, (4, 3, 1, 1, 0))
    with django_assert_num_queries(len(one.captured_queries)):
        client.get(url)


def test_a_coordinator_records_a_day_and_sees_the_grade_the_episode_and_its_ae(
    client, subject, coordinator_a
):
    client.force_login(coordinator_a)
    day = subject.day0 + dt.timedelta(days=2)
    response = client.post(reverse("safety:crs-new", args=[subject.pk]), _post_data(day))
    assert response.status_code == 302
    saved = CRSAssessment.objects.get(subject=subject)
    assert (saved.grade, saved.deciding) == (3, "hypotension_one_vasopressor")
    page = client.get(reverse("safety:crs-list", args=[subject.pk])).content.decode()
    assert "Grade 3: hypotension needing one vasopressor" in page
    assert "Cytokine release syndrome, grade 3 (worst 3)" in page


def test_a_vasopressor_without_a_dose_is_a_field_error_on_the_form(client, subject, coordinator_a):
    client.force_login(coordinator_a)
    day = subject.day0 + dt.timedelta(days=2)
    data = _post_data(day, norepinephrine_ug_kg_min="")
    response = client.post(reverse("safety:crs-new", args=[subject.pk]), data)
    assert response.status_code == 400
    assert response.context["form"].errors.as_data()["norepinephrine_ug_kg_min"][0].code == (
        "dose_required"
    )
    assert not CRSAssessment.objects.exists()
    assert not AdverseEvent.objects.exists()


def test_an_ice_item_out_of_range_is_a_field_error_on_the_form(client, subject, coordinator_a):
    client.force_login(coordinator_a)
    data = {
        "assessment_date": (subject.day0 + dt.timedelta(days=1)).isoformat(),
        "ice_orientation": "6",
        "ice_naming": "3",
        "ice_commands": "1",
        "ice_writing": "1",
        "ice_attention": "1",
        "consciousness": "awake",
        "seizure": "none",
        "motor": "none",
        "raised_icp": "none",
    }
    response = client.post(reverse("safety:icans-new", args=[subject.pk]), data)
    assert response.status_code == 400
    assert response.context["form"].errors.as_data()["ice_orientation"][0].code == "out_of_range"


def test_a_monitor_reads_a_day_read_only_and_gets_no_add_button(
    client, subject, coordinator_a, monitor
):
    saved = add_crs(subject, coordinator_a, 1, "38.5")
    client.force_login(monitor)
    page = client.get(reverse("safety:crs-list", args=[subject.pk]))
    assert page.status_code == 200
    assert "Add today&#x27;s CRS assessment" not in page.content.decode()
    response = client.get(reverse("safety:crs-edit", args=[subject.pk, saved.pk]))
    assert response.status_code == 200 and response.context["readonly"] is True
    assert "Grade 1: fever without hypotension or oxygen need" in response.content.decode()
    assert client.get(reverse("safety:crs-new", args=[subject.pk])).status_code == 403
    assert client.post(reverse("safety:crs-grade", args=[subject.pk]), {}).status_code == 403


def test_before_day0_the_crf_is_read_only_with_the_reason(
    client, site_a, coordinator_a, investigator_a
):
    subject = register_and_consent(site_a, coordinator_a, investigator_a)
    client.force_login(coordinator_a)
    response = client.get(reverse("safety:crs-new", args=[subject.pk]))
    assert response.status_code == 200
    assert "Record the CAR-T infusion (Day 0)" in response.content.decode()


# --- The live grade ---------------------------------------------------------------------------


def test_the_live_grade_names_the_deciding_parameter(client, subject, coordinator_a):
    client.force_login(coordinator_a)
    day = subject.day0 + dt.timedelta(days=2)
    answer = client.post(reverse("safety:crs-grade", args=[subject.pk]), _post_data(day)).json()
    assert answer["grade"] == 3
    assert answer["sentence"] == "Grade 3: hypotension needing one vasopressor"
    assert answer["errors"] == {}
    assert not CRSAssessment.objects.exists()  # grading saves nothing


def test_the_live_grade_answers_field_errors_with_codes(client, subject, coordinator_a):
    client.force_login(coordinator_a)
    day = subject.day0 + dt.timedelta(days=2)
    data = _post_data(day, norepinephrine_ug_kg_min="")
    answer = client.post(reverse("safety:crs-grade", args=[subject.pk]), data).json()
    assert answer["grade"] is None
    assert answer["errors"]["norepinephrine_ug_kg_min"][0]["code"] == "dose_required"


def test_the_live_grade_of_a_correction_uses_the_earlier_days(client, subject, coordinator_a):
    add_crs(
        subject,
        coordinator_a,
        1,
        "39.0",
        tocilizumab_given=True,
        tocilizumab_dose_mg=Decimal("560"),
    )
    day2 = add_crs(subject, coordinator_a, 2, "37.0")
    client.force_login(coordinator_a)
    data = {
        "assessment_date": day2.assessment_date.isoformat(),
        "max_temperature_c": "37.0",
        "oxygen_device": "blow_by",
        "version": day2.version,
        "record_id": day2.pk,
    }
    answer = client.post(reverse("safety:crs-grade", args=[subject.pk]), data).json()
    assert answer["sentence"] == (
        "Grade 2: oxygen by low-flow nasal cannula (≤ 6 L/min) or blow-by"
    )


def test_the_live_grade_is_csrf_protected(subject, coordinator_a):
    browser = Client(enforce_csrf_checks=True)
    browser.force_login(coordinator_a)
    day = subject.day0 + dt.timedelta(days=2)
    response = browser.post(reverse("safety:crs-grade", args=[subject.pk]), _post_data(day))
    assert response.status_code == 403


def test_the_live_grade_of_icans(client, subject, coordinator_a):
    client.force_login(coordinator_a)
    data = {
        "assessment_date": (subject.day0 + dt.timedelta(days=1)).isoformat(),
        "ice_orientation": "4",
        "ice_naming": "1",
        "ice_commands": "1",
        "ice_writing": "1",
        "ice_attention": "0",
        "consciousness": "awakens_to_voice",
        "seizure": "none",
        "motor": "none",
        "raised_icp": "none",
    }
    answer = client.post(reverse("safety:icans-grade", args=[subject.pk]), data).json()
    assert answer["sentence"] == (
        "Grade 2: depressed level of consciousness (Depressed: awakens to voice)"
    )
    assert answer["ice_score"] == 7


def test_the_history_of_an_episode_ae_opens_before_the_ae_pages_exist(
    client, subject, coordinator_a
):
    from django.contrib.contenttypes.models import ContentType

    add_crs(subject, coordinator_a, 1, "38.5")
    event = AdverseEvent.objects.get(subject=subject)
    client.force_login(coordinator_a)
    content_type = ContentType.objects.get_for_model(AdverseEvent).pk
    response = client.get(reverse("records:history", args=[content_type, event.pk]))
    assert response.status_code == 200
