"""efficacy.rules — relapse, progression, time-to-event and response rates (RULES.md §1.4–1.8).

Golden cases: /shared/golden/CASES.md sections C (REL-*) and M (TTE-*), MRD-06.
"""

from datetime import date, timedelta

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from efficacy.rules import (
    DiseaseObservation as Obs,
)
from efficacy.rules import (
    ResponseAssessment,
    SubjectCourse,
    blast_decline,
    detect_progression,
    detect_relapse,
    duration_of_response,
    event_free_survival,
    exact_ci,
    median_blast_decline,
    overall_survival,
    relapse_free_survival,
    response_rates,
)

D = date

# ---------------------------------------------------------------- golden C: relapse


def test_rel_01_marrow_blasts_5_or_more_is_hematologic_relapse_on_that_date():
    got = detect_relapse([Obs(D(2025, 11, 15), bm_blasts_pct=6)])
    assert got.status == "hematologic_relapse"
    assert got.hematologic_relapse_date == D(2025, 11, 15)
    assert got.criteria == ("bm_blasts",)
    assert got.event and got.event_date == D(2025, 11, 15)


def test_rel_02_one_blood_sample_with_blasts_then_none_is_no_relapse():
    got = detect_relapse(
        [Obs(D(2025, 11, 1), pb_blasts=True), Obs(D(2025, 11, 5), pb_blasts=False)]
    )
    assert got.status == "no_relapse"
    assert not got.hematologic_relapse and not got.pb_blasts_pending and not got.event


def test_rel_03_blasts_in_two_blood_samples_7_days_apart_relapse_on_the_first():
    obs = [Obs(D(2025, 11, 1), pb_blasts=True), Obs(D(2025, 11, 8), pb_blasts=True)]
    got = detect_relapse(obs)
    assert got.hematologic_relapse and got.hematologic_relapse_date == D(2025, 11, 1)
    assert got.criteria == ("pb_blasts",)
    second = detect_relapse(obs, pb_relapse_date="second_sample")
    assert second.hematologic_relapse_date == D(2025, 11, 8)


def test_rel_04_blood_samples_5_days_apart_are_not_yet_a_relapse():
    got = detect_relapse([Obs(D(2025, 11, 1), pb_blasts=True), Obs(D(2025, 11, 6), pb_blasts=True)])
    assert not got.hematologic_relapse
    assert got.status == "pb_blasts_unconfirmed" and got.pb_blasts_pending


def test_rel_05_new_extramedullary_disease_is_relapse():
    got = detect_relapse([Obs(D(2025, 12, 3), new_extramedullary_disease=True)])
    assert got.hematologic_relapse and got.criteria == ("extramedullary",)
    assert got.hematologic_relapse_date == D(2025, 12, 3)


def test_rel_06_confirmed_mrd_conversion_is_mrd_relapse_but_no_event_by_default():
    obs = [
        Obs(D(2025, 11, 1), mrd_level=3e-4),
        Obs(D(2025, 11, 20), mrd_level=2.5e-4, bm_blasts_pct=1),
    ]
    got = detect_relapse(obs, remission_mrd_negative=True)
    assert got.status == "mrd_relapse" and got.mrd_relapse == "confirmed"
    assert got.mrd_relapse_date == D(2025, 11, 1)
    assert not got.hematologic_relapse
    assert not got.event  # mrd_relapse_is_event = False
    as_event = detect_relapse(obs, remission_mrd_negative=True, mrd_relapse_is_event=True)
    assert as_event.event and as_event.event_date == D(2025, 11, 1)


def test_rel_06b_a_single_positive_mrd_sample_is_not_a_confirmed_relapse():
    got = detect_relapse([Obs(D(2025, 11, 1), mrd_level=3e-4)], remission_mrd_negative=True)
    assert got.status == "mrd_positive_unconfirmed" and got.mrd_relapse == "unconfirmed"
    assert got.mrd_relapse_date == D(2025, 11, 1) and not got.event


def test_blood_blasts_interrupted_by_a_clear_sample_restart_the_count_by_default():
    obs = [
        Obs(D(2025, 11, 1), pb_blasts=True),
        Obs(D(2025, 11, 4), pb_blasts=False),
        Obs(D(2025, 11, 10), pb_blasts=True),
    ]
    assert detect_relapse(obs).status == "pb_blasts_unconfirmed"
    literal = detect_relapse(obs, pb_confirmation="any_two")
    assert literal.hematologic_relapse_date == D(2025, 11, 1)


