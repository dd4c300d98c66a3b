"""The AE log and the AE form as a coordinator and as readers (issue #11, Requirements 1, 4)."""

from __future__ import annotations

import datetime as dt

import pytest
from django.core.exceptions import ValidationError
from django.urls import reverse

from safety.models import AdverseEvent
from safety.services import save_adverse_event
from tests.enrollment_data import register_and_consent
from tests.safety.ae_pages import ae_post, onset_of, shipped
from trialsite.records.models import DataQuery

pytestmark = pytest.mark.django_db


@pytest.fixture
def subject(site_a, coordinator_a, investigator_a):
    return register_and_consent(site_a, coordinator_a, investigator_a)


def _add(subject, actor, name="Fever", grade=1, **values):
    return save_adverse_event(
        subject,
        actor=actor,
        values={"term": shipped(name), "onset_date": onset_of(subject), "grade": grade, **values},
    )


def _errors(response, field):
    return [e.code for e in response.context["form"].errors.as_data().get(field, [])]


def test_the_coordinator_adds_an_event_and_finds_it_in_the_log(client, subject, coordinator_a):
    client.force_login(coordinator_a)
    url = reverse("safety:ae-new", args=[subject.pk])
    page = client.get(url)
    assert page.status_code == 200 and page.context["readonly"] is False
    assert "Choose a term to see its grade definitions" in page.content.decode()
    response = client.post(url, ae_post(subject, grade="2", treatments=["other"],
                                        treatment_other="paracetamol"))  # fmt: skip
    assert response.status_code == 302
    assert response["Location"] == reverse("safety:ae-log", args=[subject.pk])
    event = AdverseEvent.objects.get(subject=subject)
    assert (event.term.term, event.grade, event.worst_grade) == ("Fever", 2, 2)
    assert event.treatments == ["other"]
    log = client.get(reverse("safety:ae-log", args=[subject.pk]))
    html = log.content.decode()
    assert "Fever" in html and "Add adverse event" in html
    assert 'data-col="worst-grade">2' in html


def test_the_subject_page_links_to_the_ae_log(client, subject, monitor):
    client.force_login(monitor)
    page = client.get(reverse("enrollment:subject", args=[subject.pk]))
    assert reverse("safety:ae-log", args=[subject.pk]) in page.content.decode()


def test_the_form_shows_the_grade_texts_of_the_chosen_term(client, subject, coordinator_a):
    event = _add(subject, coordinator_a, "Nausea")
    client.force_login(coordinator_a)
    page = client.get(reverse("safety:ae-edit", args=[subject.pk, event.pk])).content.decode()
    assert "Inadequate oral caloric or fluid intake" in page  # Nausea grade 3 as CTCAE prints
    assert "This term has no grade above 3." in page
    # A refused post shows the texts of the term that was posted.
    response = client.post(
        reverse("safety:ae-new", args=[subject.pk]), ae_post(subject, "Sepsis", grade="2")
    )
    assert response.status_code == 400
    assert "AE-GRADE-UNDEFINED" in _errors(response, "grade")
    html = response.content.decode()
    assert "Life-threatening consequences; urgent intervention indicated" in html
    assert "its grades: 4, 5" in html


