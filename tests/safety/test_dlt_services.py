"""The DLT evaluation through the services: AEs in the database -> the stored evaluation
(issue #11 "Tests" §8; RULES.md §3.5; the DLT cases of tests/safety/test_rules_dlt.py)."""

from __future__ import annotations

import datetime as dt

import pytest
from django.core.exceptions import ValidationError
from django.utils import timezone

from enrollment.models import Consent
from enrollment.services import update_consent
from safety import rules, tasks
from safety.models import DLTAdjudication, DLTEvaluation
from safety.services import (
    adjudicate_dlt,
    close_dlt_windows,
    dlt,
    refresh_dlt_evaluation,
    save_adverse_event,
)
from tests.safety.dlt_data import add_event, infused_subject, regrade
from trialsite.records.models import Notification, RecordStatus
from trialsite.records.selectors import signature_state
from trialsite.studies import services as study_services

pytestmark = pytest.mark.django_db

RECOVERED = [rules.BloodCount(study_day=27, anc_10e9_l=1.2, platelets_10e9_l=60)]


@pytest.fixture
def subject(site_a, coordinator_a, investigator_a):
    return infused_subject(site_a, coordinator_a, investigator_a)


@pytest.fixture
def on_day(frozen_clock, subject):
    """Freeze the clock on a study day of ``subject``."""

    def freeze(day: int):
        frozen_clock(subject.day0 + dt.timedelta(days=day))

    return freeze


def _evaluation(subject) -> DLTEvaluation:
    return DLTEvaluation.objects.get(subject=subject)


def _codes(excinfo, field):
    return [e.code for e in excinfo.value.error_dict[field]]


def _no_hematologic_rule(study, actor):
    """A study whose DLT criteria have no count-recovery rule (blood counts not needed)."""
    document = {**study.settings, "dlt_criteria": {**study.settings.get("dlt_criteria", {})}}
    document["dlt_criteria"]["hematologic_recovery_day"] = None
    study_services.update_study_settings(
        study,
        actor=actor,
        document=document,
        expected_version=study.settings_version,
        reason="protocol: no count-recovery DLT",
    )
    study.refresh_from_db()


# --- The DLT cases through the services --------------------------------------------------------

# id, event kwargs, (grade, on day) steps after onset, study day of the check, expected
# is_candidate, expected code. Onset Day 5 unless given. Hours are whole days x 24 from the grade
# history (48 h = back to grade 2 two days after grade 3).
CASES = [
    ("crs-g4", {"category": "crs", "grade": 4}, [], 6, True, "crs_grade"),
    ("crs-g3-resolved-48h", {"category": "crs", "grade": 3}, [(2, 7)], 9, False,
     "resolved_in_time"),
    ("crs-g3-resolved-72h", {"category": "crs", "grade": 3}, [(2, 8)], 9, False,
     "resolved_in_time"),
    ("crs-g3-resolved-96h", {"category": "crs", "grade": 3}, [(2, 9)], 9, True, "unresolved"),
    ("crs-g3-open-72h", {"category": "crs", "grade": 3}, [], 9, None, "resolution_pending"),
    ("crs-g3-open-96h", {"category": "crs", "grade": 3}, [], 10, True, "unresolved"),
    ("crs-g2", {"category": "crs", "grade": 2}, [], 6, False, "below_threshold"),
    ("crs-g4-unassessed", {"category": "crs", "grade": 4, "relatedness": None}, [], 6, True,
     "crs_grade"),
    ("crs-g4-unrelated", {"category": "crs", "grade": 4, "relatedness": "unrelated"}, [], 6, False,
     "not_related"),
    ("icans-g3", {"category": "icans", "grade": 3}, [], 6, True, "icans_grade"),
    ("icans-g2", {"category": "icans", "grade": 2}, [], 6, False, "below_threshold"),
    ("alt-g3-resolved", {"grade": 3}, [(1, 6)], 8, False, "resolved_in_time"),
    ("alt-g3-pending", {"grade": 3}, [], 6, None, "resolution_pending"),
    ("alt-g4", {"grade": 4}, [], 6, True, "non_hematologic_grade"),
    ("alt-g2", {"grade": 2}, [], 6, False, "below_threshold"),
    ("alt-g3-unlikely", {"grade": 3, "relatedness": "unlikely"}, [], 15, False, "not_related"),
    ("alt-g3-unassessed", {"grade": 3, "relatedness": None}, [], 15, None, "relatedness_pending"),
    ("alt-g2-unassessed", {"grade": 2, "relatedness": None}, [], 6, False, "below_threshold"),
    ("fever-g3", {"name": "Fever", "grade": 3}, [], 15, False, "exempt_term"),
    ("fever-g4", {"name": "Fever", "grade": 4}, [], 6, True, "non_hematologic_grade"),
    ("fn-g3", {"name": "Febrile neutropenia", "grade": 3}, [], 15, False, "exempt_term"),
    ("neutropenia-g4", {"category": "hematologic", "grade": 4}, [], 6, False,
     "hematologic_expected"),
    ("fatal-bleed", {"name": "Intracranial hemorrhage", "grade": 5, "relatedness": "probable"},
     [], 6, True, "fatal"),
    ("fatal-unrelated", {"name": "Sepsis", "grade": 5, "relatedness": "unrelated"}, [], 6, False,
     "not_related"),
    ("fatal-fever", {"name": "Fever", "grade": 5}, [], 6, True, "fatal"),
]  # fmt: skip


