"""Tests of safety.rules DLT support: DLTCriteria, dlt_candidate, count recovery and the
DLT-window evaluation of one subject (Day 0 to Day 28 inclusive).

Run: .venv/bin/python -m pytest -p no:django -p no:cacheprovider tests/safety -q
"""

import json

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from safety.rules import (
    AE_CATEGORIES,
    DEFAULT_DLT_CRITERIA,
    DLT_WINDOW_STATUSES,
    RELATEDNESS_CATEGORIES,
    AdverseEventFacts,
    BloodCount,
    DLTCriteria,
    assess_count_recovery,
    dlt_candidate,
    evaluate_dlt_window,
)

FAST = settings(max_examples=120, deadline=None)
RECOVERED_DAY_28 = [BloodCount(study_day=28, anc_10e9_l=1.2, platelets_10e9_l=60)]


def ae(term="Alanine aminotransferase increased", **kwargs):
    values = {
        "category": "non_hematologic",
        "grade": 3,
        "relatedness": "possible",
        "onset_study_day": 5,
    }
    values.update(kwargs)
    return AdverseEventFacts(term=term, **values)


def crs(grade, **kwargs):
    kwargs.setdefault("relatedness", "definite")
    return ae("Cytokine release syndrome", category="crs", grade=grade, **kwargs)


def icans(grade, **kwargs):
    kwargs.setdefault("relatedness", "definite")
    return ae("ICANS", category="icans", grade=grade, **kwargs)


# --------------------------------------------------------------------------------------------
# DLTCriteria
# --------------------------------------------------------------------------------------------


def test_it_round_trips_the_default_criteria_through_json():
    stored = json.loads(json.dumps(DEFAULT_DLT_CRITERIA.to_dict()))
    assert DLTCriteria.from_dict(stored) == DEFAULT_DLT_CRITERIA
    assert stored["exempt_terms"] == {"Fever": 3, "Febrile neutropenia": 3}
    assert stored["related_categories"] == ["possible", "probable", "definite"]


def test_it_fills_missing_keys_with_defaults():
    criteria = DLTCriteria.from_dict({"hematologic_recovery_day": 42})
    assert criteria.hematologic_recovery_day == 42
    assert criteria.crs_dlt_grade == 4


def test_it_rejects_unknown_criteria_keys_listing_the_allowed_ones():
    with pytest.raises(ValueError, match="crs_grade_4") as excinfo:
        DLTCriteria.from_dict({"crs_grade_4": True})
    assert "'hematologic_recovery_day'" in str(excinfo.value)


@pytest.mark.parametrize(
    ("data", "parameter"),
    [
        ({"related_categories": ["maybe"]}, "related_categories"),
        ({"related_categories": []}, "related_categories"),
        ({"crs_dlt_grade": 6}, "crs_dlt_grade"),
        ({"crs_unresolved_dlt_grade": 4, "crs_dlt_grade": 4}, "crs_unresolved_dlt_grade"),
        ({"non_hematologic_unresolved_dlt_grade": 2}, "non_hematologic_unresolved_dlt_grade"),
        ({"icans_resolution_hours": 0}, "icans_resolution_hours"),
        ({"recovery_rule": "median"}, "recovery_rule"),
        ({"recovery_anc_10e9_l": -0.5}, "recovery_anc_10e9_l"),
        ({"recovery_platelets_10e9_l": "20"}, "recovery_platelets_10e9_l"),
        ({"hematologic_recovery_day": -1}, "hematologic_recovery_day"),
        ({"grade5_is_dlt": "yes"}, "grade5_is_dlt"),
        ({"exempt_terms": {"Fever": 5}}, "exempt_terms"),
        ({"related_grade_categories": ["cardiac"]}, "related_grade_categories"),
    ],
)
def test_it_validates_criteria_naming_the_field(data, parameter):
    with pytest.raises(ValueError, match=parameter):
        DLTCriteria.from_dict(data)


