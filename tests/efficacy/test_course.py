"""The course of an infused subject from the CRFs: golden cases C (relapse) and M (time to
event, CASES.md) entered as response assessments, follow-ups and disease events, read back by
``subject_efficacy`` and measured by the rules' TTE functions; the follow-up date checks and the
death's grade 5 query (issue #13)."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
from django.core.exceptions import ValidationError

from efficacy import rules
from efficacy.models import DiseaseEvent, FollowUp
from efficacy.selectors import subject_efficacy
from efficacy.services import save_disease_event, save_follow_up, save_response_assessment
from tests.efficacy.efficacy_data import infused_on, marrow
from trialsite.records.models import DataQuery

pytestmark = pytest.mark.django_db

DAY0 = dt.date(2025, 6, 1)
D = dt.date


@pytest.fixture
def subject(site_a, coordinator_a, investigator_a):
    return infused_on(site_a, coordinator_a, investigator_a, DAY0)


def _codes(excinfo, field):
    return [e.code for e in excinfo.value.error_dict[field]]


def response(subject, actor, day, timepoint, **values):
    base = marrow(day, timepoint=timepoint, baseline_bm_blasts_entered=Decimal(60))
    return save_response_assessment(subject, actor=actor, values={**base, **values})


def event(subject, actor, kind, day, **values):
    details = {"death": {"death_cause": "Sepsis"}, "hsct": {"hsct_donor_type": "matched_sibling"}}
    values = {**details.get(kind, {}), **values}
    return save_disease_event(
        subject, actor=actor, values={"event_type": kind, "event_date": day, **values}
    )


def alive(subject, actor, day):
    return save_follow_up(
        subject,
        actor=actor,
        values={"contact_date": day, "survival_status": "alive", "last_known_alive_date": day},
    )


def course_of(study, subject):
    return subject_efficacy(study)[subject.pk].course


NR = {"bm_blasts_pct": Decimal(40)}


def test_tte_01(study, subject, coordinator_a):
    """CR 2025-07-01, relapse 2025-11-15 (marrow 6 %), died 2026-02-01."""
    response(subject, coordinator_a, D(2025, 7, 1), "M1")
    response(subject, coordinator_a, D(2025, 11, 15), "UNS", bm_blasts_pct=Decimal(6))
    event(subject, coordinator_a, "death", D(2026, 2, 1))
    course = course_of(study, subject)
    assert course.relapse_date == D(2025, 11, 15)
    assert rules.overall_survival(course).duration_days == 245
    efs = rules.event_free_survival(course)
    assert (efs.end, efs.event, efs.duration_days) == (D(2025, 11, 15), True, 167)
    assert rules.relapse_free_survival(course).duration_days == 137
    assert rules.duration_of_response(course).duration_days == 137
    assert round(rules.overall_survival(course).months, 2) == 8.05


def test_tte_02(study, subject, coordinator_a):
    """No response M1-M3, PD 2025-09-10, alive 2026-01-10."""
    for day, visit in ((D(2025, 6, 29), "M1"), (D(2025, 8, 1), "M2"), (D(2025, 8, 31), "M3")):
        response(subject, coordinator_a, day, visit, **NR)
    event(subject, coordinator_a, "progression", D(2025, 9, 10))
    alive(subject, coordinator_a, D(2026, 1, 10))
    course = course_of(study, subject)
    os_ = rules.overall_survival(course)
    assert (os_.event, os_.duration_days) == (False, 223)
    assert rules.event_free_survival(course).duration_days == 101
    eln = rules.event_free_survival(course, efs_definition="eln2022")
    assert (eln.duration_days, eln.event) == (0, True)
    assert rules.relapse_free_survival(course) is None
    assert rules.duration_of_response(course) is None


def test_tte_03(study, subject, coordinator_a):
    """MLFS 2025-07-01, PD 2025-10-01."""
    response(
        subject,
        coordinator_a,
        D(2025, 7, 1),
        "M1",
        anc_10e9_l=Decimal("0.3"),
        platelets_10e9_l=Decimal(30),
    )
    event(subject, coordinator_a, "progression", D(2025, 10, 1))
    found = subject_efficacy(study)[subject.pk]
    assert found.responses[0].category == "MLFS"
    course = found.course
    dor = rules.duration_of_response(course)
    assert (dor.event, dor.duration_days) == (True, 92)
    assert rules.relapse_free_survival(course) is None
    assert rules.event_free_survival(course).duration_days == 122


def test_tte_04(study, subject, coordinator_a):
    """CRi 2025-07-01, allo-HSCT 2025-08-01, in remission at the last marrow 2026-06-01,
    alive 2026-06-15."""
    response(
        subject,
        coordinator_a,
        D(2025, 7, 1),
        "M1",
        anc_10e9_l=Decimal("1.2"),
        platelets_10e9_l=Decimal(40),
    )
    event(subject, coordinator_a, "hsct", D(2025, 8, 1))
    response(subject, coordinator_a, D(2026, 6, 1), "M12")
    alive(subject, coordinator_a, D(2026, 6, 15))
    course = course_of(study, subject)
    rfs = rules.relapse_free_survival(course)
    assert (rfs.event, rfs.duration_days) == (False, 349)
    assert rules.relapse_free_survival(course, censor_at_hsct=True).duration_days == 31
    assert rules.overall_survival(course).duration_days == 379


PB = {"bm_blasts_pct": Decimal(1), "pb_blasts": "yes", "pb_blasts_pct": Decimal(2)}
CLEAR = {"bm_blasts_pct": Decimal(1), "pb_blasts": "no"}


@pytest.mark.parametrize(
    "case, findings, relapse",
    [
        ("REL-01", [(D(2025, 11, 15), {"bm_blasts_pct": Decimal(6)})], D(2025, 11, 15)),
        ("REL-02", [(D(2025, 11, 1), PB), (D(2025, 11, 5), CLEAR)], None),
        ("REL-03", [(D(2025, 11, 1), PB), (D(2025, 11, 8), PB)], D(2025, 11, 1)),
        ("REL-04", [(D(2025, 11, 1), PB), (D(2025, 11, 6), PB)], None),
        (
            "REL-05",
            [(D(2025, 11, 1), {"bm_blasts_pct": Decimal(1), "extramedullary_disease": "yes"})],
            D(2025, 11, 1),
        ),
    ],
)
def test_relapse_golden_cases(study, subject, coordinator_a, case, findings, relapse):
    response(subject, coordinator_a, D(2025, 7, 1), "M1")
    for day, values in findings:
        response(subject, coordinator_a, day, "UNS", **values)
    assert course_of(study, subject).relapse_date == relapse


def _mrd(events, cells=100_000):
    return {
        "bm_blasts_pct": Decimal(1),
        "flow_leukemic_events": events,
        "flow_cells_acquired": cells,
    }


def test_rel_06_confirmed_mrd_relapse_is_not_an_event(study, subject, coordinator_a):
    """After CR MRD-: 3e-4 on 2025-11-01, 2.5e-4 on 2025-11-20 → MRD relapse on 2025-11-01."""
    response(subject, coordinator_a, D(2025, 7, 1), "M1", **_mrd(0, 200_000))
    response(subject, coordinator_a, D(2025, 11, 1), "UNS", **_mrd(30))
    response(subject, coordinator_a, D(2025, 11, 20), "UNS", **_mrd(25))
    course = course_of(study, subject)
    assert course.mrd_relapse_date == D(2025, 11, 1)
    assert course.relapse_date is None
    assert rules.relapse_free_survival(course).event is False


def test_rel_06b_one_positive_sample_is_not_confirmed(study, subject, coordinator_a):
    response(subject, coordinator_a, D(2025, 7, 1), "M1", **_mrd(0, 200_000))
    response(subject, coordinator_a, D(2025, 11, 1), "UNS", **_mrd(30))
    course = course_of(study, subject)
    assert (course.mrd_relapse_date, course.relapse_date) == (None, None)


def test_an_override_is_the_category_of_record_in_the_course(
    study, subject, coordinator_a, investigator_a, password
):
    from efficacy.services import confirm_response

    saved = response(subject, coordinator_a, D(2025, 7, 1), "M1", **NR)
    confirm_response(
        saved, actor=investigator_a, password=password, expected_version=saved.version,
        override_category="PR", reason="Central review: 20 % blasts",
    )  # fmt: skip
    found = subject_efficacy(study)[subject.pk]
    (visit,) = found.responses
    assert (visit.category, visit.computed_category, visit.source) == ("PR", "NR", "overridden")
    assert (visit.month, visit.study_day) == (1, 30)
    assert found.course.assessments[0].category == "PR"
    assert found.responses_by_month() == {1: "PR"}


# --- Follow-up and death dates ---------------------------------------------------------------


def test_death_before_the_last_contact_is_refused(subject, coordinator_a):
    alive(subject, coordinator_a, D(2025, 12, 1))
    with pytest.raises(ValidationError) as excinfo:
        event(subject, coordinator_a, "death", D(2025, 11, 30))
    assert "before_contact" in _codes(excinfo, "event_date")
    assert "2025-12-01" in str(excinfo.value)
    assert not DiseaseEvent.objects.exists()


def test_death_before_a_later_visit_is_refused(subject, coordinator_a):
    response(subject, coordinator_a, D(2025, 9, 1), "M3")
    with pytest.raises(ValidationError) as excinfo:
        event(subject, coordinator_a, "death", D(2025, 8, 20))
    assert "before_visit" in _codes(excinfo, "event_date")
    assert not DiseaseEvent.objects.exists()


def test_alive_after_death_and_second_death_are_refused(subject, coordinator_a):
    event(subject, coordinator_a, "death", D(2025, 9, 1))
    with pytest.raises(ValidationError) as excinfo:
        alive(subject, coordinator_a, D(2025, 9, 5))
    assert "after_death" in _codes(excinfo, "last_known_alive_date")
    with pytest.raises(ValidationError) as excinfo:
        event(subject, coordinator_a, "death", D(2025, 9, 2))
    assert "one_death" in _codes(excinfo, "event_type")
    with pytest.raises(ValidationError) as excinfo:
        event(subject, coordinator_a, "relapse", D(2025, 9, 2))
    assert "after_death" in _codes(excinfo, "event_date")
    assert FollowUp.objects.count() == 0 and DiseaseEvent.objects.count() == 1


def test_events_before_day0_and_missing_details_are_refused(subject, coordinator_a):
    with pytest.raises(ValidationError) as excinfo:
        event(subject, coordinator_a, "relapse", DAY0 - dt.timedelta(days=1))
    assert "before_day0" in _codes(excinfo, "event_date")
    with pytest.raises(ValidationError) as excinfo:
        event(subject, coordinator_a, "hsct", D(2025, 8, 1), hsct_donor_type="")
    assert "DE-HSCT-DONOR" in _codes(excinfo, "hsct_donor_type")
    with pytest.raises(ValidationError) as excinfo:
        event(subject, coordinator_a, "new_therapy", D(2025, 8, 1))
    assert "DE-THERAPY-NAME" in _codes(excinfo, "therapy_name")
    assert not DiseaseEvent.objects.exists()


def test_a_death_without_a_grade_5_event_opens_a_query(subject, coordinator_a):
    death = event(subject, coordinator_a, "death", D(2025, 9, 1))
    query = DataQuery.objects.get(object_id=str(death.pk))
    assert query.rule_ref == "EFF-DEATH-NO-G5" and query.is_open
