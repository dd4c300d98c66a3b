"""Demographics, vitals, AML genetics and prior regimens a CAR-T AML site records (item 18)."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
from django.core.exceptions import ValidationError
from django.urls import reverse

from enrollment import baseline, services
from enrollment.models import AmlHistory, PriorRegimen, ScreeningVitals
from tests.enrollment_data import register_and_consent, screen_eligible_subject

pytestmark = pytest.mark.django_db


def test_bsa_is_mosteller_from_height_and_weight():
    # √(172 × 70 / 3600) = 1.8288… m²
    assert baseline.bsa_mosteller(Decimal("172.0"), Decimal("70.0")) == Decimal("1.83")
    assert baseline.bsa_mosteller(None, Decimal("70")) is None
    assert baseline.bsa_mosteller(Decimal("0"), Decimal("70")) is None


def test_the_vitals_page_shows_race_temperature_pulse_and_the_derived_bsa(
    client, coordinator_a, investigator_a, site_a
):
    subject = screen_eligible_subject(
        site_a,
        coordinator_a,
        investigator_a,
        overrides={ScreeningVitals: {"race": "asian", "ethnicity": "not_hispanic"}},
    )
    vitals = ScreeningVitals.objects.get(subject=subject)
    assert vitals.temperature_c == Decimal("36.8") and vitals.pulse_bpm == 78
    client.force_login(coordinator_a)
    page = client.get(reverse("enrollment:crf", args=[subject.pk, "vitals"])).content.decode()
    assert 'name="race"' in page and 'name="temperature_c"' in page
    assert "Body surface area (Mosteller): 1.83 m²" in page


def test_race_and_ethnicity_are_optional(coordinator_a, investigator_a, site_a):
    from enrollment import selectors

    subject = screen_eligible_subject(site_a, coordinator_a, investigator_a)
    vitals = next(r for r in selectors.crf_completeness(subject) if r.model is ScreeningVitals)
    assert vitals.complete


def test_a_pulse_does_not_feed_the_ecg_heart_rate_of_the_qtcf(
    coordinator_a, investigator_a, site_a
):
    from enrollment import selectors

    subject = screen_eligible_subject(site_a, coordinator_a, investigator_a)
    facts = selectors.eligibility_facts(subject)
    assert "pulse_bpm" not in facts


def test_aml_genetics_are_stored_and_a_marker_not_tested_takes_not_done(
    coordinator_a, investigator_a, site_a
):
    subject = screen_eligible_subject(site_a, coordinator_a, investigator_a)
    aml = AmlHistory.objects.get(subject=subject)
    assert aml.npm1_mutated is True and aml.eln2022_risk == "intermediate"
    saved = services.save_screening_crf(
        subject,
        AmlHistory,
        actor=coordinator_a,
        values={
            "tp53_mutated": None,
            "missing_codes": {"tp53_mutated": {"code": "not_done", "reason": "no NGS panel"}},
        },
        record=aml,
        expected_version=aml.version,
        reason="TP53 not tested",
    )
    assert saved.coded()["tp53_mutated"].code == "not_done"


def test_hsct_details_only_after_a_prior_hsct(coordinator_a, investigator_a, site_a):
    subject = screen_eligible_subject(site_a, coordinator_a, investigator_a)
    aml = AmlHistory.objects.get(subject=subject)
    with pytest.raises(ValidationError) as refused:
        services.save_screening_crf(
            subject,
            AmlHistory,
            actor=coordinator_a,
            values={"allo_hsct_donor_type": "haploidentical"},
            record=aml,
            expected_version=aml.version,
            reason="donor",
        )
    assert "allo_hsct_donor_type" in refused.value.error_dict


def test_prior_regimens_are_a_list_on_the_aml_history(
    client, coordinator_a, investigator_a, site_a, monitor
):
    subject = register_and_consent(site_a, coordinator_a, investigator_a)
    client.force_login(coordinator_a)
    new_url = reverse("enrollment:regimen-new", args=[subject.pk])
    start = subject.screening_date - dt.timedelta(days=200)
    response = client.post(
        new_url,
        {
            "regimen": "7+3",
            "start_date": start.strftime("%d-%b-%Y"),
            "end_date": (start + dt.timedelta(days=7)).isoformat(),
            "best_response": "CR",
        },
    )
    assert response.status_code == 302, response.context["form"].errors
    assert response.url == reverse("enrollment:crf", args=[subject.pk, "aml_history"])
    regimen = PriorRegimen.objects.get(subject=subject)
    page = client.get(response.url).content.decode()
    assert "7+3" in page and "CR — complete remission" in page
    refused = client.post(
        reverse("enrollment:regimen-edit", args=[subject.pk, regimen.pk]),
        {
            "regimen": "7+3",
            "start_date": start.isoformat(),
            "end_date": (start - dt.timedelta(days=1)).isoformat(),
            "best_response": "CR",
            "version": regimen.version,
            "reason": "typo",
        },
    )
    assert refused.status_code == 400
    assert "cannot end before it starts" in refused.context["form"].errors["end_date"][0]
    client.force_login(monitor)
    readonly = client.get(reverse("enrollment:regimen-edit", args=[subject.pk, regimen.pk]))
    assert readonly.status_code == 200 and "read-only" in readonly.content.decode()