@FAST
@given(
    related=st.lists(st.sampled_from(RELATEDNESS_CATEGORIES), min_size=1, unique=True),
    crs_dlt=st.sampled_from([None, 4, 5]),
    icans_dlt=st.sampled_from([None, 3, 4]),
    recovery_day=st.one_of(st.none(), st.integers(14, 60)),
    anc=st.sampled_from([0.5, 1, 0.75]),
    rule=st.sampled_from(["last_count", "any_count"]),
    exempt=st.dictionaries(st.sampled_from(["Fever", "Nausea", "Hypokalemia"]), st.integers(1, 4)),
)
def test_it_round_trips_any_valid_criteria(
    related, crs_dlt, icans_dlt, recovery_day, anc, rule, exempt
):
    criteria = DLTCriteria(
        related_categories=tuple(related),
        crs_dlt_grade=crs_dlt,
        icans_dlt_grade=icans_dlt,
        hematologic_recovery_day=recovery_day,
        recovery_anc_10e9_l=anc,
        recovery_rule=rule,
        exempt_terms=tuple(exempt.items()),
    )
    assert DLTCriteria.from_dict(json.loads(json.dumps(criteria.to_dict()))) == criteria


# --------------------------------------------------------------------------------------------
# AdverseEventFacts
# --------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("kwargs", "parameter"),
    [
        ({"category": "cardiac"}, "category"),
        ({"grade": 0}, "grade"),
        ({"grade": 6}, "grade"),
        ({"relatedness": "maybe"}, "relatedness"),
        ({"onset_study_day": 2.5}, "onset_study_day"),
        ({"hours_to_grade_2_or_less": -1}, "hours_to_grade_2_or_less"),
        ({"fatal": True}, "fatal"),
        ({"grade": 5, "fatal": False}, "fatal"),
    ],
)
def test_it_refuses_impossible_event_facts(kwargs, parameter):
    with pytest.raises(ValueError, match=parameter):
        ae(**kwargs)


def test_it_derives_fatal_from_grade_5():
    assert ae(grade=5).fatal is True
    assert ae(grade=4).fatal is False


# --------------------------------------------------------------------------------------------
# dlt_candidate
# --------------------------------------------------------------------------------------------

CANDIDATE_CASES = [
    # id, event, hours_observed, expected is_candidate, expected code
    ("crs-g4", crs(4), None, True, "crs_grade"),
    ("crs-g3-resolved-48h", crs(3, hours_to_grade_2_or_less=48), None, False, "resolved_in_time"),
    ("crs-g3-resolved-72h", crs(3, hours_to_grade_2_or_less=72), None, False, "resolved_in_time"),
    ("crs-g3-resolved-73h", crs(3, hours_to_grade_2_or_less=73), None, True, "unresolved"),
    ("crs-g3-open-72h", crs(3), 72, None, "resolution_pending"),
    ("crs-g3-open-73h", crs(3), 73, True, "unresolved"),
    ("crs-g2", crs(2), None, False, "below_threshold"),
    ("crs-g4-unassessed", crs(4, relatedness=None), None, True, "crs_grade"),
    ("crs-g4-unrelated", crs(4, relatedness="unrelated"), None, False, "not_related"),
    ("icans-g3", icans(3), None, True, "icans_grade"),
    ("icans-g2", icans(2), None, False, "below_threshold"),
    ("alt-g3-resolved", ae(hours_to_grade_2_or_less=24), None, False, "resolved_in_time"),
    ("alt-g3-pending", ae(), None, None, "resolution_pending"),
    (
        "alt-g4-unresolved",
        ae(grade=4, hours_to_grade_2_or_less=100),
        None,
        True,
        "non_hematologic_grade",
    ),
    ("alt-g2", ae(grade=2), None, False, "below_threshold"),
    ("alt-g3-unlikely", ae(relatedness="unlikely"), 200, False, "not_related"),
    ("alt-g3-unassessed", ae(relatedness=None), 200, None, "relatedness_pending"),
    ("alt-g2-unassessed", ae(grade=2, relatedness=None), None, False, "below_threshold"),
    ("fever-g3", ae("Fever", relatedness="definite"), 200, False, "exempt_term"),
    ("fever-g4", ae("Fever", grade=4), 200, True, "non_hematologic_grade"),
    ("fn-g3", ae("Febrile neutropenia"), 200, False, "exempt_term"),
    (
        "neutropenia-g4",
        ae("Neutrophil count decreased", category="hematologic", grade=4),
        None,
        False,
        "hematologic_expected",
    ),
    (
        "fatal-bleed",
        ae("Intracranial hemorrhage", grade=5, relatedness="probable"),
        None,
        True,
        "fatal",
    ),
    ("fatal-unrelated", ae("Sepsis", grade=5, relatedness="unrelated"), None, False, "not_related"),
    ("fatal-fever", ae("Fever", grade=5), None, True, "fatal"),
]