def test_blood_blast_interval_boundary_is_inclusive_and_a_setting():
    obs = [Obs(D(2025, 11, 1), pb_blasts=True), Obs(D(2025, 11, 7), pb_blasts=True)]
    assert not detect_relapse(obs).hematologic_relapse  # 6 days
    assert detect_relapse(obs, pb_relapse_min_interval_days=6).hematologic_relapse
    # presence may come from the absolute blast count
    abs_obs = [Obs(D(2025, 11, 1), pb_blasts_10e9_l=0.2), Obs(D(2025, 11, 8), pb_blasts_10e9_l=1)]
    assert detect_relapse(abs_obs).hematologic_relapse


def test_marrow_blast_boundary_for_relapse():
    assert not detect_relapse([Obs(D(2025, 11, 1), bm_blasts_pct=4.9)]).hematologic_relapse
    assert detect_relapse([Obs(D(2025, 11, 1), bm_blasts_pct=5)]).hematologic_relapse


def test_relapse_date_is_the_earliest_qualifying_observation():
    obs = [
        Obs(D(2025, 12, 1), bm_blasts_pct=30),
        Obs(D(2025, 11, 1), pb_blasts=True),
        Obs(D(2025, 11, 9), pb_blasts=True),
    ]
    got = detect_relapse(obs)
    assert got.hematologic_relapse_date == D(2025, 11, 1) and got.criteria == ("pb_blasts",)


def test_mrd_relapse_needs_a_prior_negative_and_the_same_specimen():
    persistent = [Obs(D(2025, 11, 1), mrd_level=3e-4), Obs(D(2025, 11, 20), mrd_level=4e-4)]
    assert detect_relapse(persistent).mrd_relapse == "none"  # never negative: no conversion
    converted = [Obs(D(2025, 10, 1), mrd_level=0)] + persistent
    assert detect_relapse(converted).mrd_relapse == "confirmed"
    other_tissue = [
        Obs(D(2025, 11, 1), mrd_level=3e-4),
        Obs(D(2025, 11, 20), mrd_level=4e-4, mrd_specimen="peripheral_blood"),
    ]
    got = detect_relapse(other_tissue, remission_mrd_negative=True)
    assert got.mrd_relapse == "unconfirmed"
    cleared = [
        Obs(D(2025, 11, 1), mrd_level=3e-4),
        Obs(D(2025, 11, 10), mrd_level=5e-5),
        Obs(D(2025, 11, 20), mrd_level=4e-4),
    ]
    assert detect_relapse(cleared, remission_mrd_negative=True).mrd_relapse == "unconfirmed"


def test_mrd_threshold_boundary_and_confirmation_window():
    at = [Obs(D(2025, 11, 1), mrd_level=1e-4), Obs(D(2025, 11, 20), mrd_level=1e-4)]
    assert detect_relapse(at, remission_mrd_negative=True).mrd_relapse == "confirmed"
    below = [Obs(D(2025, 11, 1), mrd_level=0.99e-4), Obs(D(2025, 11, 20), mrd_level=0.99e-4)]
    assert detect_relapse(below, remission_mrd_negative=True).mrd_relapse == "none"
    late = [Obs(D(2025, 11, 1), mrd_level=3e-4), Obs(D(2025, 12, 30), mrd_level=3e-4)]
    assert (
        detect_relapse(late, remission_mrd_negative=True, mrd_confirm_within_days=28).mrd_relapse
        == "unconfirmed"
    )
    by_result = [
        Obs(D(2025, 11, 1), mrd_result="positive"),
        Obs(D(2025, 11, 9), mrd_result="positive"),
    ]
    assert detect_relapse(by_result, remission_mrd_negative=True).mrd_relapse == "confirmed"


def test_observations_before_the_remission_date_are_ignored():
    obs = [Obs(D(2025, 6, 20), bm_blasts_pct=40), Obs(D(2025, 8, 1), bm_blasts_pct=2)]
    assert detect_relapse(obs, remission_date=D(2025, 7, 1)).status == "no_relapse"


