"""The adverse-event service: grade history, worst grade, and the hard checks (issue #11 §4)."""

from __future__ import annotations

import datetime as dt

import pytest
from django.core.exceptions import ValidationError

from safety.models import AdverseEvent, AdverseEventGrade, AESource
from safety.services import save_adverse_event, save_derived_adverse_event
from tests.enrollment_data import register_and_consent
from tests.safety.ae_data import term

pytestmark = pytest.mark.django_db


@pytest.fixture
def subject(site_a, coordinator_a, investigator_a):
    return register_and_consent(site_a, coordinator_a, investigator_a)


def _values(subject, **changes):
    onset = subject.screening_date + dt.timedelta(days=3)
    return {"term": term(), "onset_date": onset, "grade": 1, **changes}


def _codes(excinfo, field):
    return [e.code for e in excinfo.value.error_dict[field]]


def test_it_records_an_event_with_its_first_grade_from_onset(subject, coordinator_a):
    event = save_adverse_event(subject, actor=coordinator_a, values=_values(subject, grade=2))
    assert (event.worst_grade, event.worst_grade_date) == (2, event.onset_date)
    steps = list(AdverseEventGrade.objects.filter(event=event).values_list("grade", "from_date"))
    assert steps == [(2, event.onset_date)]


def test_it_keeps_the_grade_history_and_the_worst_grade(subject, coordinator_a):
    event = save_adverse_event(subject, actor=coordinator_a, values=_values(subject))
    day6 = event.onset_date + dt.timedelta(days=4)
    event = save_adverse_event(
        subject,
        actor=coordinator_a,
        values={"grade": 3, "grade_date": day6},
        record=event,
        expected_version=event.version,
        reason="worsened",
    )
    day9 = day6 + dt.timedelta(days=3)
    event = save_adverse_event(
        subject,
        actor=coordinator_a,
        values={"grade": 1, "grade_date": day9},
        record=event,
        expected_version=event.version,
        reason="improving",
    )
    steps = list(event.grade_steps.values_list("grade", "from_date"))
    assert steps == [(1, event.onset_date), (3, day6), (1, day9)]
    assert (event.grade, event.worst_grade, event.worst_grade_date) == (1, 3, day6)


def test_a_new_grade_needs_its_date_and_cannot_start_before_the_last(subject, coordinator_a):
    event = save_adverse_event(subject, actor=coordinator_a, values=_values(subject))
    with pytest.raises(ValidationError) as excinfo:
        save_adverse_event(
            subject, actor=coordinator_a, values={"grade": 2, "grade_date": None},
            record=event, expected_version=event.version, reason="worse",
        )  # fmt: skip
    assert _codes(excinfo, "grade_date") == ["required_if"]
    later = event.onset_date + dt.timedelta(days=5)
    event = save_adverse_event(
        subject, actor=coordinator_a, values={"grade": 2, "grade_date": later},
        record=event, expected_version=event.version, reason="worse",
    )  # fmt: skip
    with pytest.raises(ValidationError) as excinfo:
        save_adverse_event(
            subject, actor=coordinator_a,
            values={"grade": 3, "grade_date": later - dt.timedelta(days=1)},
            record=event, expected_version=event.version, reason="worse",
        )  # fmt: skip
    assert _codes(excinfo, "grade_date") == ["order"]
    assert event.grade_steps.count() == 2


@pytest.mark.parametrize(
    ("changes", "field", "code"),
    [
        ({"grade": 4}, "grade", "AE-GRADE-MAX"),
        ({"grade": 0}, "grade", "min_value"),
        ({"grade": 6}, "grade", "max_value"),
        ({"ongoing": False, "outcome": "recovered", "resolution_date": None}, "resolution_date",
         "required_if"),
        ({"grade": 2, "serious": True}, "seriousness_criteria", "required_if"),
        ({"death_date": dt.date(2020, 1, 1)}, "death_date", "grade_5"),
        ({"treatments": ["other"]}, "treatment_other", "required_if"),
    ],
)  # fmt: skip
def test_bad_input_is_a_field_error_and_saves_nothing(subject, coordinator_a, changes, field, code):
    with pytest.raises(ValidationError) as excinfo:
        save_adverse_event(subject, actor=coordinator_a, values=_values(subject, **changes))
    assert code in _codes(excinfo, field)
    assert not AdverseEvent.objects.exists()


def test_resolution_before_onset_and_onset_before_consent_are_refused(subject, coordinator_a):
    values = _values(subject, ongoing=False, outcome="recovered")
    values["resolution_date"] = values["onset_date"] - dt.timedelta(days=1)
    with pytest.raises(ValidationError) as excinfo:
        save_adverse_event(subject, actor=coordinator_a, values=values)
    assert _codes(excinfo, "resolution_date") == ["order"]
    before_consent = subject.screening_date - dt.timedelta(days=2)
    with pytest.raises(ValidationError) as excinfo:
        save_adverse_event(
            subject, actor=coordinator_a, values=_values(subject, onset_date=before_consent)
        )
    assert _codes(excinfo, "onset_date") == ["AE-BEFORE-ICF"]


def test_a_grade_5_event_is_a_serious_fatal_event_with_a_death_date(subject, coordinator_a):
    fatal = term("Sepsis", max_grade=5, soc="Infections and infestations")
    with pytest.raises(ValidationError) as excinfo:
        save_adverse_event(
            subject, actor=coordinator_a, values=_values(subject, term=fatal, grade=5)
        )
    assert set(excinfo.value.error_dict) >= {"death_date", "outcome", "seriousness_criteria"}
    onset = subject.screening_date + dt.timedelta(days=3)
    event = save_adverse_event(
        subject,
        actor=coordinator_a,
        values=_values(
            subject, term=fatal, grade=5, death_date=onset + dt.timedelta(days=1),
            outcome="fatal", ongoing=False, serious=True, seriousness_criteria=["death"],
        ),
    )  # fmt: skip
    assert event.worst_grade == 5


def test_a_derived_event_is_kept_once_per_source_and_updated(subject, coordinator_a):
    crs = term("Cytokine release syndrome", max_grade=5, soc="Immune system disorders")
    first = save_derived_adverse_event(
        subject, actor=coordinator_a, source=AESource.CRS_EPISODE, source_key="crs-1",
        values=_values(subject, term=crs, grade=1), reason="CRS episode",
    )  # fmt: skip
    again = save_derived_adverse_event(
        subject, actor=coordinator_a, source=AESource.CRS_EPISODE, source_key="crs-1",
        values={"grade": 3, "grade_date": first.onset_date + dt.timedelta(days=2)},
        reason="CRS episode worsened",
    )  # fmt: skip
    assert again.pk == first.pk
    assert (again.worst_grade, again.source) == (3, AESource.CRS_EPISODE)
    assert AdverseEvent.objects.filter(subject=subject).count() == 1