@pytest.mark.parametrize(
    ("event", "hours", "expected", "code"),
    [c[1:] for c in CANDIDATE_CASES],
    ids=[c[0] for c in CANDIDATE_CASES],
)
def test_it_applies_the_default_dlt_criteria(event, hours, expected, code):
    result = dlt_candidate(event, hours_observed=hours)
    assert result.is_candidate is expected
    assert result.code == code
    assert result.reasons and all(r.endswith(".") for r in result.reasons)


def test_it_counts_only_the_studys_relatedness_categories():
    strict = DLTCriteria(related_categories=("probable", "definite"))
    assert dlt_candidate(crs(4, relatedness="possible"), strict).is_candidate is False
    assert dlt_candidate(crs(4, relatedness="probable"), strict).is_candidate is True


def test_it_can_stop_presuming_crs_is_related():
    criteria = DLTCriteria(crs_icans_presumed_related=False)
    assert dlt_candidate(crs(4, relatedness=None), criteria).is_candidate is None


def test_it_accepts_the_stored_criteria_dict():
    stored = DEFAULT_DLT_CRITERIA.to_dict() | {"non_hematologic_dlt_grade": 4}
    result = dlt_candidate(ae(grade=4, hours_to_grade_2_or_less=10), stored)
    assert result.is_candidate is True


def test_it_explains_in_sentences_an_investigator_reads():
    result = dlt_candidate(crs(3, hours_to_grade_2_or_less=96))
    assert result.reasons == (
        "Cytokine release syndrome grade 3 took 96 h to resolve to grade <= 2, more than the "
        "72 h allowed: DLT.",
    )


_ORDER = {False: 0, None: 1, True: 2}


@FAST
@given(
    category=st.sampled_from(AE_CATEGORIES),
    term=st.sampled_from(["Fever", "Hypoxia", "Neutrophil count decreased"]),
    low=st.integers(1, 5),
    high=st.integers(1, 5),
    relatedness=st.one_of(st.none(), st.sampled_from(RELATEDNESS_CATEGORIES)),
    resolved=st.one_of(st.none(), st.integers(0, 200)),
    observed=st.one_of(st.none(), st.integers(0, 200)),
)
def test_it_never_clears_an_event_because_it_got_worse(
    category, term, low, high, relatedness, resolved, observed
):
    low, high = min(low, high), max(low, high)
    common = {"relatedness": relatedness, "hours_to_grade_2_or_less": resolved}
    milder = dlt_candidate(
        ae(term, category=category, grade=low, **common), hours_observed=observed
    )
    worse = dlt_candidate(
        ae(term, category=category, grade=high, **common), hours_observed=observed
    )
    assert _ORDER[worse.is_candidate] >= _ORDER[milder.is_candidate]