@pytest.mark.parametrize(
    "call, message",
    [
        (lambda: detect_relapse([], pb_relapse_date="last"), "pb_relapse_date must be one of"),
        (lambda: detect_relapse([], pb_confirmation="two"), "pb_confirmation must be one of"),
        (lambda: detect_relapse([{"date": D(2025, 1, 1)}]), r"observations\[0\] must be a"),
        (lambda: Obs(D(2025, 1, 1), bm_blasts_pct=120), "bm_blasts_pct must be between 0 and 100"),
        (lambda: Obs(D(2025, 1, 1), mrd_level=2), "mrd_level must be between 0 and 1"),
        (lambda: Obs(D(2025, 1, 1), mrd_result="neg"), "mrd_result must be"),
        (lambda: Obs("2025-01-01"), "date must be a datetime.date"),
        (lambda: detect_relapse([], mrd_threshold=0), "mrd_threshold must be > 0"),
    ],
)
def test_relapse_refuses_impossible_input(call, message):
    with pytest.raises(ValueError, match=message):
        call()


# ---------------------------------------------------------------- progression (ELN 2017 PD)


def pd(obs, response="PR", baseline=20, **kw):
    return detect_progression(obs, response=response, baseline_bm_blasts_pct=baseline, **kw)


def test_loss_of_mlfs_uses_the_relapse_tests():
    got = pd([Obs(D(2025, 9, 1), bm_blasts_pct=6)], response="MLFS", baseline=60)
    assert got.progression and got.date == D(2025, 9, 1)
    assert got.criteria == ("loss_of_response",)
    # the same marrow is not progression of a PR (its blasts were already 5–25 %)
    assert not pd([Obs(D(2025, 9, 1), bm_blasts_pct=6)], response="PR", baseline=60).progression


@pytest.mark.parametrize(
    "baseline, blasts, expected",
    [
        (20, 30, False),  # 1.5 × 20 = 30 is not > 30
        (20, 31, False),  # > 50 % increase but only +11 points (< 30 % baseline needs +15)
        (20, 35, True),
        (40, 60, False),
        (40, 60.1, True),  # baseline ≥ 30 %: no +15 point minimum
    ],
)
def test_marrow_blast_increase_over_baseline(baseline, blasts, expected):
    got = pd([Obs(D(2025, 9, 1), bm_blasts_pct=blasts)], baseline=baseline)
    assert got.progression is expected
    if expected:
        assert got.criteria == ("bm_blast_increase",)


def test_a_documented_count_recovery_is_not_progression():
    obs = [Obs(D(2025, 9, 1), bm_blasts_pct=35, anc_10e9_l=0.6)]
    assert not pd(obs, baseline_anc_10e9_l=0.2).progression  # ANC tripled to > 0.5
    assert pd(obs, baseline_anc_10e9_l=0.4).progression  # not doubled
    assert pd(obs).progression  # baseline count unknown: exception not documented


def test_persistent_marrow_blasts_over_70_for_3_months():
    early = [Obs(D(2025, 9, 1), bm_blasts_pct=75), Obs(D(2025, 11, 29), bm_blasts_pct=80)]
    assert not pd(early, baseline=80).progression  # 89 days
    late = [Obs(D(2025, 9, 1), bm_blasts_pct=75), Obs(D(2025, 11, 30), bm_blasts_pct=80)]
    got = pd(late, baseline=80)
    assert got.progression and got.date == D(2025, 9, 1)
    assert got.criteria == ("bm_blasts_persistent_over_70",)


def test_blood_blast_increase_and_new_emd():
    base = {"baseline_pb_blasts_10e9_l": 10}
    assert pd([Obs(D(2025, 9, 1), pb_blasts_10e9_l=26)], **base).progression
    assert not pd([Obs(D(2025, 9, 1), pb_blasts_10e9_l=25)], **base).progression  # not > 25
    assert not pd([Obs(D(2025, 9, 1), pb_blasts_10e9_l=15)], **base).progression
    # an unknown baseline blood blast count cannot show an increase
    assert not pd([Obs(D(2025, 9, 1), pb_blasts_10e9_l=40)]).progression
    assert not pd(
        [Obs(D(2025, 9, 1), pb_blasts_10e9_l=40, differentiation_syndrome=True)], **base
    ).progression
    got = pd([Obs(D(2025, 9, 1), new_extramedullary_disease=True)])
    assert got.progression and got.criteria == ("extramedullary",)


def test_progression_refuses_non_responders_and_unknown_definitions():
    with pytest.raises(ValueError, match="response must be one of"):
        pd([], response="NR")
    with pytest.raises(ValueError, match="pd_definition must be one of 'eln2017'"):
        pd([], pd_definition="eln2022")


