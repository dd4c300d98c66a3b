"""A withdrawal, its reversal and an off-study record reach the DLT evaluation in the same
transaction (``enrollment.status_hooks``, registered by ``safety.apps``), not at the next beat.

Day 0 was 12 days ago: the 28-day window is open, the subject has a grade 1 fever (no DLT).
"""

from __future__ import annotations

import datetime as dt

import pytest
from django.utils import timezone

from enrollment import selectors, services, status_hooks
from enrollment.models import Subject
from enrollment.off_study import save_off_study
from safety.models import DLTEvaluation
from safety.services import refresh_dlt_evaluation, save_adverse_event
from tests.safety.ae_pages import shipped
from tests.safety.crs_data import infused_subject
from trialsite.studies.models import Study

pytestmark = pytest.mark.django_db


@pytest.fixture
def subject(site_a, coordinator_a, investigator_a):
    subject = infused_subject(site_a, coordinator_a, investigator_a, days_ago=12)
    save_adverse_event(
        subject,
        actor=coordinator_a,
        values={
            "term": shipped("Fever"),
            "onset_date": subject.day0 + dt.timedelta(days=3),
            "grade": 1,
            "relationship_car_t": "possible",
        },
    )
    assert _evaluation(subject).dlt_status == "open"
    return Subject.objects.get(pk=subject.pk)


def _evaluation(subject) -> DLTEvaluation:
    return DLTEvaluation.objects.get(subject=subject)


def _data_version(subject) -> int:
    return Study.objects.values_list("data_version", flat=True).get(pk=subject.study_id)


def _withdraw(subject, actor):
    consent = selectors.active_consent(subject)
    return services.update_consent(
        consent,
        actor=actor,
        values={"withdrawn_at": timezone.now(), "withdrawal_reason": "Patient's decision"},
        expected_version=consent.version,
        reason="Consent withdrawn",
    )


def test_safety_registers_the_dlt_evaluation_as_a_status_hook():
    assert refresh_dlt_evaluation in status_hooks.registered()


def test_a_withdrawal_inside_the_window_makes_the_subject_not_evaluable_at_once(
    subject, coordinator_a
):
    before = _data_version(subject)
    _withdraw(subject, coordinator_a)
    evaluation = _evaluation(subject)  # no beat run in between
    assert (evaluation.dlt_status, evaluation.evaluable, evaluation.left_study_day) == (
        "not_evaluable",
        False,
        12,
    )
    assert any("before the DLT window closed" in r for r in evaluation.reasons)
    assert _data_version(subject) > before  # the escalation recompute follows


def test_a_reversed_withdrawal_reopens_the_window_at_once(
    subject, coordinator_a, investigator_a, password
):
    _withdraw(subject, coordinator_a)
    services.reverse_withdrawal(
        subject,
        actor=investigator_a,
        reason="Entered on the wrong subject",
        password=password,
        expected_version=Subject.objects.get(pk=subject.pk).version,
    )
    evaluation = _evaluation(subject)
    assert (evaluation.dlt_status, evaluation.left_study_day) == ("open", None)


def test_going_off_study_inside_the_window_makes_the_subject_not_evaluable_at_once(
    subject, coordinator_a
):
    before = _data_version(subject)
    save_off_study(
        subject,
        actor=coordinator_a,
        values={
            "off_study_date": subject.day0 + dt.timedelta(days=10),
            "off_study_reason": "lost_to_follow_up",
        },
    )
    evaluation = _evaluation(subject)
    assert (evaluation.dlt_status, evaluation.left_study_day) == ("not_evaluable", 10)
    assert _data_version(subject) > before


def test_a_failing_hook_rolls_the_withdrawal_back(subject, coordinator_a):
    def broken(subject, *, actor, reason):
        raise RuntimeError("hook failed")

    status_hooks.register(broken)
    try:
        with pytest.raises(RuntimeError):
            _withdraw(subject, coordinator_a)
    finally:
        status_hooks._HOOKS.remove(broken)
    assert Subject.objects.get(pk=subject.pk).enrollment_status != "withdrawn"
    assert selectors.active_consent(subject) is not None
    assert _evaluation(subject).dlt_status == "open"
