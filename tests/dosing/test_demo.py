"""The demo seed treats four subjects through the dosing services: three have Day 0."""

from __future__ import annotations

import pytest
from django.contrib.contenttypes.models import ContentType
from django.core.management import call_command

from dosing.models import CohortAssignment, EscalationDecision, EscalationState, Infusion
from enrollment.models import Subject, SubjectStatus, Visit
from trialsite.records.audit import verify_chains
from trialsite.records.models import DataQuery

pytestmark = pytest.mark.django_db


def test_seed_demo_assigns_and_infuses_subjects_through_the_services():
    call_command("seed_demo")
    assignments = CohortAssignment.objects.select_related("dose_level")
    assert sorted((a.dose_level.label, a.phase) for a in assignments) == [
        ("DL1", "ATD"),
        ("DL2", "ATD"),
        ("DL3", "3+3"),
        ("DL3", "3+3"),
    ]
    treated = Subject.objects.filter(enrollment_status=SubjectStatus.TREATED)
    assert treated.count() == Infusion.objects.count() == 3
    for subject in treated:
        infusion = Infusion.objects.get(subject=subject)
        assert subject.day0 == infusion.infusion_start.date()
        assert Visit.objects.filter(subject=subject, code="D28").exists()
        assert infusion.dose_check().verdict == "ok"
    # The demo's dates keep every treatment CRF inside its visit window.
    dosing_types = ContentType.objects.filter(app_label="dosing")
    assert not DataQuery.objects.filter(content_type__in=dosing_types).exists()
    assert list(verify_chains()) == []
    # Every assignment took a slot of a signed decision; the first accepted the engine.
    decisions = list(EscalationDecision.objects.order_by("pk"))
    assert [d.status for d in decisions] == ["signed"] * 3
    assert decisions[0].accepted and decisions[0].dose_level.level == 1
    assert all(a.decision_id for a in assignments)
    state = EscalationState.objects.get()
    assert state.subjects and len(state.subjects) == 4
    call_command("seed_demo")
    assert CohortAssignment.objects.count() == 4
