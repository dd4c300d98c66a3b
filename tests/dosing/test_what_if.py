"""The what-if panel: the engine on hypothetical outcomes of the pending subjects.

Hand-checkable cases (RULES.md §4, CASES.md G–H readings) through the selector, the dashboard
and the API; nothing is written; sponsors name subjects "Subject n"; fixed query counts.
"""

from __future__ import annotations

import pytest
from django.core.exceptions import ValidationError

from dosing import escalation, what_if
from dosing.models import EscalationState
from dosing.rules import SubjectOutcome
from tests.dosing.escalation_data import seed_history
from tests.factories import MembershipFactory, SiteFactory, StudyFactory, UserFactory
from trialsite.records.models import AuditEvent, RecomputeRun
from trialsite.studies.models import Study

pytestmark = pytest.mark.django_db

FIVE = [
    {"level": n, "label": f"DL{n}", "dose_cells_per_kg": dose}
    for n, dose in enumerate((0.5e6, 1e6, 3e6, 6e6, 10e6), 1)
]
PLAIN_5 = {"dose_levels": FIVE, "dosing": {"atd_levels": 0}}
ATD_4 = {"dose_levels": FIVE[:4], "dosing": {"atd_levels": 2}}
URL = "/escalation/"


def make_site(document):
    study = StudyFactory(settings_document=document)
    site = SiteFactory(study=study, code="TJ")
    coordinator = UserFactory()
    MembershipFactory(user=coordinator, study=study, site=site, role="coordinator")
    return site, coordinator


def member(study, role, site=None):
    user = UserFactory()
    MembershipFactory(user=user, study=study, site=site, role=role)
    return user


def recompute(study):
    study = Study.objects.get(pk=study.pk)
    escalation.recompute(study, study.data_version)


def test_3_3_the_third_subject_of_a_0_of_2_cohort_decides_escalation_or_expansion():
    site, coordinator = make_site(PLAIN_5)
    subjects = seed_history(site, coordinator, "1NNN 2NNP")
    label = str(subjects[-1])
    panel = what_if.what_if(site.study, coordinator, {label: "dlt"})
    assert [p.label for p in panel.pending] == [label]
    assert panel.answer.sentence == "DL2: 1 DLT in 3 evaluable subjects — enroll 3 more at DL2"
    assert panel.answer.lead == f"If {label} has a DLT"
    assert (panel.answer.action, panel.answer.dose_level, panel.answer.open_slots) == (
        "enroll",
        2,
        3,
    )
    no_dlt = what_if.what_if(site.study, coordinator, {label: "no_dlt"}).answer
    assert no_dlt.sentence == "DL2: 0 DLTs in 3 evaluable subjects — enroll 3 at DL3"
    # Not evaluable: replaced (replace_non_evaluable), one more place at DL2.
    replaced = what_if.what_if(site.study, coordinator, {label: "not_evaluable"}).answer
    assert replaced.sentence == "DL2: 0 DLTs in 2 evaluable subjects — enroll 1 more at DL2"
    # The last steps of the trace end with the hypothetical subject (#6, a T).
    assert [s["number"] for s in panel.answer.last_steps] == [4, 5, 6]
    assert panel.answer.last_steps[-1]["letter"] == "T"
    # With no hypothesis: the engine waits, as the dashboard says.
    assert what_if.what_if(site.study, coordinator).answer.sentence == (
        "DL2: 0 DLTs in 2 evaluable subjects — wait for the DLT window at DL2"
    )


def test_atd_a_single_subjects_dlt_switches_to_3_3_at_that_level():
    site, coordinator = make_site(ATD_4)
    subjects = seed_history(site, coordinator, "1N 2P")
    answer = what_if.what_if(site.study, coordinator, {str(subjects[1]): "dlt"}).answer
    assert answer.sentence == "DL2: 1 DLT in 1 evaluable subject — enroll 2 more at DL2"
    assert (answer.phase, answer.code) == ("3+3", "atd_triggered")
    no_dlt = what_if.what_if(site.study, coordinator, {str(subjects[1]): "no_dlt"}).answer
    assert no_dlt.sentence == "DL2: 0 DLTs in 1 evaluable subject — enroll 3 at DL3"
    assert no_dlt.phase == "3+3"


