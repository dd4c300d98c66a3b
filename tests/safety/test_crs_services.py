"""Daily CRS/ICANS through the services: golden cases D and E (CASES.md), bad input, episodes.

Each golden case is entered as data in the database and the *stored* grade is asserted, so
the CRF-to-rule mapping is tested together with the rules (issue #11, Requirements 2-4).
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
from django.core.exceptions import ValidationError

from safety.models import (
    AdverseEvent,
    AESource,
    CRSAssessment,
    CRSEpisode,
    ICANSAssessment,
    ICANSEpisode,
)
from safety.services import grade_crs, save_crs_assessment, save_icans_assessment
from tests.safety.crs_data import add_crs, add_icans, crs_values, icans_values, infused_subject

pytestmark = pytest.mark.django_db


@pytest.fixture
def subject(site_a, coordinator_a, investigator_a):
    return infused_subject(site_a, coordinator_a, investigator_a)


def _codes(excinfo, field):
    return [e.code for e in excinfo.value.error_dict[field]]


NOREPI = {
    "hypotension": True,
    "vasopressors": ["norepinephrine"],
    "norepinephrine_ug_kg_min": "0.1",
}

CRS_CASES = [
    ("CRS-01", "38.5", {}, 1, "fever"),
    ("CRS-02", "37.9", {}, 0, "not_crs"),
    ("CRS-03", "38.0", {}, 1, "fever"),
    ("CRS-04", "39.0", {"hypotension": True, "fluid_bolus": True}, 2, "hypotension_no_vasopressor"),
    (
        "CRS-05",
        "38.2",
        {"oxygen_device": "nasal_cannula", "oxygen_flow_l_min": Decimal("4")},
        2,
        "oxygen_low_flow",
    ),
    ("CRS-08", "38.6", {"oxygen_device": "blow_by"}, 2, "oxygen_low_flow"),
    ("CRS-09", "38.6", {"oxygen_device": "simple_face_mask"}, 3, "oxygen_high_flow"),
    ("CRS-12", "40.0", {"oxygen_device": "cpap"}, 4, "oxygen_positive_pressure"),
    (
        "CRS-13",
        "38.9",
        {**NOREPI, "oxygen_device": "nasal_cannula", "oxygen_flow_l_min": Decimal("2")},
        3,
        "hypotension_one_vasopressor",
    ),
    ("CRS-15", "37.2", NOREPI, 0, "not_crs_review"),
]


@pytest.mark.parametrize(("case", "tmax", "extra", "grade", "deciding"), CRS_CASES)
def test_it_stores_the_astct_grade_of_each_golden_crs_case(
    subject, coordinator_a, case, tmax, extra, grade, deciding
):
    extra = {
        k: Decimal(v) if k.endswith("_min") and isinstance(v, str) else v for k, v in extra.items()
    }
    saved = add_crs(subject, coordinator_a, 1, tmax, **extra)
    saved.refresh_from_db()
    assert (saved.grade, saved.deciding) == (grade, deciding), case
    assert saved.fever is (Decimal(tmax) >= Decimal("38.0"))


def test_crs_15_is_flagged_for_the_investigator(subject, coordinator_a):
    saved = add_crs(
        subject, coordinator_a, 1, "37.2", **{**NOREPI, "norepinephrine_ug_kg_min": Decimal("0.1")}
    )
    assert saved.needs_review is True
    assert not CRSEpisode.objects.filter(subject=subject).exists()


def test_the_sentence_names_the_deciding_parameter(subject):
    day = subject.day0 + dt.timedelta(days=1)
    values = crs_values(day, "38.9", **{**NOREPI, "norepinephrine_ug_kg_min": Decimal("0.1")})
    assert grade_crs(subject, values).sentence == "Grade 3: hypotension needing one vasopressor"


ICANS_CASES = [
    ("ICANS-01", (4, 3, 1, 1, 1), {}, 0, 10),
    ("ICANS-02", (4, 3, 1, 1, 0), {}, 1, 9),
    ("ICANS-03", (4, 1, 1, 1, 0), {"consciousness": "awakens_to_voice"}, 2, 7),
    ("ICANS-04", (3, 2, 1, 0, 0), {}, 2, 6),
    ("ICANS-05", (1, 1, 1, 0, 0), {"seizure": "resolved_rapidly"}, 3, 3),
    ("ICANS-06", (1, 1, 0, 0, 0), {}, 3, 2),
    ("ICANS-08", (0, 0, 0, 0, 0), {"consciousness": "unarousable"}, 4, 0),
    ("ICANS-09", (4, 3, 1, 0, 0), {"raised_icp": "focal_edema"}, 3, 8),
    ("ICANS-10", (4, 3, 1, 0, 0), {"motor": "deep_focal_weakness"}, 4, 8),
    ("ICANS-11", (4, 3, 1, 0, 0), {"seizure": "prolonged_or_repetitive"}, 4, 8),
]


@pytest.mark.parametrize(("case", "items", "extra", "grade", "ice"), ICANS_CASES)
def test_it_stores_the_ice_score_and_icans_grade_of_each_golden_case(
    subject, coordinator_a, case, items, extra, grade, ice
):
    saved = add_icans(subject, coordinator_a, 1, items, **extra)
    saved.refresh_from_db()
    assert (saved.ice_score, saved.grade) == (ice, grade), case


@pytest.mark.parametrize(
    ("case", "items", "ice"),
    [("ICE-01", (4, 3, 1, 1, 1), 10), ("ICE-03", (1, 1, 1, 0, 0), 3), ("ICE-04", (0,) * 5, 0)],
)
def test_it_stores_the_ice_score_of_the_golden_items(subject, coordinator_a, case, items, ice):
    assert add_icans(subject, coordinator_a, 2, items).ice_score == ice, case


def test_the_icans_deciding_domain_is_named(subject, coordinator_a):
    saved = add_icans(subject, coordinator_a, 1, (4, 1, 1, 1, 0), consciousness="awakens_to_voice")
    assert saved.deciding == "consciousness"
    saved = add_icans(subject, coordinator_a, 2, (4, 3, 1, 0, 0), motor="deep_focal_weakness")
    assert saved.deciding == "motor"


# --- Bad input: field errors with codes, nothing saved ----------------------------------------


@pytest.mark.parametrize(
    ("item", "value"),
    [("ice_orientation", 5), ("ice_naming", 4), ("ice_commands", 2), ("ice_attention", -1)],
)
def test_an_ice_item_out_of_range_is_refused(subject, coordinator_a, item, value):
    day = subject.day0 + dt.timedelta(days=1)
    with pytest.raises(ValidationError) as excinfo:
        save_icans_assessment(
            subject, actor=coordinator_a, values={**icans_values(day), item: value}
        )
    assert _codes(excinfo, item) == ["out_of_range"]
    assert not ICANSAssessment.objects.exists()


def test_a_vasopressor_without_a_dose_is_refused(subject, coordinator_a):
    day = subject.day0 + dt.timedelta(days=1)
    values = crs_values(day, "38.9", hypotension=True, vasopressors=["norepinephrine"])
    with pytest.raises(ValidationError) as excinfo:
        save_crs_assessment(subject, actor=coordinator_a, values=values)
    assert _codes(excinfo, "norepinephrine_ug_kg_min") == ["dose_required"]
    assert not CRSAssessment.objects.exists()
    assert not AdverseEvent.objects.exists()


def test_a_second_crs_assessment_for_the_same_day_is_refused(subject, coordinator_a):
    add_crs(subject, coordinator_a, 1, "38.5")
    with pytest.raises(ValidationError) as excinfo:
        add_crs(subject, coordinator_a, 1, "39.0")
    assert _codes(excinfo, "assessment_date") == ["one_per_day"]
    assert CRSAssessment.objects.count() == 1


def test_a_nasal_cannula_needs_its_flow_and_room_air_has_none(subject, coordinator_a):
    with pytest.raises(ValidationError) as excinfo:
        add_crs(subject, coordinator_a, 1, "38.5", oxygen_device="nasal_cannula")
    assert _codes(excinfo, "oxygen_flow_l_min") == ["required_if"]
    with pytest.raises(ValidationError) as excinfo:
        add_crs(subject, coordinator_a, 1, "38.5", oxygen_flow_l_min=Decimal("2"))
    assert _codes(excinfo, "oxygen_flow_l_min") == ["inconsistent"]


def test_an_assessment_before_day0_is_refused(subject, coordinator_a):
    with pytest.raises(ValidationError) as excinfo:
        add_crs(subject, coordinator_a, -1, "38.5")
    assert _codes(excinfo, "assessment_date") == ["before_day0"]


def test_an_impossible_temperature_is_refused(subject, coordinator_a):
    with pytest.raises(ValidationError) as excinfo:
        add_crs(subject, coordinator_a, 1, "48.0")
    assert "max_temperature_c" in excinfo.value.error_dict
    assert not CRSAssessment.objects.exists()


def test_tocilizumab_needs_a_dose(subject, coordinator_a):
    with pytest.raises(ValidationError) as excinfo:
        add_crs(subject, coordinator_a, 1, "38.5", tocilizumab_given=True)
    assert _codes(excinfo, "tocilizumab_dose_mg") == ["required_if"]


# --- Episodes and their AEs -------------------------------------------------------------------


def _ae(subject, source=AESource.CRS_EPISODE):
    events = list(AdverseEvent.objects.filter(subject=subject, source=source))
    assert len(events) <= 1, "an episode is kept as one AE, never duplicated"
    return events[0] if events else None


def test_crs_16_the_episode_grade_is_the_worst_day_and_the_ae_follows(subject, coordinator_a):
    # Daily grades 1, 2, 3, 2, 1 (CASES.md CRS-16), then a day without fever ends it.
    add_crs(subject, coordinator_a, 1, "38.5")
    add_crs(subject, coordinator_a, 2, "39.0", hypotension=True, fluid_bolus=True)
    add_crs(
        subject, coordinator_a, 3, "39.2", **{**NOREPI, "norepinephrine_ug_kg_min": Decimal("0.1")}
    )
    add_crs(subject, coordinator_a, 4, "38.4", hypotension=True)
    add_crs(subject, coordinator_a, 5, "38.1")
    episode = CRSEpisode.objects.get(subject=subject)
    day = lambda n: subject.day0 + dt.timedelta(days=n)  # noqa: E731
    assert (episode.onset_date, episode.max_grade, episode.max_grade_date) == (day(1), 3, day(3))
    assert episode.resolution_date is None and episode.duration_days == 5
    event = _ae(subject)
    assert event.term.term == "Cytokine release syndrome"
    assert (event.onset_date, event.grade, event.worst_grade, event.ongoing) == (day(1), 1, 3, True)
    steps = list(event.grade_steps.values_list("grade", "from_date"))
    assert steps == [(1, day(1)), (2, day(2)), (3, day(3)), (2, day(4)), (1, day(5))]
    add_crs(subject, coordinator_a, 6, "37.0")
    episode.refresh_from_db()
    event.refresh_from_db()
    assert (episode.resolution_date, episode.duration_days) == (day(6), 5)
    assert (event.ongoing, event.resolution_date, event.outcome) == (False, day(6), "recovered")
    assert AdverseEvent.objects.filter(subject=subject).count() == 1


def test_a_day_without_an_assessment_does_not_end_the_episode(subject, coordinator_a):
    add_crs(subject, coordinator_a, 1, "38.5")
    add_crs(subject, coordinator_a, 3, "38.6")
    episode = CRSEpisode.objects.get(subject=subject)
    assert episode.duration_days == 3 and episode.resolution_date is None


def test_a_day_without_fever_ends_an_untreated_episode_and_a_new_fever_starts_another(
    subject, coordinator_a
):
    add_crs(subject, coordinator_a, 1, "38.5")
    add_crs(subject, coordinator_a, 2, "37.0")
    add_crs(subject, coordinator_a, 4, "38.8")
    onsets = list(CRSEpisode.objects.filter(subject=subject).values_list("onset_date", flat=True))
    assert onsets == [subject.day0 + dt.timedelta(days=1), subject.day0 + dt.timedelta(days=4)]
    assert AdverseEvent.objects.filter(subject=subject, source=AESource.CRS_EPISODE).count() == 2


def test_a_treated_crs_stays_grade_1_without_fever_until_the_investigator_closes_it(
    subject, coordinator_a
):
    add_crs(
        subject,
        coordinator_a,
        1,
        "39.0",
        tocilizumab_given=True,
        tocilizumab_dose_mg=Decimal("560"),
    )
    day2 = add_crs(subject, coordinator_a, 2, "37.1")
    assert (day2.grade, day2.deciding) == (1, "treated")
    day3 = add_crs(subject, coordinator_a, 3, "37.0", episode_resolved=True)
    assert day3.grade == 0
    episode = CRSEpisode.objects.get(subject=subject)
    assert episode.resolution_date == day3.assessment_date
    assert episode.treatments == ["tocilizumab"] and episode.tocilizumab_doses == 1
    assert _ae(subject).treatments == ["tocilizumab"]


def test_closing_a_crs_that_still_has_fever_is_refused(subject, coordinator_a):
    with pytest.raises(ValidationError) as excinfo:
        add_crs(subject, coordinator_a, 1, "38.5", episode_resolved=True)
    assert _codes(excinfo, "episode_resolved") == ["inconsistent"]


def test_a_correction_re_derives_the_later_days_the_episode_and_its_ae(subject, coordinator_a):
    first = add_crs(subject, coordinator_a, 1, "38.5")
    add_crs(subject, coordinator_a, 2, "37.0")  # ends the untreated episode
    add_crs(subject, coordinator_a, 3, "38.4")  # a second episode
    assert CRSEpisode.objects.filter(subject=subject).count() == 2
    # Day 1 is corrected: tocilizumab was given, so day 2 (no fever) is still CRS grade 1.
    save_crs_assessment(
        subject,
        actor=coordinator_a,
        values={"tocilizumab_given": True, "tocilizumab_dose_mg": Decimal("560")},
        record=first,
        expected_version=first.version,
        reason="tocilizumab was given on Day 1",
    )
    day2 = CRSAssessment.objects.get(
        subject=subject, assessment_date=subject.day0 + dt.timedelta(days=2)
    )
    assert (day2.grade, day2.deciding) == (1, "treated")
    episode = CRSEpisode.objects.get(subject=subject)  # one episode, Days 1-3
    assert (episode.onset_date, episode.last_day) == (
        first.assessment_date,
        day2.assessment_date + dt.timedelta(days=1),
    )
    events = AdverseEvent.objects.filter(subject=subject, source=AESource.CRS_EPISODE)
    assert [e.source_key for e in events] == [f"crs-{episode.pk}"]


def test_a_correction_that_lowers_an_earlier_day_rewrites_the_ae_history(subject, coordinator_a):
    add_crs(subject, coordinator_a, 1, "38.5")
    second = add_crs(subject, coordinator_a, 2, "39.0", oxygen_device="simple_face_mask")
    add_crs(subject, coordinator_a, 3, "38.5")
    save_crs_assessment(
        subject,
        actor=coordinator_a,
        values={"oxygen_device": "blow_by"},
        record=second,
        expected_version=second.version,
        reason="it was blow-by",
    )
    event = _ae(subject)
    day = lambda n: subject.day0 + dt.timedelta(days=n)  # noqa: E731
    assert list(event.grade_steps.values_list("grade", "from_date")) == [
        (1, day(1)),
        (2, day(2)),
        (1, day(3)),
    ]
    assert (event.worst_grade, event.worst_grade_date) == (2, day(2))


def test_a_correction_that_removes_the_only_crs_day_deletes_the_episode_and_ae(
    subject, coordinator_a
):
    only = add_crs(subject, coordinator_a, 1, "38.5")
    save_crs_assessment(
        subject,
        actor=coordinator_a,
        values={"max_temperature_c": Decimal("37.5")},
        record=only,
        expected_version=only.version,
        reason="typing error",
    )
    assert not CRSEpisode.objects.exists()
    assert not AdverseEvent.objects.exists()


def test_icans_days_roll_up_into_an_icans_episode_kept_as_an_ae(subject, coordinator_a):
    add_icans(subject, coordinator_a, 4, (3, 2, 1, 0, 0))  # ICE 6: grade 2
    add_icans(subject, coordinator_a, 5, (4, 3, 1, 1, 0))  # ICE 9: grade 1
    add_icans(subject, coordinator_a, 6)  # ICE 10: resolved
    episode = ICANSEpisode.objects.get(subject=subject)
    assert (episode.max_grade, episode.duration_days) == (2, 2)
    event = _ae(subject, AESource.ICANS_EPISODE)
    assert event.term.term == "Immune effector cell-associated neurotoxicity syndrome"
    assert (event.worst_grade, event.grade, event.ongoing) == (2, 1, False)


def test_a_stale_version_is_refused(subject, coordinator_a):
    from trialsite.records.exceptions import StaleVersion

    saved = add_crs(subject, coordinator_a, 1, "38.5")
    with pytest.raises(StaleVersion):
        save_crs_assessment(
            subject,
            actor=coordinator_a,
            values={"max_temperature_c": Decimal("38.9")},
            record=saved,
            expected_version=saved.version + 1,
            reason="x",
        )
