"""The escalation dashboard: what each reader sees, the decision form, fixed query counts."""

from __future__ import annotations

import pytest
from django.urls import reverse

from dosing import escalation
from dosing.models import EscalationDecision
from dosing.rules import SubjectOutcome
from tests.dosing.escalation_data import seed_history
from tests.factories import PASSWORD, MembershipFactory, UserFactory
from trialsite.studies.models import Study

pytestmark = pytest.mark.django_db
URL = "/escalation/"


def recompute(study):
    study = Study.objects.get(pk=study.pk)
    escalation.recompute(study, study.data_version)
    return escalation.current_state(study)


def sponsor_of(study):
    user = UserFactory()
    MembershipFactory(user=user, study=study, site=None, role="sponsor")
    return user


def test_the_investigator_reads_the_recommendation_and_signs_the_decision(
    client, study, site_a, coordinator_a, investigator_a
):
    seed_history(site_a, coordinator_a, "1NNN 2NNT")
    state = recompute(study)
    client.force_login(investigator_a)
    page = client.get(URL)
    html = page.content.decode()
    assert page.status_code == 200
    assert "DL2: 1 DLT in 3 evaluable subjects — enroll 3 more at DL2" in html
    assert f"As of data version {state.data_version}" in html
    assert 'data-testid="decision-form"' in html
    assert 'data-testid="recomputing"' in html and "d-none" in html.split("recomputing")[0][-200:]
    assert str(reverse("escalation:chart-csv")) in html
    wrong = client.post(
        URL, {"accepted": "yes", "state_data_version": state.data_version, "password": "x"}
    )
    assert wrong.status_code == 400
    assert [e.code for e in wrong.context["form"].errors.as_data()["password"]] == ["bad_password"]
    no_reason = client.post(
        URL,
        {
            "accepted": "no",
            "state_data_version": state.data_version,
            "action": "enroll",
            "dose_level": "1",
            "open_slots": "3",
            "password": PASSWORD,
        },
    )
    assert no_reason.status_code == 400
    errors = no_reason.context["form"].errors.as_data()
    assert [e.code for e in errors["rationale"]] == ["ESC-OVERRIDE-RATIONALE"]
    assert not EscalationDecision.objects.exists()
    signed = client.post(
        URL,
        {"accepted": "yes", "state_data_version": state.data_version, "password": PASSWORD},
    )
    assert signed.status_code == 302
    decision = EscalationDecision.objects.get()
    assert (decision.dose_level.level, decision.open_slots) == (2, 3)
    after = client.get(URL).content.decode()
    assert "3 slots open at DL2" in after
    assert investigator_a.get_full_name() or investigator_a.username in after


def test_a_coordinator_reads_without_the_form_and_cannot_post(client, study, site_a, coordinator_a):
    seed_history(site_a, coordinator_a, "1NNN")
    recompute(study)
    client.force_login(coordinator_a)
    page = client.get(URL)
    assert page.status_code == 200 and page.context["form"] is None
    assert client.post(URL, {"accepted": "yes", "password": PASSWORD}).status_code == 403


def test_sponsors_and_other_sites_see_no_subject_ids(
    client, study, site_a, coordinator_a, coordinator_b
):
    subjects = seed_history(site_a, coordinator_a, "1NNN")
    recompute(study)
    for user in (sponsor_of(study), coordinator_b):
        client.force_login(user)
        html = client.get(URL).content.decode()
        assert "Subject 1" in html
        assert all(str(s) not in html for s in subjects)
    client.force_login(coordinator_a)
    assert str(subjects[0]) in client.get(URL).content.decode()


def test_recomputing_shows_while_the_state_is_older_than_the_data(
    client, study, site_a, coordinator_a
):
    seed_history(site_a, coordinator_a, "1NNN")
    recompute(study)
    seed_history(site_a, coordinator_a, "2N")  # saved, not yet recomputed
    client.force_login(coordinator_a)
    page = client.get(URL)
    assert page.context["board"].stale is True
    status = client.get(reverse("escalation:status")).json()
    assert status["stale"] is True and status["state_data_version"] < status["data_version"]
    recompute(study)
    assert client.get(reverse("escalation:status")).json()["stale"] is False


def test_the_packet_prints_the_data_version_and_every_subjects_window(
    client, study, site_a, coordinator_a, investigator_a
):
    seed_history(site_a, coordinator_a, "1NNT")
    state = recompute(study)
    client.force_login(investigator_a)
    html = client.get(reverse("escalation:packet")).content.decode()
    assert f"Escalation state of data version {state.data_version}" in html
    assert html.count('data-testid="subject-row"') == 3
    assert "Completed without DLT" in html and ">DLT<" in html
    csv = b"".join(client.get(reverse("escalation:chart-csv")).streaming_content).decode()
    assert csv.splitlines()[0].lstrip("\ufeff").startswith("Assigned on and subject,DLT")
    assert len(csv.splitlines()) == 4


@pytest.mark.parametrize("subjects", [1, 60])
def test_the_dashboard_and_status_take_a_fixed_number_of_queries(
    client, study, site_a, coordinator_a, investigator_a, subjects, django_assert_num_queries
):
    seed_history(site_a, coordinator_a, [SubjectOutcome(1, dlt=False)] * subjects)
    recompute(study)
    client.force_login(investigator_a)
    client.get(URL)  # warm the session and content-type caches
    with django_assert_num_queries(17):  # 13 + the what-if panel's inputs (dosing.what_if)
        assert client.get(URL).status_code == 200
    with django_assert_num_queries(9):
        assert client.get(reverse("escalation:status")).status_code == 200
