"""Completeness badges, failing counts and checklist text count what applies (issue 10, item 12)."""

from __future__ import annotations

from decimal import Decimal

import pytest
from django.urls import reverse

from enrollment import rules, selectors
from enrollment.models import CardiacAssessment, EligibilityAssessment, ScreeningVitals, Virology
from tests.enrollment_data import screen_eligible_subject

pytestmark = pytest.mark.django_db

ALL_NEGATIVE = {
    "hiv_antibody_positive": False,
    "hbsag_positive": False,
    "anti_hbc_positive": False,
    "hbv_dna": None,
    "hbv_dna_llod": None,
    "anti_hcv_positive": False,
    "hcv_rna": None,
    "hcv_rna_llod": None,
    "tppa_positive": False,
}


def _virology_status(subject):
    return next(row for row in selectors.crf_completeness(subject) if row.model is Virology)


def test_all_negative_virology_is_complete_without_the_viral_loads(
    coordinator_a, investigator_a, site_a
):
    subject = screen_eligible_subject(
        site_a, coordinator_a, investigator_a, overrides={Virology: ALL_NEGATIVE}
    )
    status = _virology_status(subject)
    assert (status.filled, status.total) == (6, 6)
    assert status.complete


def test_a_positive_anti_hbc_asks_for_the_hbv_dna_and_its_limit_only_when_detected(
    coordinator_a, investigator_a, site_a
):
    subject = screen_eligible_subject(
        site_a,
        coordinator_a,
        investigator_a,
        overrides={Virology: {**ALL_NEGATIVE, "anti_hbc_positive": True}},
    )
    status = _virology_status(subject)
    assert (status.filled, status.total) == (6, 7)  # HBV DNA is now asked for
    virology = Virology.objects.get(subject=subject)
    virology.hbv_dna = Decimal("150")
    assert "hbv_dna_llod" in virology.applicable_fields()
    virology.hbv_dna = Decimal("0")
    assert "hbv_dna_llod" not in virology.applicable_fields()


def test_the_log_counts_a_failing_criterion_once_not_with_its_sub_item(
    client, coordinator_a, investigator_a, site_a
):
    # HBsAg positive fails EX12.2, and so its parent EX12: one failing criterion.
    subject = screen_eligible_subject(
        site_a,
        coordinator_a,
        investigator_a,
        overrides={Virology: {**ALL_NEGATIVE, "hbsag_positive": True}},
    )
    assessment = EligibilityAssessment.objects.get(subject=subject)
    assert set(assessment.failed) == {"EX12", "EX12.2"}
    assert assessment.failed_criteria == ["EX12"]
    client.force_login(coordinator_a)
    page = client.get(reverse("enrollment:screening-log")).content.decode()
    assert "1 failing" in page
    assert "2 failing" not in page


def test_checklist_messages_name_labels_never_field_names(coordinator_a, investigator_a, site_a):
    result = rules.evaluate_eligibility({"severe_arrhythmia": False})
    message = result.details["EX10.3"].message
    assert "QT interval needed" in message
    assert "qt_ms" not in message and "ecg_readings" not in message


def test_completeness_reads_one_query_per_crf_table(
    coordinator_a, investigator_a, site_a, django_assert_num_queries
):
    from enrollment.models import SCREENING_CRFS

    subject = screen_eligible_subject(site_a, coordinator_a, investigator_a)
    with django_assert_num_queries(len(SCREENING_CRFS)):
        rows = selectors.crf_completeness(subject)
    by_model = {row.model: row for row in rows}
    assert by_model[ScreeningVitals].complete
    assert by_model[CardiacAssessment].complete