def test_no_dlt_keeps_a_related_grade_2_already_recorded_so_the_atd_trigger_still_fires():
    site, coordinator = make_site(ATD_4)
    subjects = seed_history(
        site,
        coordinator,
        [SubjectOutcome(1), SubjectOutcome(2, dlt=None, max_related_grade=2)],
    )
    answer = what_if.what_if(site.study, coordinator, {str(subjects[1]): "no_dlt"}).answer
    assert answer.sentence == "DL2: 0 DLTs in 1 evaluable subject — enroll 2 more at DL2"
    assert answer.code == "atd_triggered"


def test_every_combination_of_up_to_three_pending_subjects():
    site, coordinator = make_site(PLAIN_5)
    subjects = seed_history(site, coordinator, "1NNN 2NPP")
    panel = what_if.what_if(site.study, coordinator)
    rows = {tuple(c for _s, c in a.hypotheses): a.sentence for a in panel.combinations}
    assert rows == {
        ("dlt", "dlt"): "DL2: 2 DLTs in 3 evaluable subjects — enroll 3 at DL1",
        ("dlt", "no_dlt"): "DL2: 1 DLT in 3 evaluable subjects — enroll 3 more at DL2",
        ("no_dlt", "dlt"): "DL2: 1 DLT in 3 evaluable subjects — enroll 3 more at DL2",
        ("no_dlt", "no_dlt"): "DL2: 0 DLTs in 3 evaluable subjects — enroll 3 at DL3",
    }
    assert [s.label for s, _c in panel.combinations[0].hypotheses] == [
        str(subjects[4]),
        str(subjects[5]),
    ]
    # Four pending subjects: no table (2^4 rows would not be "quick").
    seed_history(site, coordinator, "2PP")
    assert len(what_if.what_if(site.study, coordinator).pending) == 4
    assert what_if.what_if(site.study, coordinator).combinations == ()


def test_a_bad_subject_or_outcome_is_a_field_error_and_a_completed_subject_is_not_pending():
    site, coordinator = make_site(PLAIN_5)
    subjects = seed_history(site, coordinator, "1NNP")
    with pytest.raises(ValidationError) as refused:
        what_if.what_if(
            site.study,
            coordinator,
            {"TJ-999": "dlt", str(subjects[0]): "dlt", str(subjects[2]): "maybe"},
        )
    codes = {k: [e.code for e in v] for k, v in refused.value.error_dict.items()}
    assert codes == {
        "outcomes.TJ-999": ["unknown_subject"],
        f"outcomes.{subjects[0]}": ["not_pending"],
        f"outcomes.{subjects[2]}": ["bad_outcome"],
    }
    # The subject's database ID names them too, for readers of their site.
    by_id = what_if.what_if(site.study, coordinator, {str(subjects[2].pk): "dlt"})
    assert by_id.answer.sentence == "DL1: 1 DLT in 3 evaluable subjects — enroll 3 more at DL1"


def test_a_sponsor_names_subjects_by_their_number_never_by_id():
    site, coordinator = make_site(PLAIN_5)
    subjects = seed_history(site, coordinator, "1NNP")
    sponsor = member(site.study, "sponsor")
    panel = what_if.what_if(site.study, sponsor, {"Subject 3": "dlt"})
    assert [(p.label, p.subject_id) for p in panel.pending] == [("Subject 3", None)]
    assert panel.answer.lead == "If Subject 3 has a DLT"
    for key in (str(subjects[2]), str(subjects[2].pk)):
        with pytest.raises(ValidationError) as refused:
            what_if.what_if(site.study, sponsor, {key: "dlt"})
        assert [e.code for e in refused.value.error_dict[f"outcomes.{key}"]] == ["unknown_subject"]


def test_the_what_if_writes_nothing(client, django_capture_on_commit_callbacks):
    site, coordinator = make_site(PLAIN_5)
    subjects = seed_history(site, coordinator, "1NNN 2NNP")
    recompute(site.study)
    before = (
        AuditEvent.objects.count(),
        Study.objects.get(pk=site.study.pk).data_version,
        list(EscalationState.objects.values_list("data_version", "computed_at", "sentence")),
        RecomputeRun.objects.count(),
    )
    client.force_login(coordinator)
    with django_capture_on_commit_callbacks() as callbacks:
        what_if.what_if(site.study, coordinator, {str(subjects[-1]): "dlt"})
        page = client.get(URL, {"what_if": "1", "outcome-6": "dlt"})
        api = client.post(
            f"/api/v1/studies/{site.study.pk}/escalation/what-if/",
            {"outcomes": {str(subjects[-1]): "dlt"}},
            content_type="application/json",
        )
    assert page.status_code == 200 and api.status_code == 200
    assert callbacks == []  # no recompute scheduled
    after = (
        AuditEvent.objects.count(),
        Study.objects.get(pk=site.study.pk).data_version,
        list(EscalationState.objects.values_list("data_version", "computed_at", "sentence")),
        RecomputeRun.objects.count(),
    )
    assert after == before


