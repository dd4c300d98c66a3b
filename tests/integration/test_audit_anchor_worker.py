"""The beat entry anchors every study's audit head on a real worker (issue 9 §1)."""

from __future__ import annotations

import time

import pytest
from django.conf import settings

from tests.platform.test_audit_trail_checks import make_history
from tests.testapp.models import VitalSigns
from trialsite.celery import app as celery_app
from trialsite.records import selectors
from trialsite.records.audit import verify_trail
from trialsite.records.models import AuditAnchor

pytestmark = pytest.mark.django_db(transaction=True)


def test_the_beat_entry_anchors_each_study_on_a_real_worker(
    real_tasks, study, site_a, coordinator_a
):
    entry = settings.CELERY_BEAT_SCHEDULE["anchor-audit-heads"]
    assert entry["schedule"].total_seconds() == 60 * 60
    record = make_history(study, site_a, coordinator_a)

    celery_app.send_task(entry["task"])
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline and not AuditAnchor.objects.filter(study=study).exists():
        time.sleep(0.2)

    anchor = AuditAnchor.objects.get(study=study)
    assert anchor.event_count == 3
    assert anchor.last_event_id == selectors.audit_trail(record).last().pk
    assert verify_trail() == []
    assert VitalSigns.objects.count() == 1