@pytest.mark.parametrize(
    ("event", "steps", "day", "expected", "code"),
    [c[1:] for c in CASES],
    ids=[c[0] for c in CASES],
)
def test_it_stores_the_rules_verdict_on_each_dlt_case(
    subject, coordinator_a, on_day, event, steps, day, expected, code
):
    on_day(day)
    saved = add_event(subject, coordinator_a, **event)
    for grade, step_day in steps:
        saved = regrade(subject, coordinator_a, saved, grade=grade, on_day=step_day)
    if event.get("grade") == 5 or steps:
        refresh_dlt_evaluation(subject, actor=coordinator_a, reason="test")
    evaluation = _evaluation(subject)
    rows = {c["event_id"]: c for c in evaluation.candidates}
    if expected is False:
        assert saved.pk not in rows
        result, _inputs = dlt.evaluate(subject)
        (assessment,) = [a for f, a in result.assessments if f.event_id == saved.pk]
        assert (assessment.is_candidate, assessment.code) == (False, code)
    else:
        assert (rows[saved.pk]["is_candidate"], rows[saved.pk]["code"]) == (expected, code)
        assert rows[saved.pk]["reasons"]
    left_early = event["grade"] == 5 and expected is False  # an unrelated death on Day 5
    status = "not_evaluable" if left_early else "open"
    assert evaluation.dlt_status == ("evaluable_with_dlt" if expected is True else status)
    assert evaluation.dlt is (True if expected is True else False if left_early else None)


def test_it_stamps_the_evaluation_with_the_data_and_settings_it_came_from(
    subject, coordinator_a, on_day, study
):
    on_day(6)
    add_event(subject, coordinator_a, category="crs", grade=4)
    evaluation = _evaluation(subject)
    study.refresh_from_db()
    assert evaluation.data_version == study.data_version - 1  # the change bumped it once more
    assert evaluation.settings_version == study.settings_version
    assert evaluation.settings_used["safety"] == {"dlt_window_days": 28}
    assert evaluation.status == RecordStatus.SUBMITTED  # the record's own status
    assert evaluation.dlt_status == "evaluable_with_dlt"
    assert (evaluation.window_start, evaluation.window_end_day) == (subject.day0, 28)
    assert evaluation.max_related_grade == 4


def test_it_writes_nothing_when_the_result_did_not_change(subject, coordinator_a, on_day, study):
    on_day(6)
    add_event(subject, coordinator_a, grade=1)
    version = _evaluation(subject).version
    study.refresh_from_db()
    data_version = study.data_version
    refresh_dlt_evaluation(subject, actor=coordinator_a, reason="again")
    study.refresh_from_db()
    assert (_evaluation(subject).version, study.data_version) == (version, data_version)


