"""The ``escalation`` recompute hook: data in the database → the stored ``EscalationState``.

Every §G–H case of /work/shared/golden/CASES.md, written into the database (assignments and
stored DLT evaluations) and run through the hook the worker runs, and the selector's fixed
number of queries at 1 and 100 subjects (issue 12 Requirement 2).
"""

from __future__ import annotations

import datetime as dt

import pytest
from django.utils import timezone

from dosing import escalation, services
from dosing.models import CohortAssignment, DoseLevel, EscalationState
from dosing.rules import SubjectOutcome, parse_outcomes
from enrollment import services as enrollment
from tests.dosing.escalation_data import seed_history
from tests.factories import MembershipFactory, SiteFactory, StudyFactory, UserFactory
from trialsite.records import recompute
from trialsite.records import services as records
from trialsite.studies.models import Study

pytestmark = pytest.mark.django_db

FIVE = [
    {"level": n, "label": f"DL{n}", "dose_cells_per_kg": dose}
    for n, dose in enumerate((0.5e6, 1e6, 3e6, 6e6, 10e6), 1)
]
PLAIN_5 = {"dose_levels": FIVE, "dosing": {"atd_levels": 0}}
ATD_4 = {"dose_levels": FIVE[:4], "dosing": {"atd_levels": 2}}
SIMON_STRICT = {
    "dose_levels": FIVE[:4],
    "dosing": {"atd_levels": 2, "atd_trigger": "dlt_or_second_grade2"},
}


def make_site(document):
    study = StudyFactory(settings_document=document)
    site = SiteFactory(study=study, code="TJ")
    coordinator = UserFactory()
    MembershipFactory(user=coordinator, study=study, site=site, role="coordinator")
    return site, coordinator


def run_hook(study) -> EscalationState:
    """What the worker does: the registered hook at the study's current data version."""
    study = Study.objects.get(pk=study.pk)
    recompute.hooks()["escalation"](study, study.data_version)
    return EscalationState.objects.get(study=study)


# CASES.md G: the Korn "6 at the MTD" answer after the last cohort of each sequence.
G_CASES = [
    ("TPT-01", "1NNN 2NNN 3NNN 4NNN 5NNN", ("enroll", 5, None, 3)),
    ("TPT-02", "1NNN 2NNN 3NNN 4NNN 5NNN 5NNN", ("stop", 5, None, 0)),
    ("TPT-03", "1NNN 2NNT 2NNT", ("enroll", 1, None, 3)),
    ("TPT-04", "1NNN 2NNT 2NNT 1NNN", ("stop", 1, 1, 0)),
    ("TPT-05", "1NNN 2TTN", ("enroll", 1, None, 3)),
    ("TPT-06", "1NNN 2TTN 1NNT", ("stop", 1, 1, 0)),
    ("TPT-08", "1NTT", ("stop", None, None, 0)),
    ("TPT-09", "1NNT 1NTN", ("stop", None, None, 0)),
    ("TPT-11", "1NNN 2NNT 2NNN 3NNN 4NTT 3NNN", ("stop", 3, 3, 0)),
    ("TPT-13", "1NNN 2NNN 3NNN 4NNN 5NNT 5NNN", ("stop", 5, None, 0)),
]


@pytest.mark.parametrize(
    ("outcomes", "expected"), [c[1:] for c in G_CASES], ids=[c[0] for c in G_CASES]
)
def test_the_hook_stores_the_3_3_decision_of_cases_g(outcomes, expected):
    site, coordinator = make_site(PLAIN_5)
    seed_history(site, coordinator, outcomes)
    state = run_hook(site.study)
    assert (state.action, state.dose_level, state.mtd, state.open_slots) == expected
    assert parse_outcomes(state.outcomes) == parse_outcomes(outcomes)
    assert len(state.trace) == len(state.subjects) == len(parse_outcomes(outcomes))
    assert state.data_version == Study.objects.get(pk=site.study.pk).data_version