@pytest.mark.parametrize(
    ("changes", "field", "code"),
    [
        ({"term": None, "grade": "4"}, "grade", "AE-GRADE-MAX"),
        ({"ongoing": None, "outcome": "recovered", "resolution_date": "2000-01-01"},
         "resolution_date", "order"),
        ({"onset_date": "2001-01-01"}, "onset_date", "AE-BEFORE-ICF"),
        ({"grade": "5", "outcome": "fatal", "ongoing": None}, "death_date", "required_if"),
        ({"grade": "5", "ongoing": None, "death_date": "TODAY"}, "outcome", "grade_5"),
        ({"grade": "5", "ongoing": None, "outcome": "fatal", "death_date": "TODAY"},
         "seriousness_criteria", "grade_5"),
        ({"grade": "2", "death_date": "TODAY"}, "death_date", "grade_5"),
        ({"grade": "7"}, "grade", "invalid_choice"),
        ({"term": "999999"}, "term", "invalid_choice"),
        ({"serious": "on"}, "seriousness_criteria", "required_if"),
        ({"treatments": ["other"]}, "treatment_other", "required_if"),
        ({"onset_date": "03/04/2025"}, "onset_date", "invalid"),
    ],
)  # fmt: skip
def test_each_hard_check_is_a_field_error_and_nothing_is_saved(
    client, subject, coordinator_a, changes, field, code
):
    client.force_login(coordinator_a)
    changes = {k: (dt.date.today().isoformat() if v == "TODAY" else v) for k, v in changes.items()}
    if "term" in changes and changes["term"] is None:
        changes["term"] = str(shipped("Nausea").pk)  # CTCAE stops Nausea at grade 3
    response = client.post(reverse("safety:ae-new", args=[subject.pk]), ae_post(subject, **changes))
    assert response.status_code == 400
    assert code in _errors(response, field), response.context["form"].errors
    assert not AdverseEvent.objects.filter(subject=subject).exists()


def test_the_grade_above_the_term_says_the_maximum(client, subject, coordinator_a):
    client.force_login(coordinator_a)
    response = client.post(
        reverse("safety:ae-new", args=[subject.pk]), ae_post(subject, "Nausea", grade="4")
    )
    assert "highest: grade 3" in response.content.decode()


def test_raising_the_grade_keeps_the_grade_history(client, subject, coordinator_a):
    event = _add(subject, coordinator_a, grade=2)
    client.force_login(coordinator_a)
    url = reverse("safety:ae-edit", args=[subject.pk, event.pk])
    day3 = onset_of(subject, 5)
    response = client.post(
        url,
        ae_post(subject, grade="3", grade_date=day3.isoformat(), version=str(event.version),
                reason="fever above 40 degrees"),
    )  # fmt: skip
    assert response.status_code == 302
    event.refresh_from_db()
    assert (event.grade, event.worst_grade, event.worst_grade_date) == (3, 3, day3)
    page = client.get(url)
    history = page.context["grade_history"]
    assert [(s.grade, s.from_date) for s in history] == [(2, onset_of(subject)), (3, day3)]
    assert 'data-testid="grade-history"' in page.content.decode()


def test_a_change_needs_the_reason_and_the_version(client, subject, coordinator_a):
    event = _add(subject, coordinator_a)
    client.force_login(coordinator_a)
    url = reverse("safety:ae-edit", args=[subject.pk, event.pk])
    response = client.post(url, ae_post(subject, grade="2", version=str(event.version)))
    assert response.status_code == 400 and _errors(response, "reason")
    stale = client.post(url, ae_post(subject, version=str(event.version - 1), reason="x"))
    assert stale.status_code == 400
    assert AdverseEvent.objects.get(pk=event.pk).version == event.version


@pytest.mark.parametrize("reader", ["monitor", "data_manager"])
def test_readers_get_the_read_only_event_and_the_log(
    client, request, subject, coordinator_a, reader
):
    event = _add(subject, coordinator_a)
    client.force_login(request.getfixturevalue(reader))
    page = client.get(reverse("safety:ae-edit", args=[subject.pk, event.pk]))
    assert page.status_code == 200 and page.context["readonly"] is True
    assert "38.0 - 39.0 degrees C" in page.content.decode()  # the term's grade texts
    log = client.get(reverse("safety:ae-log", args=[subject.pk]))
    assert log.status_code == 200 and "Add adverse event" not in log.content.decode()
    assert client.get(reverse("safety:ae-new", args=[subject.pk])).status_code == 403
    edit = reverse("safety:ae-edit", args=[subject.pk, event.pk])
    assert client.post(edit, {}).status_code == 403


def test_other_sites_and_sponsors_do_not_see_the_log(client, subject, coordinator_b, sponsor):
    for user in (coordinator_b, sponsor):
        client.force_login(user)
        assert client.get(reverse("safety:ae-log", args=[subject.pk])).status_code == 403