def test_the_dashboard_panel_answers_a_get_form(client):
    site, coordinator = make_site(PLAIN_5)
    subjects = seed_history(site, coordinator, "1NNN 2NNP")
    recompute(site.study)
    monitor = member(site.study, "monitor")  # read-only roles may ask: nothing is written
    client.force_login(monitor)
    html = client.get(URL).content.decode()
    assert 'data-testid="what-if-form"' in html and 'name="outcome-6"' in html
    assert html.count('data-testid="combination-row"') == 2
    assert 'data-testid="what-if-answer"' not in html
    html = client.get(URL, {"what_if": "1", "outcome-6": "dlt"}).content.decode()
    assert f"If {subjects[-1]} has a DLT:</strong> DL2: 1 DLT in 3 evaluable subjects" in html
    assert "enroll 3 more at DL2" in html and 'data-testid="what-if-steps"' in html
    # A tampered value is a form error, not a 500.
    page = client.get(URL, {"what_if": "1", "outcome-6": "boom"})
    assert page.status_code == 200 and page.context["what_if_form"].errors["outcome-6"]


def test_the_dashboard_shows_sponsors_subject_numbers(client):
    site, coordinator = make_site(PLAIN_5)
    subjects = seed_history(site, coordinator, "1NNP")
    recompute(site.study)
    client.force_login(member(site.study, "sponsor"))
    html = client.get(URL, {"what_if": "1", "outcome-3": "dlt"}).content.decode()
    assert "If Subject 3 has a DLT:</strong>" in html
    assert all(str(s) not in html for s in subjects)


def test_the_api_answers_and_refuses_with_field_errors(client):
    site, coordinator = make_site(ATD_4)
    subjects = seed_history(site, coordinator, "1N 2P")
    client.force_login(coordinator)
    url = f"/api/v1/studies/{site.study.pk}/escalation/what-if/"
    answer = client.post(
        url, {"outcomes": {str(subjects[1]): "dlt"}}, content_type="application/json"
    )
    assert answer.status_code == 200
    body = answer.json()
    assert body["sentence"] == "DL2: 1 DLT in 1 evaluable subject — enroll 2 more at DL2"
    assert body["summary"].startswith(f"If {subjects[1]} has a DLT: DL2")
    assert (body["action"], body["dose_level"], body["open_slots"], body["phase"]) == (
        "enroll",
        2,
        2,
        "3+3",
    )
    assert [p["label"] for p in body["pending"]] == [str(subjects[1])]
    assert len(body["combinations"]) == 2
    bad = client.post(
        url,
        {"outcomes": {str(subjects[0]): "dlt", str(subjects[1]): "yes"}},
        content_type="application/json",
    )
    assert bad.status_code == 400
    assert bad.json()["codes"] == ["bad_outcome", "not_pending"]
    assert set(bad.json()["errors"]) == {f"outcomes.{subjects[0]}", f"outcomes.{subjects[1]}"}
    shape = client.post(url, {"outcomes": ["x"]}, content_type="application/json")
    assert shape.status_code == 400 and "outcomes" in shape.json()["errors"]


@pytest.mark.parametrize("subjects", [1, 60])
def test_fixed_query_counts(client, subjects, django_assert_num_queries):
    site, coordinator = make_site(PLAIN_5)
    seed_history(site, coordinator, [SubjectOutcome(1, dlt=False)] * (subjects - 1))
    seed_history(site, coordinator, [SubjectOutcome(1, dlt=None)])
    recompute(site.study)
    study = Study.objects.get(pk=site.study.pk)
    with django_assert_num_queries(5):
        panel = what_if.what_if(study, coordinator)
    assert len(panel.pending) == 1
    client.force_login(coordinator)
    url = f"/api/v1/studies/{study.pk}/escalation/what-if/"
    client.post(url, {}, content_type="application/json")
    with django_assert_num_queries(11):
        assert client.post(url, {}, content_type="application/json").status_code == 200
    client.get(URL)
    with django_assert_num_queries(17):
        assert client.get(URL, {"what_if": "1", f"outcome-{subjects}": "dlt"}).status_code == 200