# --------------------------------------------------------------------------------------------
# Count recovery (hematologic DLT)
# --------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("anc", "plt", "transfused", "status"),
    [
        (0.5, 20, False, "recovered"),
        (0.49, 20, False, "not_recovered"),
        (0.5, 19, False, "not_recovered"),
        (0.5, 25, True, "not_recovered"),
        (None, 25, False, "pending"),
    ],
)
def test_it_judges_recovery_on_the_day_28_count(anc, plt, transfused, status):
    counts = [
        BloodCount(
            study_day=28,
            anc_10e9_l=anc,
            platelets_10e9_l=plt,
            platelet_transfusion_within_7_days=transfused,
        )
    ]
    assert assess_count_recovery(counts, as_of_day=30).status == status


def test_it_uses_the_latest_count_in_the_week_before_the_recovery_day():
    counts = [
        BloodCount(study_day=14, anc_10e9_l=1.0, platelets_10e9_l=50),
        BloodCount(study_day=24, anc_10e9_l=0.2, platelets_10e9_l=10),
    ]
    result = assess_count_recovery(counts, as_of_day=35)
    assert result.status == "not_recovered"
    assert result.count_day == 24
    assert result.hematologic_dlt is True


def test_it_waits_when_no_count_falls_in_the_week_before_the_recovery_day():
    counts = [BloodCount(study_day=14, anc_10e9_l=0.1, platelets_10e9_l=5)]
    assert assess_count_recovery(counts, as_of_day=35).status == "pending"


def test_it_waits_for_the_recovery_days_own_count_on_that_day():
    counts = [BloodCount(study_day=25, anc_10e9_l=0.3, platelets_10e9_l=10)]
    assert assess_count_recovery(counts, as_of_day=28).status == "pending"
    assert assess_count_recovery(counts, as_of_day=29).status == "not_recovered"


def test_it_accepts_an_early_recovery_with_the_any_count_rule():
    criteria = DLTCriteria(recovery_rule="any_count")
    counts = [BloodCount(study_day=14, anc_10e9_l=0.8, platelets_10e9_l=30)]
    result = assess_count_recovery(counts, as_of_day=15, criteria=criteria)
    assert result.status == "recovered"
    assert result.count_day == 14


def test_it_cannot_assess_recovery_after_the_subject_left():
    result = assess_count_recovery([], as_of_day=40, left_study_day=20)
    assert result.status == "not_assessable"
    assert result.hematologic_dlt is None


# --------------------------------------------------------------------------------------------
# DLT window of one subject
# --------------------------------------------------------------------------------------------


def test_it_counts_a_dlt_with_onset_on_day_28():
    result = evaluate_dlt_window(
        events=[crs(4, onset_study_day=28)], as_of_day=28, count_recovery=RECOVERED_DAY_28
    )
    assert result.status == "evaluable_with_dlt"
    assert result.dlt is True
    assert result.first_dlt_day == 28


def test_it_ignores_a_dlt_with_onset_on_day_29():
    result = evaluate_dlt_window(
        events=[crs(4, onset_study_day=29)], as_of_day=29, count_recovery=RECOVERED_DAY_28
    )
    assert result.status == "evaluable_without_dlt"
    assert result.dlt is False
    assert result.max_related_grade == 0


def test_it_ignores_events_before_infusion():
    result = evaluate_dlt_window(
        events=[ae("Nausea", grade=4, onset_study_day=-3, hours_to_grade_2_or_less=500)],
        as_of_day=40,
        count_recovery=RECOVERED_DAY_28,
    )
    assert result.status == "evaluable_without_dlt"


def test_it_declares_a_dlt_at_once_inside_the_window():
    result = evaluate_dlt_window(events=[icans(3, onset_study_day=6)], as_of_day=7)
    assert result.status == "evaluable_with_dlt"
    assert result.outcome_fields() == {"dlt": True, "max_related_grade": 3, "evaluable": True}