def test_a_death_without_a_grade_5_event_raises_a_query(subject, coordinator_a):
    event = _add(subject, coordinator_a, "Lung infection", grade=4, serious=True,
                 seriousness_criteria=["death"])  # fmt: skip
    query = DataQuery.objects.get(object_id=str(event.pk), rule_ref="AE-DEATH-NO-G5")
    assert query.is_open and query.field == "seriousness_criteria"
    onset = onset_of(subject)
    _add(subject, coordinator_a, "Sepsis", grade=5, serious=True, seriousness_criteria=["death"],
         ongoing=False, outcome="fatal", death_date=onset)  # fmt: skip
    event = save_adverse_event(
        subject, actor=coordinator_a, values={"relationship_car_t": "unlikely"}, record=event,
        expected_version=event.version, reason="assessed",
    )  # fmt: skip
    query.refresh_from_db()
    assert not query.is_open


@pytest.mark.parametrize("n", [1, 6])
def test_the_log_reads_a_fixed_number_of_queries(
    client, subject, coordinator_a, django_assert_num_queries, n
):
    for i in range(n):
        _add(subject, coordinator_a, ["Fever", "Nausea", "Headache"][i % 3])
    client.force_login(coordinator_a)
    url = reverse("safety:ae-log", args=[subject.pk])
    client.get(url)  # warm the session and the permission caches
    with django_assert_num_queries(QUERIES_LOG):
        response = client.get(url)
    assert len(response.context["rows"]) == n


QUERIES_LOG = 10


def test_a_screen_failure_died_without_a_grade_5_event_raises_a_query(
    subject, coordinator_a, investigator_a, password
):
    from enrollment.services import record_screen_failure

    subject.refresh_from_db()
    failure = record_screen_failure(
        subject,
        actor=investigator_a,
        category="died",
        text="Died of sepsis before apheresis",
        password=password,
        expected_version=subject.version,
    )
    query = DataQuery.objects.get(object_id=str(failure.pk), rule_ref="SF-DEATH-NO-G5")
    assert query.is_open and query.field == "category"


def test_a_screen_failure_died_with_its_grade_5_event_raises_none(
    subject, coordinator_a, investigator_a, password
):
    from enrollment.services import record_screen_failure

    _add(subject, coordinator_a, "Sepsis", grade=5, serious=True, seriousness_criteria=["death"],
         ongoing=False, outcome="fatal", death_date=onset_of(subject))  # fmt: skip
    subject.refresh_from_db()
    failure = record_screen_failure(
        subject,
        actor=investigator_a,
        category="died",
        password=password,
        expected_version=subject.version,
    )
    assert not DataQuery.objects.filter(object_id=str(failure.pk), rule_ref="SF-DEATH-NO-G5")


def test_the_admin_lists_terms_with_the_to_verify_filter(admin_client):
    response = admin_client.get("/admin/safety/ctcaeterm/", {"code_to_verify__exact": "0"})
    assert response.status_code == 200
    assert response.context["cl"].result_count == 9  # the codes RULES.md gives without [VERIFY]
    assert admin_client.get("/admin/safety/ctcaeload/").status_code == 200
    assert admin_client.get("/admin/safety/ctcaeterm/add/").status_code == 403


def test_no_event_is_recorded_before_the_consent(client, site_a, coordinator_a):
    from enrollment.services import register_subject

    unconsented = register_subject(
        actor=coordinator_a, site=site_a, initials="ABC", sex="F",
        birth_date=dt.date(1970, 1, 1), screening_date=dt.date.today() - dt.timedelta(days=10),
    )  # fmt: skip
    client.force_login(coordinator_a)
    page = client.get(reverse("safety:ae-new", args=[unconsented.pk]))
    assert page.status_code == 200 and page.context["readonly"] is True
    assert "adverse events are collected from consent" in page.content.decode()
    with pytest.raises(ValidationError) as refused:
        _add(unconsented, coordinator_a)
    assert "AE-BEFORE-ICF" in [e.code for e in refused.value.error_dict["onset_date"]]
