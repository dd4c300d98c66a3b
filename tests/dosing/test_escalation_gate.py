"""The assignment gate and the signed safety-review decision (issue 12 §1, §3, Bad input)."""

from __future__ import annotations

import pytest
from django.core.exceptions import PermissionDenied, ValidationError

from dosing import decisions, escalation, services
from dosing.models import CohortAssignment, EscalationDecision
from tests.dosing_data import confirmed_subject, level, sign_decision
from tests.factories import PASSWORD
from trialsite.records.models import RecordStatus, Signature
from trialsite.studies.models import Study

pytestmark = pytest.mark.django_db


def codes(excinfo) -> dict[str, list[str]]:
    return {field: [e.code for e in errors] for field, errors in excinfo.value.error_dict.items()}


def state_of(study):
    study = Study.objects.get(pk=study.pk)
    escalation.recompute(study, study.data_version)
    return escalation.current_state(study)


def test_no_slot_opens_without_a_signed_decision(study, site_a, coordinator_a, investigator_a):
    subject = confirmed_subject(site_a, coordinator_a, investigator_a)
    with pytest.raises(ValidationError) as excinfo:
        services.assign_subject(subject, actor=coordinator_a, dose_level=level(study, 1))
    assert codes(excinfo) == {"dose_level": ["no_decision"]}
    assert not CohortAssignment.objects.exists()


def test_the_first_slot_opens_when_the_investigator_accepts_start_at_dl1(
    study, site_a, coordinator_a, investigator_a
):
    subject = confirmed_subject(site_a, coordinator_a, investigator_a)
    state = state_of(study)
    # The study's default design is a plain 3+3: a cohort of 3 at DL1.
    assert (state.action, state.dose_level, state.open_slots, state.phase) == (
        "enroll",
        1,
        3,
        "3+3",
    )
    decision = decisions.record_decision(
        study,
        actor=investigator_a,
        password=PASSWORD,
        accepted=True,
        state_data_version=state.data_version,
    )
    assert decision.status == RecordStatus.SIGNED
    assert (decision.action, decision.dose_level.level, decision.open_slots) == ("enroll", 1, 3)
    assert decision.state_data_version == state.data_version
    assert decision.recommendation == state.sentence
    signature = Signature.objects.get(object_id=str(decision.pk))
    assert signature.signer == investigator_a
    with pytest.raises(ValidationError) as closed:
        services.assign_subject(subject, actor=coordinator_a, dose_level=level(study, 2))
    assert codes(closed) == {"dose_level": ["level_closed"]}
    assignment = services.assign_subject(subject, actor=coordinator_a, dose_level=level(study, 1))
    assert (assignment.decision, assignment.phase, assignment.cohort_number) == (decision, "3+3", 1)
    assert services.open_slots(study)[1] == 2
    sign_decision(study, investigator_a, 1, slots=1)  # a new decision: one slot, a new cohort
    other = confirmed_subject(site_a, coordinator_a, investigator_a, initials="XY")
    second = services.assign_subject(other, actor=coordinator_a, dose_level=level(study, 1))
    assert second.cohort_number == 2
    third = confirmed_subject(site_a, coordinator_a, investigator_a, initials="ZZ")
    with pytest.raises(ValidationError) as full:
        services.assign_subject(third, actor=coordinator_a, dose_level=level(study, 1))
    assert codes(full) == {"dose_level": ["slots_full"]}


def test_only_the_latest_decision_opens_slots_never_two_levels(
    study, site_a, coordinator_a, investigator_a
):
    subject = confirmed_subject(site_a, coordinator_a, investigator_a)
    sign_decision(study, investigator_a, 1, slots=3)
    sign_decision(study, investigator_a, 2, slots=1)
    with pytest.raises(ValidationError) as excinfo:
        services.assign_subject(subject, actor=coordinator_a, dose_level=level(study, 1))
    assert codes(excinfo) == {"dose_level": ["level_closed"]}
    assert services.open_slots(study)[1] == 1


def test_a_wait_decision_opens_nothing(study, site_a, coordinator_a, investigator_a):
    subject = confirmed_subject(site_a, coordinator_a, investigator_a)
    state = state_of(study)
    decisions.record_decision(
        study,
        actor=investigator_a,
        password=PASSWORD,
        accepted=False,
        state_data_version=state.data_version,
        action="wait",
        rationale="The committee wants the pharmacokinetics first.",
    )
    with pytest.raises(ValidationError) as excinfo:
        services.assign_subject(subject, actor=coordinator_a, dose_level=level(study, 1))
    assert codes(excinfo) == {"dose_level": ["not_enrolling"]}


def test_an_override_needs_its_rationale_and_nothing_is_saved(study, investigator_a):
    state = state_of(study)
    with pytest.raises(ValidationError) as excinfo:
        decisions.record_decision(
            study,
            actor=investigator_a,
            password=PASSWORD,
            accepted=False,
            state_data_version=state.data_version,
            action="enroll",
            dose_level=2,
            open_slots=3,
            rationale="  ",
        )
    assert codes(excinfo) == {"rationale": ["ESC-OVERRIDE-RATIONALE"]}
    assert not EscalationDecision.objects.exists()


def test_an_override_without_level_or_slots_is_refused_on_those_fields(study, investigator_a):
    state = state_of(study)
    with pytest.raises(ValidationError) as excinfo:
        decisions.record_decision(
            study,
            actor=investigator_a,
            password=PASSWORD,
            accepted=False,
            state_data_version=state.data_version,
            action="enroll",
            rationale="Start higher.",
        )
    assert codes(excinfo) == {
        "dose_level": ["ESC-ENROLL-LEVEL"],
        "open_slots": ["ESC-ENROLL-SLOTS"],
    }
    with pytest.raises(ValidationError) as unknown:
        decisions.record_decision(
            study,
            actor=investigator_a,
            password=PASSWORD,
            accepted=False,
            state_data_version=state.data_version,
            action="enroll",
            dose_level=9,
            open_slots=1,
            rationale="Start higher.",
        )
    assert codes(unknown) == {"dose_level": ["no_such_level"]}
    assert not EscalationDecision.objects.exists()


def test_a_wrong_password_signs_nothing(study, investigator_a):
    state = state_of(study)
    with pytest.raises(ValidationError) as excinfo:
        decisions.record_decision(
            study,
            actor=investigator_a,
            password="wrong",
            accepted=True,
            state_data_version=state.data_version,
        )
    assert codes(excinfo) == {"password": ["bad_password"]}
    assert not EscalationDecision.objects.exists()
    assert not Signature.objects.exists()


def test_a_decision_on_a_state_the_data_has_moved_past_is_refused(
    study, site_a, coordinator_a, investigator_a
):
    read = state_of(study)
    confirmed_subject(site_a, coordinator_a, investigator_a)  # a save since the page was read
    state_of(study)
    with pytest.raises(ValidationError) as excinfo:
        decisions.record_decision(
            study,
            actor=investigator_a,
            password=PASSWORD,
            accepted=True,
            state_data_version=read.data_version,
        )
    assert codes(excinfo) == {"state_data_version": ["stale_state"]}


def test_only_an_investigator_records_the_decision(study, coordinator_a):
    state_of(study)
    with pytest.raises(PermissionDenied):
        decisions.record_decision(
            study, actor=coordinator_a, password=PASSWORD, accepted=True, state_data_version=None
        )