def test_it_keeps_a_worsening_event_pending_from_the_day_it_reached_grade_3(
    subject, coordinator_a, on_day
):
    on_day(9)
    event = add_event(subject, coordinator_a, grade=2, onset_day=2)
    regrade(subject, coordinator_a, event, grade=3, on_day=8)
    row = _evaluation(subject).candidates[0]
    assert (row["is_candidate"], row["code"]) == (None, "resolution_pending")


# --- The window: Day 28 and Day 29, grace, leaving the study ------------------------------------


def test_the_window_is_open_on_day_28_and_complete_on_day_29(subject, coordinator_a, on_day):
    on_day(28)
    add_event(subject, coordinator_a, grade=1, onset_day=3)
    evaluation = refresh_dlt_evaluation(
        subject, actor=coordinator_a, reason="counts", blood_counts=RECOVERED
    )
    assert (evaluation.dlt_status, evaluation.dlt) == ("open", None)
    assert evaluation.days_left(subject.day0 + dt.timedelta(days=28)) == 0
    on_day(29)
    evaluation = refresh_dlt_evaluation(
        subject, actor=coordinator_a, reason="counts", blood_counts=RECOVERED
    )
    assert (evaluation.dlt_status, evaluation.dlt, evaluation.evaluable) == (
        "evaluable_without_dlt",
        False,
        True,
    )
    assert evaluation.count_recovery == "recovered"


def test_an_event_with_onset_on_day_28_counts_and_one_on_day_29_does_not(
    subject, site_a, coordinator_a, investigator_a, on_day, frozen_clock
):
    on_day(29)
    add_event(subject, coordinator_a, grade=4, onset_day=29)
    assert _evaluation(subject).candidates == []
    other = infused_subject(site_a, coordinator_a, investigator_a, initials="ABC")
    add_event(other, coordinator_a, grade=4, onset_day=28)
    assert _evaluation(other).dlt_status == "evaluable_with_dlt"
    assert _evaluation(other).first_dlt_day == 28


def test_missing_day_28_counts_keep_the_window_open_through_the_grace(
    subject, coordinator_a, on_day
):
    on_day(10)
    add_event(subject, coordinator_a, grade=1)
    assert _evaluation(subject).grace_days == 7
    statuses = {}
    for day in (29, 35, 36):
        on_day(day)
        evaluation = refresh_dlt_evaluation(subject, actor=coordinator_a, reason="next day")
        statuses[day] = (evaluation.dlt_status, evaluation.count_recovery)
    assert statuses == {
        29: ("open", "pending"),
        35: ("open", "pending"),
        36: ("open", "not_assessable"),
    }
    assert any("data query" in r for r in evaluation.reasons)


def test_counts_that_did_not_recover_are_a_hematologic_dlt(subject, coordinator_a, on_day):
    on_day(29)
    add_event(subject, coordinator_a, grade=1)
    counts = [rules.BloodCount(study_day=27, anc_10e9_l=0.2, platelets_10e9_l=8)]
    evaluation = refresh_dlt_evaluation(
        subject, actor=coordinator_a, reason="counts", blood_counts=counts
    )
    assert (evaluation.dlt_status, evaluation.first_dlt_day) == ("evaluable_with_dlt", 28)
    assert evaluation.count_recovery == "not_recovered"


def test_withdrawal_before_the_window_closes_makes_the_subject_not_evaluable(
    subject, coordinator_a, on_day
):
    on_day(12)
    add_event(subject, coordinator_a, category="crs", grade=2, onset_day=3)
    consent = Consent.objects.get(subject=subject)
    update_consent(
        consent,
        actor=coordinator_a,
        values={
            "withdrawn_at": timezone.make_aware(
                dt.datetime.combine(subject.day0 + dt.timedelta(days=12), dt.time(10))
            ),
            "withdrawal_reason": "Patient's decision",
        },
        expected_version=consent.version,
        reason="withdrawal",
    )
    on_day(13)
    close_dlt_windows(subject.study)
    evaluation = _evaluation(subject)
    assert (evaluation.dlt_status, evaluation.evaluable, evaluation.left_study_day) == (
        "not_evaluable",
        False,
        12,
    )
    assert evaluation.max_related_grade == 2
    assert any("not evaluable" in r for r in evaluation.reasons)


