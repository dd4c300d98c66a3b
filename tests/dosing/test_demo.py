"""The demo seed walks the ATD → 3+3 escalation through the dosing and safety services."""

from __future__ import annotations

import pytest
from django.contrib.contenttypes.models import ContentType
from django.core.management import call_command

from dosing import what_if
from dosing.models import CohortAssignment, EscalationDecision, EscalationState, Infusion
from enrollment.models import Subject, SubjectStatus, Visit
from trialsite.records.audit import verify_chains
from trialsite.records.models import DataQuery
from trialsite.studies.models import Study

pytestmark = pytest.mark.django_db


def test_seed_demo_walks_atd_then_3_3_accepting_the_engine_and_ends_with_one_pending_subject():
    call_command("seed_demo")
    assignments = CohortAssignment.objects.select_related("dose_level").order_by("assigned_at")
    assert [(a.dose_level.label, a.phase, a.cohort_number) for a in assignments] == [
        ("DL1", "ATD", 1),
        ("DL2", "ATD", 1),
        ("DL2", "3+3", 1),
        ("DL2", "3+3", 1),
        ("DL3", "3+3", 1),
        ("DL3", "3+3", 1),
        ("DL3", "3+3", 1),
        ("DL3", "3+3", 2),
    ]
    treated = Subject.objects.filter(enrollment_status=SubjectStatus.TREATED, day0__isnull=False)
    dosed = treated.filter(pk__in=Infusion.objects.values("subject_id"))
    assert dosed.count() == Infusion.objects.count() == 8
    for subject in dosed:
        infusion = Infusion.objects.get(subject=subject)
        assert subject.day0 == infusion.infusion_start.date()
        assert Visit.objects.filter(subject=subject, code="D28").exists()
        assert infusion.dose_check().verdict == "ok"
    # The demo's dates keep every treatment CRF inside its visit window.
    dosing_types = ContentType.objects.filter(app_label="dosing")
    assert not DataQuery.objects.filter(content_type__in=dosing_types).exists()
    assert list(verify_chains()) == []
    # Every decision accepted the engine: DL1 (ATD), DL2 (ATD), the grade-2 trigger's 2 more at
    # DL2, 0/3 → DL3, 1/3 → 3 more at DL3; every assignment took one of their slots.
    decisions = list(EscalationDecision.objects.order_by("pk"))
    assert [d.status for d in decisions] == ["signed"] * 5
    assert all(d.accepted and not d.rationale for d in decisions)
    assert [(d.dose_level.level, d.open_slots, d.phase) for d in decisions] == [
        (1, 1, "ATD"),
        (2, 1, "ATD"),
        (2, 2, "3+3"),
        (3, 3, "3+3"),
        (3, 3, "3+3"),
    ]
    assert all(a.decision_id for a in assignments)
    state = EscalationState.objects.get()
    assert state.sentence == "DL3: 1 DLT in 3 evaluable subjects — enroll 2 more at DL3"
    assert state.outcomes == "1N 2GNN 3NTNP"
    assert state.data_version == Study.objects.get().data_version
    # One subject inside the DLT window: the what-if panel has someone to ask about.
    investigator = decisions[0].created_by
    panel = what_if.what_if(Study.objects.get(), investigator)
    (pending,) = panel.pending
    assert pending.dose_level == 3 and 0 < pending.days_left < 28 and pending.infused_on
    answers = {a.hypotheses[0][1]: a.sentence for a in panel.combinations}
    assert answers == {
        "dlt": "DL3: 2 DLTs in 4 evaluable subjects — enroll 3 at DL2",
        "no_dlt": "DL3: 1 DLT in 4 evaluable subjects — enroll 2 more at DL3",
    }
    call_command("seed_demo")
    assert CohortAssignment.objects.count() == 8
