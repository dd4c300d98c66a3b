"""The investigator's verdict as an input of ``evaluate_dlt_window`` (``adjudications``).

The rule's answer is a candidate the investigator confirms (``dlt_candidate``); the verdict per
event replaces it, and the window's status follows from the verdicts (docs/rules/safety.md
"DLT adjudication").
"""

from __future__ import annotations

import pytest

from safety.rules import BloodCount, evaluate_dlt_window
from tests.safety.test_rules_dlt import ae, crs

RECOVERED = [BloodCount(study_day=28, anc_10e9_l=1.2, platelets_10e9_l=60)]


def test_not_a_dlt_clears_a_candidate_and_the_window_runs_on():
    event = crs(4, onset_study_day=3, event_id=7)
    result = evaluate_dlt_window(events=[event], as_of_day=10, adjudications={7: False})
    assert (result.status, result.dlt) == ("open", None)
    ((_event, assessment),) = result.assessments
    assert (assessment.is_candidate, assessment.code) == (False, "adjudicated_not_dlt")
    assert assessment.reasons[-1] == "The investigator adjudicated this event not a DLT."
    assert result.max_related_grade == 4  # relatedness, not the verdict, sets the grade


def test_a_dlt_verdict_confirms_a_candidate():
    event = crs(4, onset_study_day=3, event_id="a")
    result = evaluate_dlt_window(events=[event], as_of_day=10, adjudications={"a": True})
    assert (result.status, result.assessments[0][1].code) == (
        "evaluable_with_dlt",
        "adjudicated_dlt",
    )


def test_a_dlt_verdict_decides_a_pending_event():
    event = ae(onset_study_day=5, relatedness=None, event_id=1)
    pending = evaluate_dlt_window(events=[event], as_of_day=20)
    decided = evaluate_dlt_window(events=[event], as_of_day=20, adjudications={1: True})
    assert pending.pending_events and pending.status == "open"
    assert decided.status == "evaluable_with_dlt" and not decided.pending_events


def test_a_verdict_on_another_event_changes_nothing():
    event = crs(4, onset_study_day=3, event_id=1)
    result = evaluate_dlt_window(events=[event], as_of_day=10, adjudications={2: False})
    assert result.status == "evaluable_with_dlt"
    assert result.assessments[0][1].code == "crs_grade"


def test_after_the_window_every_candidate_cleared_means_no_dlt():
    event = crs(4, onset_study_day=3, event_id=1)
    result = evaluate_dlt_window(
        events=[event], as_of_day=29, count_recovery=RECOVERED, adjudications={1: False}
    )
    assert (result.status, result.dlt) == ("evaluable_without_dlt", False)


@pytest.mark.parametrize("adjudications", [[1], {1: "yes"}, {1: None}])
def test_it_refuses_a_verdict_that_is_not_true_or_false(adjudications):
    with pytest.raises(ValueError, match="adjudications"):
        evaluate_dlt_window(events=[], as_of_day=3, adjudications=adjudications)
