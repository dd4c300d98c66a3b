"""The demo seed screens realistic subjects through the services, with their audit trail."""

from __future__ import annotations

import pytest
from django.core.management import call_command

from enrollment.models import EligibilityAssessment, Subject, SubjectStatus
from trialsite.records.audit import verify_chains
from trialsite.records.models import AuditEvent

pytestmark = pytest.mark.django_db


def test_seed_demo_screens_twenty_subjects_with_the_required_screen_failures():
    call_command("seed_demo")
    subjects = Subject.objects.all()
    assert subjects.count() >= 20
    failures = subjects.filter(enrollment_status=SubjectStatus.SCREEN_FAILURE)
    codes = {reason["code"] for s in failures for reason in s.screen_failure_reasons}
    assert {"IN7.3", "EX10.3", "EX12.2", "EX2.1"} <= codes
    confirmed = subjects.filter(enrollment_status=SubjectStatus.ELIGIBLE)
    assert confirmed.count() >= 5
    assert all(s.subject_number for s in confirmed)
    assert EligibilityAssessment.objects.filter(eligible=None).exists()  # one still incomplete
    assert AuditEvent.objects.filter(action="create").count() > 200
    assert list(verify_chains()) == []

    call_command("seed_demo")
    assert Subject.objects.count() == subjects.count()