# ---------------------------------------------------------------- golden M: time to event

INF = D(2025, 6, 1)
TTE01 = SubjectCourse(
    INF,
    assessments=[(D(2025, 7, 1), "CR")],
    relapse_date=D(2025, 11, 15),
    death_date=D(2026, 2, 1),
)
TTE02 = SubjectCourse(
    INF,
    assessments=[(D(2025, 7, 1), "NR"), (D(2025, 8, 1), "NR"), (D(2025, 9, 1), "NR")],
    progression_date=D(2025, 9, 10),
    last_known_alive_date=D(2026, 1, 10),
)
TTE03 = SubjectCourse(INF, assessments=[(D(2025, 7, 1), "MLFS")], progression_date=D(2025, 10, 1))
TTE04 = SubjectCourse(
    INF,
    assessments=[(D(2025, 7, 1), "CRi"), (D(2026, 6, 1), "CRi")],
    hsct_date=D(2025, 8, 1),
    last_known_alive_date=D(2026, 6, 15),
)

TTE_CASES = [
    ("TTE-01-OS", overall_survival, TTE01, {}, (INF, D(2026, 2, 1), True, 245)),
    ("TTE-01-EFS", event_free_survival, TTE01, {}, (INF, D(2025, 11, 15), True, 167)),
    ("TTE-01-RFS", relapse_free_survival, TTE01, {}, (D(2025, 7, 1), D(2025, 11, 15), True, 137)),
    ("TTE-01-DOR", duration_of_response, TTE01, {}, (D(2025, 7, 1), D(2025, 11, 15), True, 137)),
    ("TTE-02-OS", overall_survival, TTE02, {}, (INF, D(2026, 1, 10), False, 223)),
    ("TTE-02-EFS-protocol", event_free_survival, TTE02, {}, (INF, D(2025, 9, 10), True, 101)),
    (
        "TTE-02-EFS-eln2022",
        event_free_survival,
        TTE02,
        {"efs_definition": "eln2022"},
        (INF, INF, True, 0),
    ),
    ("TTE-02-RFS", relapse_free_survival, TTE02, {}, None),
    ("TTE-02-DOR", duration_of_response, TTE02, {}, None),
    ("TTE-03-DOR", duration_of_response, TTE03, {}, (D(2025, 7, 1), D(2025, 10, 1), True, 92)),
    ("TTE-03-RFS", relapse_free_survival, TTE03, {}, None),
    ("TTE-03-EFS-protocol", event_free_survival, TTE03, {}, (INF, D(2025, 10, 1), True, 122)),
    (
        "TTE-04-RFS",
        relapse_free_survival,
        TTE04,
        {},
        (D(2025, 7, 1), D(2026, 6, 15), False, 349),
    ),
    (
        "TTE-04-RFS-hsct",
        relapse_free_survival,
        TTE04,
        {"censor_at_hsct": True},
        (D(2025, 7, 1), D(2025, 8, 1), False, 31),
    ),
    ("TTE-04-OS", overall_survival, TTE04, {}, (INF, D(2026, 6, 15), False, 379)),
]


@pytest.mark.parametrize(
    "endpoint, course, kwargs, expected",
    [c[1:] for c in TTE_CASES],
    ids=[c[0] for c in TTE_CASES],
)
def test_it_derives_the_golden_time_to_event_cases(endpoint, course, kwargs, expected):
    got = endpoint(course, **kwargs)
    if expected is None:
        assert got is None
        return
    assert (got.start, got.end, got.event, got.duration_days) == expected


def test_tte_reasons_months_and_day_offset():
    os_ = overall_survival(TTE01)
    assert os_.reason == "death" and round(os_.months, 2) == 8.05
    assert overall_survival(TTE01, tte_day_offset=1).duration_days == 246
    assert relapse_free_survival(TTE01, tte_day_offset=1).duration_days == 138
    assert event_free_survival(TTE02, efs_definition="eln2022").reason == "treatment_failure"
    assert relapse_free_survival(TTE04).reason == "censored_last_known_alive"
    assert relapse_free_survival(TTE04, censor_at_hsct=True).reason == "censored_hsct"


