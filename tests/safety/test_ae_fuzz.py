"""No value a user can send makes the AE form or the AE service crash (issue 8 §4, issue #11 §4).

Hypothesis posts arbitrary text into one to three fields of the AE page (new and existing
events), and hands ``save_adverse_event`` arbitrary values of each field's type (dates from
0001-01-01 to 9999-12-31, huge numbers, unicode, lists of anything for the criteria and the
treatments). The page saves (302) or answers 400 showing the typed text again; the service saves
or refuses with field errors and leaves the events, the audit trail and the data version as they
were.
"""

from __future__ import annotations

import pytest
from django.urls import reverse
from hypothesis import given, settings
from hypothesis import strategies as st

from safety.forms_ae import AdverseEventForm
from safety.models import AdverseEvent, AdverseEventGrade
from safety.services import save_adverse_event
from tests.enrollment.test_fuzz_forms import assert_no_server_error_for_any_post
from tests.enrollment_data import register_and_consent
from tests.fuzz_values import assert_saved_or_refused, texts, values_for
from tests.safety.ae_pages import ae_post, onset_of, shipped

pytestmark = pytest.mark.django_db

FUZZ = settings(max_examples=30, deadline=None, database=None)
JSON_LISTS = ("seriousness_criteria", "treatments")


@pytest.fixture
def subject(site_a, coordinator_a, investigator_a):
    return register_and_consent(site_a, coordinator_a, investigator_a)


def test_any_text_in_the_new_ae_page_never_gives_a_server_error(client, subject, coordinator_a):
    client.force_login(coordinator_a)
    assert_no_server_error_for_any_post(
        client, reverse("safety:ae-new", args=[subject.pk]), ae_post(subject), AdverseEventForm
    )


def test_any_text_in_an_existing_ae_page_never_gives_a_server_error(client, subject, coordinator_a):
    event = save_adverse_event(
        subject,
        actor=coordinator_a,
        values={"term": shipped("Fever"), "onset_date": onset_of(subject), "grade": 1},
    )
    client.force_login(coordinator_a)
    valid = ae_post(subject, version=str(event.version), reason="corrected")
    assert_no_server_error_for_any_post(
        client,
        reverse("safety:ae-edit", args=[subject.pk, event.pk]),
        valid,
        AdverseEventForm,
        instance=event,
    )


def _fields():
    names = [
        "verbatim_term", "onset_date", "ongoing", "resolution_date", "grade", "grade_date",
        "serious", "relationship_car_t", "relationship_lymphodepletion", "expectedness",
        "action_taken", "treatment_other", "outcome", "death_date",
    ]  # fmt: skip
    return {n: AdverseEvent._meta.get_field(n) for n in names}


def _changes():
    fields = _fields()
    lists = st.one_of(
        st.lists(st.one_of(st.sampled_from(["death", "hospitalisation", "other"]), texts),
                 max_size=3),
        texts, st.none(), st.integers(),
    )  # fmt: skip
    names = st.lists(
        st.sampled_from(sorted([*fields, *JSON_LISTS, "term"])), min_size=1, max_size=3,
        unique=True,
    )  # fmt: skip

    def values(chosen):
        return st.fixed_dictionaries(
            {
                n: (
                    lists
                    if n in JSON_LISTS
                    else st.sampled_from(["Nausea", "Sepsis", "Fever", "Anemia"])
                    if n == "term"
                    else values_for(fields[n])
                )
                for n in chosen
            }
        )

    return names.flatmap(values)


ALLOWED = {f.name for f in AdverseEvent._meta.concrete_fields} | {"version", "reason", "subject"}


def test_any_values_through_the_service_save_or_are_refused_field_by_field(subject, coordinator_a):
    valid = {"term": shipped("Fever"), "onset_date": onset_of(subject), "grade": 1}

    @FUZZ
    @given(changes=_changes())
    def enter(changes):
        if "term" in changes:
            changes["term"] = shipped(changes["term"])

        def save():
            event = save_adverse_event(subject, actor=coordinator_a, values={**valid, **changes})
            # Checked before the example is rolled back: a saved event has its grade history.
            assert AdverseEventGrade.objects.filter(event=event).exists()
            return event

        assert_saved_or_refused(save, study=subject.study, model=AdverseEvent, allowed=ALLOWED)

    enter()


def test_any_change_of_an_event_saves_or_is_refused_field_by_field(subject, coordinator_a):
    event = save_adverse_event(
        subject,
        actor=coordinator_a,
        values={"term": shipped("Fever"), "onset_date": onset_of(subject), "grade": 2},
    )

    @FUZZ
    @given(changes=_changes())
    def change(changes):
        if "term" in changes:
            changes["term"] = shipped(changes["term"])
        assert_saved_or_refused(
            lambda: save_adverse_event(
                subject, actor=coordinator_a, values=changes, record=event,
                expected_version=event.version, reason="source data verification",
            ),
            study=subject.study,
            model=AdverseEvent,
            allowed=ALLOWED,
        )  # fmt: skip

    change()
