"""What a coordinator types is kept; each error lands on its own field (issue 10, items 9–11)."""

from __future__ import annotations

import datetime as dt

import pytest
from django.urls import reverse
from django.utils import timezone

from enrollment.models import Subject
from tests.enrollment_data import register_and_consent

pytestmark = pytest.mark.django_db


def _register(client, **values):
    data = {
        "initials": "ZHW",
        "sex": "F",
        "screening_date": timezone.localdate().isoformat(),
        **values,
    }
    return client.post(reverse("enrollment:register"), data)


def test_a_birth_date_of_1826_is_refused_on_the_birth_date_field(client, coordinator_a, site_a):
    client.force_login(coordinator_a)
    response = _register(client, site=site_a.pk, birth_date="1826-05-01")
    assert response.status_code == 400
    errors = response.context["form"].errors
    assert "birth_date" in errors
    assert "birth_year" not in errors
    assert not Subject.objects.exists()


def test_a_year_of_birth_contradicting_the_date_is_refused_at_registration(
    client, coordinator_a, site_a
):
    client.force_login(coordinator_a)
    response = _register(client, site=site_a.pk, birth_date="1968-07-02", birth_year="1970")
    assert response.status_code == 400
    assert "does not match" in response.context["form"].errors["birth_year"][0]
    assert not Subject.objects.exists()


def test_a_matching_year_of_birth_is_accepted(client, coordinator_a, site_a):
    client.force_login(coordinator_a)
    response = _register(client, site=site_a.pk, birth_date="1968-07-02", birth_year="1968")
    assert response.status_code == 302
    assert Subject.objects.get().birth_year == 1968


def test_letters_typed_into_a_number_field_are_shown_again_beside_the_error(
    client, coordinator_a, investigator_a, site_a
):
    subject = register_and_consent(site_a, coordinator_a, investigator_a)
    client.force_login(coordinator_a)
    response = client.post(
        reverse("enrollment:crf", args=[subject.pk, "vitals"]),
        {"assessment_date": timezone.localdate().isoformat(), "weight_kg": "seventy"},
    )
    assert response.status_code == 400
    page = response.content.decode()
    assert "weight_kg" in response.context["form"].errors
    # The raw text is kept in an input that can hold it (type=number would blank it).
    assert 'value="seventy"' in page
    assert 'type="number"' not in page


def test_a_long_form_with_errors_gets_a_summary_linking_to_each_field(
    client, coordinator_a, investigator_a, site_a
):
    subject = register_and_consent(site_a, coordinator_a, investigator_a)
    client.force_login(coordinator_a)
    response = client.post(
        reverse("enrollment:crf", args=[subject.pk, "vitals"]),
        {"assessment_date": timezone.localdate().isoformat(), "weight_kg": "seventy"},
    )
    page = response.content.decode()
    assert 'data-testid="error-summary"' in page
    assert 'href="#id_weight_kg"' in page
    assert 'href="#id_systolic_bp_1"' in page
    assert page.index('data-testid="error-summary"') < page.index('id="id_weight_kg"')


def test_dates_are_shown_as_dd_mmm_yyyy_in_a_text_input(
    client, coordinator_a, investigator_a, site_a
):
    subject = register_and_consent(
        site_a, coordinator_a, investigator_a, birth_date=dt.date(1975, 3, 15)
    )
    client.force_login(coordinator_a)
    page = client.get(reverse("enrollment:edit-subject", args=[subject.pk])).content.decode()
    assert 'value="15-Mar-1975"' in page
    assert 'type="date"' not in page


@pytest.mark.parametrize("typed", ["02-Jul-1968", "2-jul-1968", "1968-07-02", "02-JUL-1968"])
def test_a_date_typed_as_dd_mmm_yyyy_or_iso_is_accepted(client, coordinator_a, site_a, typed):
    client.force_login(coordinator_a)
    response = _register(client, site=site_a.pk, birth_date=typed)
    assert response.status_code == 302
    assert Subject.objects.get().birth_date == dt.date(1968, 7, 2)


def test_an_ambiguous_date_is_refused_on_its_field(client, coordinator_a, site_a):
    client.force_login(coordinator_a)
    response = _register(client, site=site_a.pk, birth_date="07/02/1968")
    assert response.status_code == 400
    assert "DD-MMM-YYYY" in response.context["form"].errors["birth_date"][0]