def test_it_keeps_the_window_open_through_day_28_and_closes_it_on_day_29():
    on_28 = evaluate_dlt_window(events=[], as_of_day=28, count_recovery=RECOVERED_DAY_28)
    on_29 = evaluate_dlt_window(events=[], as_of_day=29, count_recovery=RECOVERED_DAY_28)
    assert (on_28.status, on_28.dlt, on_28.evaluable) == ("open", None, True)
    assert (on_29.status, on_29.dlt, on_29.evaluable) == ("evaluable_without_dlt", False, True)


def test_it_calls_a_subject_who_left_early_without_dlt_not_evaluable():
    result = evaluate_dlt_window(events=[crs(2)], as_of_day=30, left_study_day=12)
    assert result.status == "not_evaluable"
    assert result.outcome_fields() == {"dlt": False, "max_related_grade": 2, "evaluable": False}


def test_it_keeps_a_dlt_of_a_subject_who_left_early():
    result = evaluate_dlt_window(events=[crs(4, onset_study_day=3)], as_of_day=30, left_study_day=9)
    assert result.status == "evaluable_with_dlt"


def test_it_calls_leaving_on_day_28_a_completed_window():
    result = evaluate_dlt_window(
        events=[], as_of_day=28, left_study_day=28, count_recovery=RECOVERED_DAY_28
    )
    assert result.status == "evaluable_without_dlt"


def test_it_flags_failure_of_count_recovery_as_a_dlt():
    counts = [BloodCount(study_day=27, anc_10e9_l=0.2, platelets_10e9_l=8)]
    result = evaluate_dlt_window(events=[], as_of_day=29, count_recovery=counts)
    assert result.status == "evaluable_with_dlt"
    assert result.first_dlt_day == 28
    assert result.count_recovery.status == "not_recovered"
    assert any("hematologic DLT candidate" in r for r in result.reasons)


def test_it_keeps_the_window_open_while_day_28_counts_are_missing():
    result = evaluate_dlt_window(events=[], as_of_day=35)
    assert result.status == "open"
    assert result.dlt is None


def test_it_needs_no_counts_when_the_study_has_no_hematologic_rule():
    criteria = DLTCriteria(hematologic_recovery_day=None)
    result = evaluate_dlt_window(events=[], as_of_day=29, criteria=criteria)
    assert result.status == "evaluable_without_dlt"
    assert result.count_recovery is None


def test_it_waits_for_an_unresolved_grade_3_event_near_the_window_end():
    event = ae(onset_study_day=27)  # grade 3, related, resolution not yet known
    statuses = [
        evaluate_dlt_window(events=[event], as_of_day=day, count_recovery=RECOVERED_DAY_28).status
        for day in (29, 31, 32)
    ]
    # (as_of - onset - 1) x 24 h certainly elapsed: 24 h, 72 h (not > 72), then 96 h.
    assert statuses == ["open", "open", "evaluable_with_dlt"]


def test_it_clears_a_grade_3_event_that_resolved_in_time():
    event = ae(onset_study_day=10, hours_to_grade_2_or_less=30)
    result = evaluate_dlt_window(events=[event], as_of_day=40, count_recovery=RECOVERED_DAY_28)
    assert result.status == "evaluable_without_dlt"
    assert result.max_related_grade == 3


def test_it_reports_the_worst_related_grade_for_the_atd_trigger():
    events = [
        crs(2, onset_study_day=2),
        ae("Neutrophil count decreased", category="hematologic", grade=4, onset_study_day=1),
        ae("Headache", grade=3, relatedness="unrelated", onset_study_day=4),
        ae("Nausea", grade=2, relatedness=None, onset_study_day=6),
        ae("Hypoxia", grade=4, onset_study_day=30, hours_to_grade_2_or_less=1),
    ]
    result = evaluate_dlt_window(events=events, as_of_day=40, count_recovery=RECOVERED_DAY_28)
    assert result.max_related_grade == 2
    assert result.max_unassessed_grade == 2
    assert result.status == "evaluable_without_dlt"