def test_eln2022_efs_landmark_rules():
    kw = {"efs_definition": "eln2022"}
    responder = SubjectCourse(
        INF, assessments=[(INF + timedelta(90), "CRh")], last_known_alive_date=D(2026, 1, 1)
    )
    got = event_free_survival(responder, **kw)
    assert not got.event and got.end == INF + timedelta(90)  # censored at last assessment
    too_late = SubjectCourse(
        INF, assessments=[(INF + timedelta(91), "CR")], last_known_alive_date=D(2026, 1, 1)
    )
    assert event_free_survival(too_late, **kw).reason == "treatment_failure"
    assert event_free_survival(too_late, response_landmark_days=91, **kw).event is False
    died_early = SubjectCourse(INF, death_date=INF + timedelta(20))
    assert event_free_survival(died_early, **kw).duration_days == 0
    no_marrow = SubjectCourse(
        INF, assessments=[(INF + timedelta(28), "NE")], last_known_alive_date=D(2026, 1, 1)
    )
    got = event_free_survival(no_marrow, **kw)
    assert (got.event, got.duration_days, got.reason) == (False, 0, "censored_not_evaluable")
    pending = SubjectCourse(
        INF, assessments=[(INF + timedelta(28), "NR")], last_known_alive_date=INF + timedelta(40)
    )
    got = event_free_survival(pending, **kw)
    assert (got.event, got.duration_days) == (False, 28)
    # the protocol definition never puts an event on the start date
    assert event_free_survival(too_late).event is False


def test_efs_hsct_and_new_therapy_settings():
    course = SubjectCourse(
        INF,
        assessments=[(D(2025, 7, 1), "CR"), (D(2025, 12, 1), "CR")],
        hsct_date=D(2025, 8, 1),
        relapse_date=D(2026, 3, 1),
        last_known_alive_date=D(2026, 6, 1),
    )
    assert event_free_survival(course).end == D(2026, 3, 1)
    got = event_free_survival(course, censor_at_hsct=True)
    assert (got.end, got.event, got.reason) == (D(2025, 8, 1), False, "censored_hsct")
    therapy = SubjectCourse(
        INF,
        assessments=[(D(2025, 7, 1), "NR")],
        new_therapy_date=D(2025, 7, 15),
        death_date=D(2025, 10, 1),
    )
    assert event_free_survival(therapy).end == D(2025, 10, 1)
    assert event_free_survival(therapy, new_therapy_efs="event").reason == "new_therapy"
    got = event_free_survival(therapy, new_therapy_efs="censor")
    assert (got.end, got.event) == (D(2025, 7, 15), False)


def test_responses_after_hsct_are_ignored_unless_included():
    course = SubjectCourse(
        INF,
        assessments=[(D(2025, 7, 1), "NR"), (D(2025, 10, 1), "CR")],
        hsct_date=D(2025, 8, 1),
        last_known_alive_date=D(2026, 1, 1),
    )
    assert relapse_free_survival(course) is None
    assert duration_of_response(course) is None
    got = relapse_free_survival(course, response_after_new_therapy="include")
    assert got.start == D(2025, 10, 1) and got.end == D(2026, 1, 1)


def test_dor_censoring_and_mrd_relapse_setting():
    course = SubjectCourse(
        INF,
        assessments=[(D(2025, 7, 1), "PR"), (D(2025, 9, 1), "PR"), (D(2025, 10, 1), "NE")],
        last_known_alive_date=D(2026, 1, 1),
    )
    got = duration_of_response(course)
    assert (got.end, got.event, got.reason) == (D(2025, 9, 1), False, "censored_last_assessment")
    assert duration_of_response(course, dor_censor="last_known_alive").end == D(2026, 1, 1)
    mrd = SubjectCourse(
        INF,
        assessments=[(D(2025, 7, 1), "CR")],
        mrd_relapse_date=D(2025, 10, 1),
        last_known_alive_date=D(2026, 1, 1),
    )
    assert relapse_free_survival(mrd).event is False
    got = relapse_free_survival(mrd, mrd_relapse_is_event=True)
    assert (got.end, got.event, got.reason) == (D(2025, 10, 1), True, "mrd_relapse")
    assert event_free_survival(mrd, mrd_relapse_is_event=True).duration_days == 122