# CASES.md H: ATD -> 3+3 (DL1-DL4, atd_levels 2), (action, level, slots, code, phase).
H_CASES = [
    (
        "ATD-01",
        ATD_4,
        [SubjectOutcome(1, dlt=False, max_related_grade=1)],
        ("enroll", 2, 1, "atd_escalate", "ATD"),
    ),
    ("ATD-02", ATD_4, "1N 2N", ("enroll", 3, 3, "escalate", "3+3")),
    ("ATD-03", ATD_4, "1G", ("enroll", 1, 2, "atd_triggered", "3+3")),
    ("ATD-04", ATD_4, "1G 1NN", ("enroll", 2, 3, "escalate", "3+3")),
    ("ATD-07", SIMON_STRICT, "1G 2G", ("enroll", 2, 2, "atd_triggered", "3+3")),
    ("ATD-fill", ATD_4, "1N 2TNT", ("enroll", 1, 2, "de_escalate", "3+3")),
]


@pytest.mark.parametrize(
    ("document", "outcomes", "expected"), [c[1:] for c in H_CASES], ids=[c[0] for c in H_CASES]
)
def test_the_hook_stores_the_atd_decision_of_cases_h(document, outcomes, expected):
    site, coordinator = make_site(document)
    seed_history(site, coordinator, outcomes)
    state = run_hook(site.study)
    assert (state.action, state.dose_level, state.open_slots, state.code, state.phase) == expected
    assert state.mtd is None


def test_the_sentence_names_the_level_its_dlts_and_what_to_do():
    site, coordinator = make_site(PLAIN_5)
    seed_history(site, coordinator, "1NNN 2NNT")
    state = run_hook(site.study)
    assert state.sentence == "DL2: 1 DLT in 3 evaluable subjects — enroll 3 more at DL2"
    levels = {row["dose_level"]: row for row in state.levels}
    assert (levels[2]["dlts"], levels[2]["evaluable"]) == (1, 3)


def test_an_assigned_subject_without_a_dlt_evaluation_is_pending_and_the_engine_waits():
    site, coordinator = make_site(PLAIN_5)
    seed_history(site, coordinator, "1NNN 2NN")
    subject = enrollment.register_subject(
        actor=coordinator,
        site=site,
        initials="PEN",
        sex="M",
        birth_date=dt.date(1970, 1, 1),
        screening_date=dt.date(2026, 3, 1),
    )
    services.dose_levels(site.study)
    records.create_record(
        CohortAssignment,
        actor=coordinator,
        study=site.study,
        status="submitted",
        values={
            "subject": subject,
            "visit": None,
            "phase": "3+3",
            "cohort_number": 1,
            "dose_level": DoseLevel.objects.get(study=site.study, level=2),
            "assigned_at": timezone.now(),
            "assigned_by": coordinator,
        },
    )
    state = run_hook(site.study)
    assert state.subjects[-1]["status"] == "pending"
    assert state.subjects[-1]["infused_on"] is None
    assert state.action == "wait" and state.dose_level == 2


def test_an_older_run_never_replaces_a_newer_state():
    site, coordinator = make_site(PLAIN_5)
    seed_history(site, coordinator, "1NNN")
    study = Study.objects.get(pk=site.study.pk)
    escalation.recompute(study, study.data_version)
    newer = EscalationState.objects.get(study=study)
    assert escalation.recompute(study, study.data_version - 1)["stored"] is False
    assert EscalationState.objects.get(study=study).computed_at == newer.computed_at


@pytest.mark.parametrize("subjects", [1, 100])
def test_the_inputs_are_read_in_three_queries_at_1_and_100_subjects(
    subjects, django_assert_num_queries
):
    site, coordinator = make_site(PLAIN_5)
    seed_history(site, coordinator, [SubjectOutcome(1, dlt=False)] * subjects)
    study = Study.objects.get(pk=site.study.pk)
    with django_assert_num_queries(3):
        rows = escalation.escalation_inputs(study)
    assert len(rows) == subjects
    # The whole hook: the three reads and the one upsert.
    with django_assert_num_queries(4):
        escalation.recompute(study, study.data_version)
