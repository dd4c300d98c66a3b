"""Ten coordinators assign at once into the three slots of one signed decision (issue 12 §3).

On PostgreSQL, each in its own connection: the decision's row lock serialises them, so exactly
three subjects are assigned and seven are refused with the "no slot left" field error; nobody
is assigned at a level the decision did not open.
"""

from __future__ import annotations

import pytest
from django.core.exceptions import ValidationError

from dosing import services
from dosing.models import CohortAssignment
from enrollment.models import Subject, SubjectStatus
from tests.dosing_data import confirmed_subject, level, sign_decision
from tests.integration.test_first_save_race import race

pytestmark = pytest.mark.django_db(transaction=True)


def test_ten_coordinators_fill_three_open_slots_exactly(
    services_available, study, site_a, coordinator_a, investigator_a
):
    subjects = [
        confirmed_subject(site_a, coordinator_a, investigator_a, initials=f"R{chr(65 + i)}")
        for i in range(10)
    ]
    decision = sign_decision(study, investigator_a, 2, slots=3)
    dl2 = level(study, 2)

    def assign(subject):
        return lambda: services.assign_subject(subject, actor=coordinator_a, dose_level=dl2)

    outcomes = race(*(assign(s) for s in subjects))
    assigned = [o for o in outcomes if isinstance(o, CohortAssignment)]
    refused = [o for o in outcomes if isinstance(o, ValidationError)]
    assert len(assigned) == 3 and len(refused) == 7, outcomes
    assert {e.error_dict["dose_level"][0].code for e in refused} == {"slots_full"}
    stored = CohortAssignment.objects.filter(study=study, is_active=True)
    assert stored.count() == 3
    assert set(stored.values_list("decision_id", flat=True)) == {decision.pk}
    assert set(stored.values_list("dose_level__level", flat=True)) == {2}
    assert Subject.objects.filter(enrollment_status=SubjectStatus.ENROLLED).count() == 3
