"""No text typed into a dosing CRF page gives a server error (the enrollment fuzz, issue 8 §4).

Hypothesis posts arbitrary strings into one to three fields of each treatment CRF, the other
fields valid; the page saves (302) or answers 400 showing the text again, never 5xx.
"""

from __future__ import annotations

import datetime as dt

import pytest
from django.urls import reverse

from dosing import services
from dosing.forms import ApheresisForm, InfusionForm, LymphodepletionForm, ProductReleaseForm
from tests.dosing_data import (
    DAYS_TO_INFUSION,
    apheresis_values,
    assign,
    confirmed_subject,
    infusion_values,
    lymphodepletion_values,
    prepare_treatment,
    release_values,
)
from tests.enrollment.test_fuzz_forms import as_post, assert_no_server_error_for_any_post
from trialsite import clock

pytestmark = pytest.mark.django_db


def posted(values: dict) -> dict:
    return {name: as_post(value) for name, value in values.items()}


def test_any_text_in_the_apheresis_and_lymphodepletion_pages_never_gives_a_server_error(
    client, site_a, coordinator_a, investigator_a
):
    subject = confirmed_subject(site_a, coordinator_a, investigator_a)
    assign(subject, coordinator_a, 1)
    client.force_login(coordinator_a)
    today = clock.today()
    assert_no_server_error_for_any_post(
        client,
        reverse("dosing:apheresis", args=[subject.pk]),
        posted(apheresis_values(today)),
        ApheresisForm,
    )
    services.save_apheresis(subject, actor=coordinator_a, values=apheresis_values(today))
    day0 = today + dt.timedelta(days=5)
    assert_no_server_error_for_any_post(
        client,
        reverse("dosing:lymphodepletion", args=[subject.pk]),
        posted(lymphodepletion_values(day0, start_date=today)),
        LymphodepletionForm,
    )


def test_any_text_in_the_release_and_infusion_pages_never_gives_a_server_error(
    client, site_a, coordinator_a, investigator_a
):
    subject = confirmed_subject(site_a, coordinator_a, investigator_a)
    day0 = clock.today() + dt.timedelta(days=DAYS_TO_INFUSION)
    prepare_treatment(subject, coordinator_a, day0=day0)
    client.force_login(coordinator_a)
    with clock.freeze(day0 + dt.timedelta(days=1)):
        assert_no_server_error_for_any_post(
            client,
            reverse("dosing:infusion", args=[subject.pk]),
            posted(infusion_values(day0)),
            InfusionForm,
        )
    other = confirmed_subject(site_a, coordinator_a, investigator_a)
    with clock.freeze(clock.today() + dt.timedelta(days=1)):
        services.save_apheresis(other, actor=coordinator_a, values=apheresis_values(clock.today()))
        assert_no_server_error_for_any_post(
            client,
            reverse("dosing:release", args=[other.pk]),
            posted(release_values(clock.today())),
            ProductReleaseForm,
        )