def test_an_unrelated_death_before_day_28_makes_the_subject_not_evaluable(
    subject, coordinator_a, on_day
):
    on_day(11)
    add_event(subject, coordinator_a, name="Sepsis", grade=5, relatedness="unrelated", onset_day=10)
    evaluation = _evaluation(subject)
    assert (evaluation.dlt_status, evaluation.left_study_day) == ("not_evaluable", 10)


# --- Adjudication ----------------------------------------------------------------------------


@pytest.fixture
def candidate(subject, coordinator_a, on_day):
    on_day(8)
    return add_event(subject, coordinator_a, grade=4, onset_day=6)


def test_a_new_candidate_notifies_the_sites_investigators(candidate, investigator_a, coordinator_a):
    notes = Notification.objects.filter(resolved_at__isnull=True, target_id=str(candidate.pk))
    assert list(notes.values_list("recipient", flat=True)) == [investigator_a.pk]
    assert "awaits your adjudication" in notes.get().message


def test_the_investigator_confirms_a_dlt_with_a_signature(
    subject, candidate, investigator_a, password
):
    adjudication = adjudicate_dlt(
        candidate, actor=investigator_a, is_dlt=True, rationale="Grade 4 hepatotoxicity.",
        password=password,
    )  # fmt: skip
    assert adjudication.status == RecordStatus.SIGNED
    assert signature_state(adjudication).valid
    evaluation = _evaluation(subject)
    assert (evaluation.dlt_status, evaluation.awaiting_adjudication) == ("evaluable_with_dlt", 0)
    assert evaluation.candidates[0]["code"] == "adjudicated_dlt"
    assert not Notification.objects.filter(
        target_id=str(candidate.pk), resolved_at__isnull=True
    ).exists()


def test_not_a_dlt_overrides_the_rules_candidate(subject, candidate, investigator_a, password):
    adjudicate_dlt(
        candidate, actor=investigator_a, is_dlt=False, rationale="Disease progression.",
        password=password,
    )  # fmt: skip
    evaluation = _evaluation(subject)
    assert (evaluation.dlt_status, evaluation.dlt) == ("open", None)
    row = evaluation.candidates[0]
    assert (row["is_candidate"], row["code"], row["adjudicated_dlt"]) == (
        False,
        "adjudicated_not_dlt",
        False,
    )
    assert evaluation.max_related_grade == 4  # the verdict changes no grade


def test_a_wrong_password_saves_nothing(candidate, investigator_a):
    with pytest.raises(ValidationError) as excinfo:
        adjudicate_dlt(
            candidate, actor=investigator_a, is_dlt=True, rationale="x", password="wrong"
        )
    assert _codes(excinfo, "password") == ["bad_password"]
    assert not DLTAdjudication.objects.exists()


def test_a_rationale_and_a_verdict_are_required(candidate, investigator_a, password):
    with pytest.raises(ValidationError) as excinfo:
        adjudicate_dlt(
            candidate, actor=investigator_a, is_dlt=None, rationale=" ", password=password
        )
    assert _codes(excinfo, "rationale") == ["required"]
    assert _codes(excinfo, "is_dlt") == ["required"]
    assert not DLTAdjudication.objects.exists()


def test_a_coordinator_cannot_adjudicate(candidate, coordinator_a, password):
    with pytest.raises(ValidationError) as excinfo:
        adjudicate_dlt(
            candidate, actor=coordinator_a, is_dlt=True, rationale="x", password=password
        )
    assert excinfo.value.code == "not_investigator"
    assert not DLTAdjudication.objects.exists()


def test_an_event_that_is_not_a_candidate_is_not_adjudicated(
    subject, coordinator_a, investigator_a, password, on_day
):
    on_day(8)
    event = add_event(subject, coordinator_a, grade=2)
    with pytest.raises(ValidationError) as excinfo:
        adjudicate_dlt(event, actor=investigator_a, is_dlt=True, rationale="x", password=password)
    assert excinfo.value.code == "not_candidate"