@pytest.mark.parametrize(
    "call, message",
    [
        (lambda: SubjectCourse(INF, assessments=[(D(2025, 5, 1), "CR")]), "before infusion_date"),
        (
            lambda: SubjectCourse(INF, relapse_date=D(2025, 9, 1), death_date=D(2025, 8, 1)),
            r"relapse_date \(2025-09-01\) is after death_date",
        ),
        (lambda: SubjectCourse(INF, assessments=[(D(2025, 7, 1), "CRc")]), "category must be"),
        (lambda: SubjectCourse(INF, hsct_date="2025-08-01"), "hsct_date must be a datetime.date"),
        (
            lambda: relapse_free_survival(
                SubjectCourse(INF, [(D(2025, 8, 1), "CR")], relapse_date=D(2025, 7, 1))
            ),
            "relapse_date .* is before the endpoint start",
        ),
        (lambda: event_free_survival(TTE01, efs_definition="eln"), "efs_definition must be one"),
        (lambda: overall_survival(TTE01, tte_day_offset=2), "tte_day_offset must be one of 0, 1"),
        (lambda: duration_of_response(TTE01, dor_censor="death"), "dor_censor must be one of"),
    ],
)
def test_tte_refuses_impossible_input(call, message):
    with pytest.raises(ValueError, match=message):
        call()


@settings(max_examples=150, deadline=None)
@given(
    offsets=st.lists(st.integers(0, 700), min_size=1, max_size=6),
    categories=st.lists(
        st.sampled_from(["CR", "CRh", "CRi", "MLFS", "PR", "NR", "NE"]), min_size=6
    ),
    death=st.one_of(st.none(), st.integers(0, 800)),
    efs=st.sampled_from(["protocol", "eln2022"]),
)
def test_tte_durations_are_never_negative_and_events_lie_in_follow_up(
    offsets, categories, death, efs
):
    death_date = None if death is None else INF + timedelta(max(death, max(offsets)))
    course = SubjectCourse(
        INF,
        assessments=[(INF + timedelta(o), c) for o, c in zip(offsets, categories, strict=False)],
        death_date=death_date,
    )
    for got in (
        overall_survival(course),
        event_free_survival(course, efs_definition=efs),
        relapse_free_survival(course),
        duration_of_response(course),
    ):
        if got is None:
            continue
        assert got.duration_days >= 0 and got.start <= got.end
        assert got.end <= (death_date or course.last_alive())
    assert overall_survival(course).event is (death_date is not None)


# ---------------------------------------------------------------- rates (§1.7)

COHORT = [
    {1: "CR", 2: "CR", 3: "CR"},
    {1: "MLFS", 2: "CRi", 3: "NR"},
    {1: "PR", 2: "NR"},
    {1: "NE", 2: "CRh"},
    {1: "NR"},
    {},  # infused, never assessed
]
COHORT_MRD = [
    {1: "negative", 2: "negative", 3: "positive"},
    {1: "not_applicable", 2: "not_evaluable"},
    {},
    {2: "positive"},
    {},
    {},
]


def by_month(result):
    return {r.month: r.as_dict() for r in result}


def test_rates_at_the_visit_over_all_infused():
    got = by_month(response_rates(COHORT, mrd=COHORT_MRD, months=(1, 2, 3)))
    m1 = got[1]
    assert (m1["ORR"].numerator, m1["ORR"].denominator) == (3, 6)
    assert (m1["CRR"].numerator, m1["PRR"].numerator, m1["MLFSR"].numerator) == (1, 1, 1)
    assert m1["ORR"].rate == 0.5
    assert (m1["ORR"].ci_lower, m1["ORR"].ci_upper) == exact_ci(3, 6)
    m2 = got[2]
    assert (m2["CRR"].numerator, m2["CRhR"].numerator, m2["CRiR"].numerator) == (3, 1, 1)
    # MRD rate: denominator = CR/CRh/CRi at the visit (3), negative only for subject 1
    assert (m2["MRD_negative_rate"].numerator, m2["MRD_negative_rate"].denominator) == (1, 3)
    assert (got[3]["CRR"].numerator, got[3]["MRD_negative_rate"].numerator) == (1, 0)


def test_rates_over_evaluable_subjects_only():
    got = by_month(response_rates(COHORT, mrd=COHORT_MRD, rate_denominator="evaluable"))
    assert got[1]["ORR"].denominator == 4  # NE and never-assessed subjects left out
    assert got[2]["MRD_negative_rate"].denominator == 2  # CRi with MRD not evaluable left out
    assert got[6]["ORR"].denominator == 0 and got[6]["ORR"].rate is None