def test_it_uses_the_study_window_length():
    event = crs(4, onset_study_day=25)
    short = evaluate_dlt_window(
        events=[event],
        as_of_day=30,
        dlt_window_days=21,
        criteria=DLTCriteria(hematologic_recovery_day=21),
        count_recovery=[BloodCount(study_day=21, anc_10e9_l=1, platelets_10e9_l=50)],
    )
    assert short.status == "evaluable_without_dlt"


@pytest.mark.parametrize(
    ("kwargs", "parameter"),
    [
        ({"as_of_day": 10, "left_study_day": 11}, "left_study_day"),
        ({"as_of_day": -1}, "as_of_day"),
        ({"as_of_day": 10, "dlt_window_days": 0}, "dlt_window_days"),
        ({"as_of_day": 4, "events": [crs(4, onset_study_day=5)]}, "events"),
        ({"as_of_day": 10, "events": [{"grade": 4}]}, "events"),
        (
            {"as_of_day": 10, "count_recovery": [BloodCount(study_day=12, anc_10e9_l=1)]},
            "counts",
        ),
        ({"as_of_day": 10, "criteria": {"window": 28}}, "window"),
    ],
)
def test_it_refuses_impossible_window_input(kwargs, parameter):
    kwargs.setdefault("events", [])
    with pytest.raises(ValueError, match=parameter):
        evaluate_dlt_window(**kwargs)


event_strategy = st.builds(
    AdverseEventFacts,
    term=st.sampled_from(["Cytokine release syndrome", "Hypoxia", "Fever", "Anemia"]),
    category=st.sampled_from(AE_CATEGORIES),
    grade=st.integers(1, 5),
    relatedness=st.one_of(st.none(), st.sampled_from(RELATEDNESS_CATEGORIES)),
    onset_study_day=st.integers(-5, 40),
    hours_to_grade_2_or_less=st.one_of(st.none(), st.integers(0, 150)),
)
count_strategy = st.builds(
    BloodCount,
    study_day=st.integers(0, 40),
    anc_10e9_l=st.one_of(st.none(), st.sampled_from([0.1, 0.5, 2])),
    platelets_10e9_l=st.one_of(st.none(), st.sampled_from([5, 20, 100])),
)


@FAST
@given(
    events=st.lists(event_strategy, max_size=5),
    counts=st.lists(count_strategy, max_size=4),
    as_of_day=st.integers(40, 60),
    left=st.one_of(st.none(), st.integers(0, 40)),
    late=event_strategy,
)
def test_it_keeps_the_window_result_consistent(events, counts, as_of_day, left, late):
    result = evaluate_dlt_window(
        events=events, as_of_day=as_of_day, left_study_day=left, count_recovery=counts
    )
    expected_dlt = {
        "evaluable_with_dlt": True,
        "evaluable_without_dlt": False,
        "not_evaluable": False,
        "open": None,
    }
    assert result.status in DLT_WINDOW_STATUSES
    assert result.dlt is expected_dlt[result.status]
    assert result.evaluable is (result.status != "not_evaluable")
    inside = [e for e in events if 0 <= e.onset_study_day <= 28]
    assert 0 <= result.max_related_grade <= max((e.grade for e in inside), default=0)
    if any(e.grade == 5 and e.relatedness in ("possible", "probable", "definite") for e in inside):
        assert result.status == "evaluable_with_dlt"
    # An event with onset after Day 28 never changes the subject's result.
    after = AdverseEventFacts(
        term=late.term,
        category=late.category,
        grade=late.grade,
        relatedness=late.relatedness,
        onset_study_day=29 + late.onset_study_day % 10,
    )
    again = evaluate_dlt_window(
        events=[*events, after], as_of_day=as_of_day, left_study_day=left, count_recovery=counts
    )
    assert (again.status, again.dlt, again.max_related_grade) == (
        result.status,
        result.dlt,
        result.max_related_grade,
    )
