"""No text a user can type into a CRF page gives a server error (issue 8 §4).

Hypothesis posts arbitrary strings — unicode, very long, "NaN", "1e999", "0001-01-01",
"9999-12-31T23:59" — into one to three fields of every CRF page (registration, consent, each
screening CRF, a steroid course), the other fields holding valid answers, through the Django
test client as the site's coordinator (the investigator for the attestations). The page saves
(302) or answers 400 showing the typed text again; it never answers 5xx, and a crash inside
the view fails the test with its traceback (the test client re-raises it).
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
from django.db import transaction
from django.forms import widgets
from django.urls import reverse
from django.utils import timezone
from django.utils.html import escape
from hypothesis import given, settings
from hypothesis import strategies as st

from enrollment.demo import eligible_screening_values
from enrollment.forms import (
    SCREENING_FORMS,
    ConsentForm,
    PriorRegimenForm,
    RegisterSubjectForm,
    SteroidCourseForm,
)
from enrollment.models import Consent
from tests.enrollment_data import register_and_consent
from tests.fuzz_values import texts

pytestmark = pytest.mark.django_db

FUZZ = settings(max_examples=20, deadline=None, database=None)
TYPED_BACK = (widgets.Input, widgets.Textarea)  # boxes that show what was typed


def as_post(value) -> str:
    """A model value as the browser posts it."""
    if value is True:
        return "true"
    if value is False:
        return "false"
    if isinstance(value, dt.datetime):
        return timezone.localtime(value).strftime("%Y-%m-%dT%H:%M")
    if isinstance(value, dt.date | Decimal | int):
        return str(value.isoformat() if isinstance(value, dt.date) else value)
    return "" if value is None else str(value)


def typed_fields(form_class, **form_kwargs) -> list[str]:
    form = form_class(**form_kwargs)
    return [
        name
        for name, field in form.fields.items()
        if name != "version" and not isinstance(field.widget, widgets.HiddenInput)
    ]


def assert_no_server_error_for_any_post(client, url: str, valid: dict, form_class, **form_kwargs):
    names = typed_fields(form_class, **form_kwargs)
    form = form_class(**form_kwargs)

    @FUZZ
    @given(
        changes=st.lists(st.sampled_from(names), min_size=1, max_size=3, unique=True).flatmap(
            lambda chosen: st.fixed_dictionaries(dict.fromkeys(chosen, texts))
        )
    )
    def post(changes):
        with transaction.atomic():
            response = client.post(url, {**valid, **changes})
            transaction.set_rollback(True)  # every example starts from the same data
        assert response.status_code < 500
        assert response.status_code in (302, 400), response.status_code
        if response.status_code == 400:
            page = response.content.decode()
            for name, text in changes.items():
                shown = text.strip() if text.strip() else ""
                widget = form[name].field.widget
                typed_back = isinstance(widget, TYPED_BACK) and not isinstance(
                    widget, widgets.CheckboxInput
                )
                if shown and "\x00" not in text and typed_back:
                    assert escape(text) in page or escape(shown) in page, name

    post()


@pytest.fixture
def consented(site_a, coordinator_a, investigator_a):
    return register_and_consent(site_a, coordinator_a, investigator_a)


@pytest.mark.parametrize("crf", sorted(SCREENING_FORMS))
def test_any_text_in_a_screening_crf_page_never_gives_a_server_error(
    crf, client, consented, coordinator_a, investigator_a
):
    model, form_class = SCREENING_FORMS[crf]
    client.force_login(investigator_a if crf == "attestation" else coordinator_a)
    valid = {
        name: as_post(value)
        for name, value in eligible_screening_values(consented.screening_date)[model].items()
    }
    assert_no_server_error_for_any_post(
        client, reverse("enrollment:crf", args=[consented.pk, crf]), valid, form_class
    )


def test_any_text_in_the_registration_page_never_gives_a_server_error(
    client, site_a, coordinator_a
):
    client.force_login(coordinator_a)
    valid = {
        "site": str(site_a.pk),
        "initials": "WLX",
        "sex": "M",
        "birth_date": "1975-03-15",
        "screening_date": as_post(timezone.localdate()),
    }
    assert_no_server_error_for_any_post(
        client, reverse("enrollment:register"), valid, RegisterSubjectForm
    )


def test_any_text_in_the_consent_pages_never_gives_a_server_error(
    client, consented, coordinator_a, investigator_a
):
    client.force_login(coordinator_a)
    valid = {
        "icf_version": "v2.2 2025-09-01",
        "signed_at": as_post(timezone.now() - dt.timedelta(hours=1)),
        "obtained_by": str(investigator_a.pk),
    }
    assert_no_server_error_for_any_post(
        client, reverse("enrollment:consent", args=[consented.pk]), valid, ConsentForm
    )
    consent = Consent.objects.get(subject=consented)
    edit = {**valid, "version": str(consent.version), "reason": "Corrected the ICF version"}
    assert_no_server_error_for_any_post(
        client,
        reverse("enrollment:consent-edit", args=[consented.pk, consent.pk]),
        edit,
        ConsentForm,
        instance=consent,
    )


def test_any_text_in_a_steroid_course_page_never_gives_a_server_error(
    client, consented, coordinator_a
):
    client.force_login(coordinator_a)
    valid = {
        "drug": "prednisone",
        "daily_dose_mg": "10",
        "start_date": as_post(consented.screening_date),
        "end_date": as_post(consented.screening_date + dt.timedelta(days=2)),
    }
    assert_no_server_error_for_any_post(
        client, reverse("enrollment:steroid-new", args=[consented.pk]), valid, SteroidCourseForm
    )


def test_any_text_in_a_prior_regimen_page_never_gives_a_server_error(
    client, consented, coordinator_a
):
    client.force_login(coordinator_a)
    valid = {
        "regimen": "7+3",
        "start_date": "05-Mar-2025",
        "end_date": "2025-03-12",
        "best_response": "CR",
    }
    assert_no_server_error_for_any_post(
        client, reverse("enrollment:regimen-new", args=[consented.pk]), valid, PriorRegimenForm
    )


def test_any_screening_log_query_never_gives_a_server_error(client, coordinator_a, consented):
    client.force_login(coordinator_a)
    names = ("q", "sort", "status", "site", "screened_from", "screened_to", "page")

    @FUZZ
    @given(query=st.fixed_dictionaries({}, optional=dict.fromkeys(names, texts)))
    def browse(query):
        for name in ("enrollment:screening-log", "enrollment:screening-log-csv"):
            response = client.get(reverse(name), query)
            assert response.status_code == 200, (name, query)
            if response.streaming:
                b"".join(response.streaming_content)

    browse()
