"""The efficacy readings settled where ELN 2022, the protocol and the statistics libraries are
silent or disagree: each at its boundary and one step past it."""

from __future__ import annotations

import math
from datetime import date, timedelta

import pytest

from efficacy.rules import (
    SETTINGS_DEFAULTS,
    DiseaseObservation,
    ResponseAssessment,
    SubjectCourse,
    best_overall_response,
    classify_response,
    detect_relapse,
    event_free_survival,
    kaplan_meier,
    kinetics,
    median_blast_decline,
    overall_survival,
    response_rates,
)

D0 = date(2026, 1, 5)


def day(n: int) -> date:
    return D0 + timedelta(days=n)


# -- blood-blast relapse ---------------------------------------------------------------------


def pb(n: int, present: bool) -> DiseaseObservation:
    return DiseaseObservation(date=day(n), pb_blasts=present)


@pytest.mark.parametrize(
    ("second_day", "status"), [(107, "hematologic_relapse"), (106, "pb_blasts_unconfirmed")]
)
def test_blood_blasts_need_two_samples_at_least_7_days_apart(second_day, status):
    assert detect_relapse([pb(100, True), pb(second_day, True)]).status == status


def test_a_blast_free_sample_between_restarts_the_count_unless_any_two():
    samples = [pb(100, True), pb(103, False), pb(110, True)]
    assert SETTINGS_DEFAULTS["pb_confirmation"] == "consecutive"
    assert detect_relapse(samples).status == "pb_blasts_unconfirmed"
    assert detect_relapse(samples, pb_confirmation="any_two").status == "hematologic_relapse"


# -- MRD relapse -------------------------------------------------------------------------------


def mrd(n: int, result: str, specimen: str = "bone_marrow") -> DiseaseObservation:
    return DiseaseObservation(date=day(n), mrd_result=result, mrd_specimen=specimen)


@pytest.mark.parametrize(
    ("confirm_day", "status"), [(128, "mrd_relapse"), (129, "mrd_positive_unconfirmed")]
)
def test_mrd_relapse_is_confirmed_within_28_days(confirm_day, status):
    assert SETTINGS_DEFAULTS["mrd_confirm_within_days"] == 28
    samples = [mrd(90, "negative"), mrd(100, "positive"), mrd(confirm_day, "positive")]
    result = detect_relapse(samples)
    assert result.status == status


def test_a_negative_confirming_sample_ends_the_mrd_suspicion():
    samples = [mrd(90, "negative"), mrd(100, "positive"), mrd(110, "negative")]
    assert detect_relapse(samples).status not in ("mrd_relapse", "mrd_positive_unconfirmed")


def test_marrow_and_blood_are_different_tissues_for_confirmation():
    samples = [
        mrd(90, "negative"),
        mrd(90, "negative", "peripheral_blood"),
        mrd(100, "positive"),
        mrd(110, "positive", "peripheral_blood"),
    ]
    assert detect_relapse(samples).status == "mrd_positive_unconfirmed"


# -- response landmark, EFS --------------------------------------------------------------------


def course(*assessments, **kwargs) -> SubjectCourse:
    return SubjectCourse(infusion_date=D0, assessments=assessments, **kwargs)


@pytest.mark.parametrize(
    ("n", "reason"), [(90, "censored_last_assessment"), (91, "treatment_failure")]
)
def test_response_landmark_day_90_counts(n, reason):
    subject = course(ResponseAssessment(day(n), "CR"), last_known_alive_date=day(200))
    assert event_free_survival(subject, efs_definition="eln2022").reason == reason


@pytest.mark.parametrize(
    ("n", "reason"), [(98, "censored_last_assessment"), (99, "treatment_failure")]
)
def test_a_month_3_assessment_inside_its_window_counts_after_day_90(n, reason):
    subject = course(ResponseAssessment(day(n), "CR", visit="M3"), last_known_alive_date=day(200))
    assert event_free_survival(subject, efs_definition="eln2022").reason == reason


def test_protocol_efs_never_assessed_is_censored_at_last_contact():
    subject = course(last_known_alive_date=day(45))
    efs = event_free_survival(subject)
    assert (efs.event, efs.end, efs.reason) == (False, day(45), "censored_last_contact")


