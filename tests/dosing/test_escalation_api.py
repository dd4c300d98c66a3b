"""The escalation API: the state and decisions for every reader, the decision POST."""

from __future__ import annotations

import pytest

from dosing import escalation
from dosing.models import EscalationDecision
from dosing.rules import SubjectOutcome
from tests.dosing.escalation_data import seed_history
from tests.factories import PASSWORD, MembershipFactory, UserFactory
from trialsite.studies.models import Study

pytestmark = pytest.mark.django_db


def url(study) -> str:
    return f"/api/v1/studies/{study.pk}/escalation/"


def recompute(study):
    study = Study.objects.get(pk=study.pk)
    escalation.recompute(study, study.data_version)
    return escalation.current_state(study)


def test_the_investigator_decides_through_the_api(
    client, study, site_a, coordinator_a, investigator_a
):
    seed_history(site_a, coordinator_a, "1NNN")
    state = recompute(study)
    client.force_login(investigator_a)
    body = client.get(url(study)).json()
    assert body["state"]["sentence"] == state.sentence and body["stale"] is False
    assert len(body["subjects"]) == 3 and body["decisions"] == []
    no_reason = client.post(
        url(study),
        {"accepted": False, "state_data_version": state.data_version, "password": PASSWORD,
         "action": "enroll", "dose_level": 3, "open_slots": 3},
        content_type="application/json",
    )  # fmt: skip
    assert no_reason.status_code == 400 and no_reason.json()["codes"] == ["ESC-OVERRIDE-RATIONALE"]
    wrong = client.post(
        url(study),
        {"accepted": True, "state_data_version": state.data_version, "password": "nope"},
        content_type="application/json",
    )
    assert wrong.status_code == 400 and wrong.json()["codes"] == ["bad_password"]
    assert not EscalationDecision.objects.exists()
    made = client.post(
        url(study),
        {"accepted": True, "state_data_version": state.data_version, "password": PASSWORD},
        content_type="application/json",
    )
    assert made.status_code == 201, made.json()
    assert (made.json()["dose_level"], made.json()["status"]) == (2, "signed")


def test_sponsors_read_it_de_identified_and_cannot_decide(client, study, site_a, coordinator_a):
    subjects = seed_history(site_a, coordinator_a, "1NNN")
    recompute(study)
    sponsor = UserFactory()
    MembershipFactory(user=sponsor, study=study, site=None, role="sponsor")
    client.force_login(sponsor)
    body = client.get(url(study)).json()
    assert [s["label"] for s in body["subjects"]] == ["Subject 1", "Subject 2", "Subject 3"]
    assert str(subjects[0]) not in str(body)
    refused = client.post(url(study), {"accepted": True, "password": "x"})
    assert refused.status_code == 403


@pytest.mark.parametrize("subjects", [1, 60])
def test_the_api_read_takes_a_fixed_number_of_queries(
    client, study, site_a, coordinator_a, investigator_a, subjects, django_assert_num_queries
):
    seed_history(site_a, coordinator_a, [SubjectOutcome(1, dlt=False)] * subjects)
    recompute(study)
    client.force_login(investigator_a)
    client.get(url(study))
    with django_assert_num_queries(12):
        assert client.get(url(study)).status_code == 200
