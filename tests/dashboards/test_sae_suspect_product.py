"""The SAE print's suspect product: the dose level, the cells/kg infused and Day 0 from dosing,
through the provider the top floor registers (safety never imports dosing)."""

from __future__ import annotations

import datetime as dt

import pytest

from safety import sae_product
from safety.models import SAEReport
from tests.dosing_data import treated_subject
from tests.enrollment_data import register_and_consent
from tests.safety.sae_data import serious_event
from trialsite import clock
from trialsite.dashboards.sae_product import infused_product

pytestmark = pytest.mark.django_db


def test_the_print_names_the_dose_level_the_dose_infused_and_day_0(
    client, study, site_a, coordinator_a, investigator_a
):
    subject, day0 = treated_subject(site_a, coordinator_a, investigator_a, number=2)
    with clock.freeze(day0 + dt.timedelta(days=3)):
        event = serious_event(subject, coordinator_a, onset_date=day0 + dt.timedelta(days=2))
        report = SAEReport.objects.get(event=event)
        client.force_login(investigator_a)
        html = client.get(f"/safety/sae/{report.pk}/print/").content.decode()
    expected = f"CLL1+CD38 CAR-T, DL2, 1.0 ×10⁶ cells/kg on {day0.isoformat()} (Day 0)"
    assert f"Suspect product: {expected}" in html
    assert '<span data-testid="cioms-dose">DL2, 1.0 ×10⁶ cells/kg</span>' in html


def test_a_subject_never_assigned_keeps_the_infusion_crf_sentence(
    client, site_a, coordinator_a, investigator_a
):
    subject = register_and_consent(site_a, coordinator_a, investigator_a)
    with clock.freeze(subject.screening_date + dt.timedelta(days=4)):
        report = SAEReport.objects.get(event=serious_event(subject, coordinator_a))
        client.force_login(coordinator_a)
        html = client.get(f"/safety/sae/{report.pk}/print/").content.decode()
    assert infused_product(subject) is None
    assert "Suspect product:" not in html
    assert "As recorded on the infusion CRF" in html


def test_the_dose_is_written_with_one_decimal_unless_that_rounds_it():
    day0 = dt.date(2026, 3, 2)
    assert sae_product.SuspectProduct("DL1", 0.5e6, day0).sentence() == (
        "CLL1+CD38 CAR-T, DL1, 0.5 ×10⁶ cells/kg on 2026-03-02 (Day 0)"
    )
    assert sae_product.SuspectProduct("DL3", 0.25e6, None).dose_text == "0.25 ×10⁶ cells/kg"
    assert sae_product.SuspectProduct("DL1", None, None).sentence() == "CLL1+CD38 CAR-T, DL1"


def test_the_top_floor_registers_the_provider():
    assert sae_product._provider is infused_product