def test_new_therapy_is_ignored_by_efs_unless_the_study_counts_it():
    subject = course(
        ResponseAssessment(day(28), "NR"), new_therapy_date=day(40), last_known_alive_date=day(120)
    )
    assert SETTINGS_DEFAULTS["new_therapy_efs"] == "ignore"
    assert event_free_survival(subject).event is False
    counted = event_free_survival(subject, new_therapy_efs="event")
    assert (counted.event, counted.end) == (True, day(40))


def test_os_last_known_alive_is_the_latest_dated_fact():
    subject = course(
        ResponseAssessment(day(60), "CR"),
        last_known_alive_date=day(30),
        last_assessment_date=day(75),
    )
    os_ = overall_survival(subject)
    assert (os_.event, os_.end) == (False, day(75))


# -- best overall response and the MRD-negative rate ------------------------------------------


def test_best_overall_response_ranks_mrd_negative_cr_first():
    ranked = best_overall_response({1: "CR", 2: "CR", 3: "CRh"}, {1: "positive", 2: "negative"})
    assert (ranked.category, ranked.mrd_negative, ranked.month) == ("CR", True, 2)
    order = ["CR", "CRh", "CRi", "MLFS", "PR", "NR"]
    for better, worse in zip(order, order[1:], strict=False):
        assert best_overall_response({1: worse, 2: better}).category == better


def test_mrd_negative_rate_counts_best_responses_that_are_mrd_negative_cr_family():
    # Subject 1: CRh MRD- then CR MRD+ -> best response CR (MRD+): in the denominator only.
    # Subject 2: CRi MRD- -> numerator. Subject 3: MLFS -> neither.
    responses = [{1: "CRh", 2: "CR"}, {1: "CRi", 2: "CRi"}, {1: "MLFS", 2: "MLFS"}]
    mrds = [{1: "negative", 2: "positive"}, {1: "negative", 2: "positive"}, {}]
    (rates,) = response_rates(responses, mrd=mrds, months=(2,), rate_basis="best_up_to_visit")
    assert (rates.mrd_negative_rate.numerator, rates.mrd_negative_rate.denominator) == (1, 2)


# -- PR with an unknown baseline ----------------------------------------------------------------


@pytest.mark.parametrize(("blasts", "expected"), [(5, "NE"), (25, "NE"), (25.1, "NR")])
def test_pr_range_with_unknown_baseline_is_not_evaluable_never_nr(blasts, expected):
    got = classify_response(
        bm_blasts_pct=blasts, baseline_bm_blasts_pct=None, anc=1.2, platelets=120
    )
    assert got == expected


# -- blast decline with a 0 % baseline ------------------------------------------------------------


def test_zero_baseline_is_excluded_from_the_relative_median_and_counted():
    pairs = [(0, 0), (0, 3), (50, 25), (20, 5)]
    relative = median_blast_decline(pairs)
    assert (relative.n, relative.median, relative.excluded_zero_baseline) == (2, 62.5, 2)
    absolute = median_blast_decline(pairs, method="absolute")
    assert (absolute.n, absolute.excluded_zero_baseline) == (4, 0)
    assert absolute.median == 7.5


# -- kinetics ----------------------------------------------------------------------------------


def test_blq_on_day_28_after_the_last_quantifiable_sample_counts_as_zero():
    k = kinetics([(0, 0), (7, 1000), (14, 500), (28, 0)])
    assert (k.auc, k.tlast, k.c_auc_end) == (3500 + 5250 + 3500, 14, 0)


def test_log_down_applies_to_every_decreasing_segment_including_interpolated_day_28():
    k = kinetics([(0, 0), (7, 1000), (14, 500), (35, 100)], auc_method="linear-up/log-down")
    c28 = 500 * (100 / 500) ** (14 / 21)
    log_down = (1000 - 500) * 7 / math.log(2) + (500 - c28) * 14 / math.log(500 / c28)
    assert k.c_auc_end == pytest.approx(c28)
    assert k.auc == pytest.approx(3500 + log_down)


# -- landmark survival -----------------------------------------------------------------------


@pytest.mark.parametrize(("t", "estimable"), [(20, True), (20.5, False)])
def test_landmark_beyond_the_last_observed_time_is_none(t, estimable):
    km = kaplan_meier([5, 10, 20], [True, False, True])
    s, lo, hi = km.landmark(t)
    assert (s is not None) is estimable
    if estimable:
        assert s == 0.0
