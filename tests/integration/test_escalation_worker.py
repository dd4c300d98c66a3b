"""A saved DLT result reaches the escalation state through the real worker (issue 12 §7).

The saves bump the study's data version and schedule the coalesced recompute; the worker (a
real Celery worker on the Redis broker) runs the ``escalation`` hook, which stores a new
``EscalationState`` stamped with the newest data version.
"""

from __future__ import annotations

import pytest
from django.db import transaction

from dosing.models import EscalationState
from safety.models import DLTEvaluation, DLTStatus
from tests.dosing.escalation_data import seed_history
from tests.integration.test_recompute_worker import wait_for
from trialsite.records import services as records
from trialsite.studies.models import Study

pytestmark = pytest.mark.django_db(transaction=True)


def state_at_current_version(study):
    version = Study.objects.get(pk=study.pk).data_version
    return EscalationState.objects.filter(study=study, data_version=version).first()


def test_a_saved_dlt_becomes_a_new_escalation_state(real_tasks, study, site_a, coordinator_a):
    subjects = seed_history(site_a, coordinator_a, "1NNP")
    assert wait_for(lambda: state_at_current_version(study) is not None)
    before = state_at_current_version(study)
    assert before.action == "wait" and before.dose_level == 1

    evaluation = DLTEvaluation.objects.get(subject=subjects[-1])
    with transaction.atomic():
        records.update_record(
            evaluation,
            actor=coordinator_a,
            values={"dlt_status": DLTStatus.WITH_DLT, "dlt": True, "max_related_grade": 3},
            expected_version=evaluation.version,
            reason="DLT adjudicated",
        )
    assert wait_for(lambda: state_at_current_version(study) is not None)
    after = state_at_current_version(study)
    assert after.data_version > before.data_version
    assert after.sentence == "DL1: 1 DLT in 3 evaluable subjects — enroll 3 more at DL1"