def test_best_response_up_to_the_visit():
    got = by_month(response_rates(COHORT, mrd=COHORT_MRD, rate_basis="best_up_to_visit"))
    m3 = got[3]
    assert m3["ORR"].numerator == 4  # subject 3's PR at month 1 still counts
    assert m3["CRR"].numerator == 3
    assert (m3["MRD_negative_rate"].numerator, m3["MRD_negative_rate"].denominator) == (1, 3)
    assert got[12]["ORR"].numerator == 4


def test_mrd_06_mlfs_is_not_counted_in_the_mrd_rate():
    got = response_rates([{1: "MLFS"}], mrd=[{1: "not_applicable"}], months=(1,))[0]
    assert got.mrd_negative_rate.denominator == 0 and got.mrd_negative_rate.rate is None
    assert got.mlfsr.numerator == 1 and got.orr.numerator == 1 and got.crr.numerator == 0


def test_rates_refuse_bad_input():
    with pytest.raises(ValueError, match="mrd must have one mapping per subject"):
        response_rates(COHORT, mrd=COHORT_MRD[:2])
    with pytest.raises(ValueError, match=r"responses\[0\]\[1\] must be one of CR"):
        response_rates([{1: "CRc"}])
    with pytest.raises(ValueError, match=r"mrd\[0\]\[1\] must be one of negative"):
        response_rates([{1: "CR"}], mrd=[{1: "neg"}])
    with pytest.raises(ValueError, match="rate_basis must be one of 'at_visit'"):
        response_rates(COHORT, rate_basis="best")
    with pytest.raises(ValueError, match="rate_denominator must be one of"):
        response_rates(COHORT, rate_denominator="responders")


@settings(max_examples=100, deadline=None)
@given(
    st.lists(
        st.dictionaries(
            st.sampled_from([1, 2, 3]),
            st.one_of(st.none(), st.sampled_from(["CR", "CRh", "CRi", "MLFS", "PR", "NR", "NE"])),
        ),
        min_size=1,
        max_size=12,
    )
)
def test_rate_components_add_up_and_best_response_never_lowers_orr(cohort):
    at = by_month(response_rates(cohort, months=(1, 2, 3)))
    best = by_month(response_rates(cohort, months=(1, 2, 3), rate_basis="best_up_to_visit"))
    for m in (1, 2, 3):
        r = at[m]
        parts = ("CRR", "PRR", "MLFSR")
        assert sum(r[k].numerator for k in parts) == r["ORR"].numerator
        assert r["CRhR"].numerator + r["CRiR"].numerator <= r["CRR"].numerator
        assert r["ORR"].denominator == len(cohort)
        assert best[m]["ORR"].numerator >= r["ORR"].numerator


# ---------------------------------------------------------------- blast decline (§1.8)


def test_blast_decline_relative_and_absolute():
    assert blast_decline(60, 20) == pytest.approx(66.6666667)
    assert blast_decline(60, 20, method="absolute") == 40
    assert blast_decline(40, 60) == -50  # blasts rose
    assert blast_decline(0, 5) is None  # relative decline of a 0 % baseline is undefined
    assert blast_decline(0, 5, method="absolute") == -5
    assert blast_decline(None, 5) is None and blast_decline(50, None) is None
    assert blast_decline(0.3, 0.1, method="absolute") == 0.2  # decimal, not 0.19999999999999998


def test_median_blast_decline_differs_by_method():
    pairs = [(80, 40), (20, 2), (50, 45), (None, 10), (60, None)]
    rel = median_blast_decline(pairs)
    assert (rel.n, rel.median, rel.minimum, rel.maximum) == (3, 50.0, 10.0, 90.0)
    ab = median_blast_decline(pairs, method="absolute")
    assert (ab.n, ab.median, ab.minimum, ab.maximum) == (3, 18.0, 5.0, 40.0)
    empty = median_blast_decline([(None, 3)])
    assert (empty.n, empty.median) == (0, None)


def test_blast_decline_refuses_bad_input():
    with pytest.raises(ValueError, match="current_pct must be between 0 and 100"):
        blast_decline(50, 120)
    with pytest.raises(ValueError, match="blast_decline must be one of 'relative', 'absolute'"):
        blast_decline(50, 20, method="log")
    with pytest.raises(ValueError, match=r"pairs\[0\] must be a \(baseline_pct, current_pct\)"):
        median_blast_decline([50])


def test_response_assessment_is_a_frozen_value():
    a = ResponseAssessment(D(2025, 7, 1), "CR")
    with pytest.raises(AttributeError):
        a.category = "PR"