def test_a_change_to_the_event_reopens_its_adjudication(
    subject, candidate, coordinator_a, investigator_a, password
):
    adjudicate_dlt(
        candidate, actor=investigator_a, is_dlt=False, rationale="Not related in fact.",
        password=password,
    )  # fmt: skip
    candidate.refresh_from_db()
    save_adverse_event(
        subject,
        actor=coordinator_a,
        values={"relationship_car_t": "probable"},
        record=candidate,
        expected_version=candidate.version,
        reason="relatedness reassessed",
    )
    evaluation = _evaluation(subject)
    assert evaluation.awaiting_adjudication == 1
    assert evaluation.dlt_status == "evaluable_with_dlt"
    assert Notification.objects.filter(
        target_id=str(candidate.pk), resolved_at__isnull=True
    ).exists()


def test_a_second_verdict_replaces_the_first_and_is_signed_again(
    subject, candidate, investigator_a, password
):
    first = adjudicate_dlt(
        candidate, actor=investigator_a, is_dlt=False, rationale="First look.", password=password
    )
    second = adjudicate_dlt(
        candidate, actor=investigator_a, is_dlt=True, rationale="On review.", password=password
    )
    assert first.pk == second.pk and second.is_dlt and second.status == RecordStatus.SIGNED
    assert _evaluation(subject).dlt_status == "evaluable_with_dlt"


# --- The beat task -----------------------------------------------------------------------------


def test_the_beat_task_closes_a_window_at_day_29(
    subject, coordinator_a, study, study_admin, on_day
):
    _no_hematologic_rule(study, study_admin)
    on_day(20)
    add_event(subject, coordinator_a, category="crs", grade=2, onset_day=2)
    assert _evaluation(subject).dlt_status == "open"
    on_day(28)
    tasks.close_dlt_windows()
    assert _evaluation(subject).dlt_status == "open"
    on_day(29)
    study.refresh_from_db()
    data_version = study.data_version
    summary = tasks.close_dlt_windows()
    evaluation = _evaluation(subject)
    assert (evaluation.dlt_status, evaluation.dlt) == ("evaluable_without_dlt", False)
    assert summary[study.pk]["changed"] == [subject.pk]
    assert evaluation.updated_by.username == dlt.SYSTEM_USERNAME
    study.refresh_from_db()
    assert study.data_version == data_version + 1
    assert tasks.close_dlt_windows() == {}  # nothing open any more: idempotent


def test_the_beat_task_evaluates_an_infused_subject_without_events(subject, on_day):
    on_day(3)
    tasks.close_dlt_windows()
    evaluation = _evaluation(subject)
    assert (evaluation.dlt_status, evaluation.as_of_day) == ("open", 3)


def test_the_beat_task_declares_an_unresolved_grade_3_a_dlt_when_72_hours_pass(
    subject, coordinator_a, on_day
):
    on_day(6)
    add_event(subject, coordinator_a, grade=3, onset_day=5)
    on_day(9)
    close_dlt_windows(subject.study)
    assert _evaluation(subject).dlt_status == "open"
    on_day(10)
    close_dlt_windows(subject.study)
    assert _evaluation(subject).dlt_status == "evaluable_with_dlt"


# --- Count recovery from the lab results entered (labs → DLT evaluation) ----------------------


def test_blood_counts_entered_as_labs_complete_the_window(subject, coordinator_a, on_day):
    from tests.safety.lab_data import panel

    on_day(29)
    add_event(subject, coordinator_a, grade=1, onset_day=3)
    assert _evaluation(subject).dlt_status == "open"  # no counts yet: recovery not known
    panel(subject, coordinator_a, 27, ("ANC", "1.2"), ("PLT", "60"))
    evaluation = _evaluation(subject)
    assert (evaluation.dlt_status, evaluation.count_recovery) == (
        "evaluable_without_dlt",
        "recovered",
    )


def test_counts_that_have_not_recovered_are_a_hematologic_dlt(subject, coordinator_a, on_day):
    from tests.safety.lab_data import panel

    on_day(29)
    panel(subject, coordinator_a, 27, ("ANC", "0.2"), ("PLT", "8"))
    evaluation = _evaluation(subject)
    assert (evaluation.dlt, evaluation.count_recovery) == (True, "not_recovered")
