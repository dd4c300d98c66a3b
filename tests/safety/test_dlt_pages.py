"""DLT pages, API and the dosing selector: what each role sees and does, fixed query counts."""

from __future__ import annotations

import datetime as dt

import pytest
from django.urls import reverse

from enrollment.services import anchor_schedule, register_subject
from safety import selectors
from safety.models import DLTAdjudication
from safety.services import close_dlt_windows
from tests.safety.dlt_data import add_event, infused_subject

pytestmark = pytest.mark.django_db


@pytest.fixture
def subject(site_a, coordinator_a, investigator_a):
    return infused_subject(site_a, coordinator_a, investigator_a)


@pytest.fixture
def candidate(subject, coordinator_a, frozen_clock):
    frozen_clock(subject.day0 + dt.timedelta(days=8))
    return add_event(subject, coordinator_a, grade=4, onset_day=6)


def _page(client, user, name, *args):
    client.force_login(user)
    return client.get(reverse(name, args=args))


# --- Pages -----------------------------------------------------------------------------------


def test_the_evaluation_page_says_the_status_window_and_candidates(
    client, subject, candidate, investigator_a
):
    response = _page(client, investigator_a, "safety:dlt-evaluation", subject.pk)
    page = response.content.decode()
    assert "Evaluable with DLT." in page
    assert "1 candidate awaits the investigator's adjudication." in page
    assert "Alanine aminotransferase increased" in page
    assert "meets the DLT grade" in page
    assert "window closed" in page  # a DLT completes the evaluation at once
    assert "configurable DLT criteria" in page
    assert reverse("safety:dlt-adjudicate", args=[subject.pk, candidate.pk]) in page


def test_an_open_window_shows_the_days_left(client, subject, coordinator_a, frozen_clock):
    frozen_clock(subject.day0 + dt.timedelta(days=8))
    add_event(subject, coordinator_a, grade=1)
    page = _page(client, coordinator_a, "safety:dlt-evaluation", subject.pk).content.decode()
    assert "The DLT window is open" in page
    assert "20 days" in page and "today is Day 8" in page  # final after Day 28
    assert "No DLT candidate in the window." in page


def test_readers_get_the_evaluation_without_adjudication_links(
    client, subject, candidate, coordinator_a, monitor, data_manager
):
    link = reverse("safety:dlt-adjudicate", args=[subject.pk, candidate.pk])
    for user in (coordinator_a, monitor, data_manager):
        response = _page(client, user, "safety:dlt-evaluation", subject.pk)
        assert response.status_code == 200
        assert response.context["readonly"] is True
        assert link not in response.content.decode()
    # Only those who may read the settings get the link to them.
    assert reverse("study-settings") in response.content.decode()  # the data manager
    coordinator_page = _page(client, coordinator_a, "safety:dlt-evaluation", subject.pk)
    assert reverse("study-settings") not in coordinator_page.content.decode()


def test_a_subject_without_day_0_has_no_window_yet(client, site_a, coordinator_a, investigator_a):
    from tests.enrollment_data import register_and_consent

    subject = register_and_consent(site_a, coordinator_a, investigator_a)
    page = _page(client, investigator_a, "safety:dlt-evaluation", subject.pk).content.decode()
    assert "No Day 0 (CAR-T infusion) recorded yet" in page
    detail = _page(client, coordinator_a, "enrollment:subject", subject.pk).content.decode()
    assert reverse("safety:dlt-evaluation", args=[subject.pk]) in detail


def test_the_investigator_adjudicates_on_the_form(
    client, subject, candidate, investigator_a, password
):
    client.force_login(investigator_a)
    url = reverse("safety:dlt-adjudicate", args=[subject.pk, candidate.pk])
    form = client.get(url)
    assert form.status_code == 200 and "Meaning of this signature" in form.content.decode()
    response = client.post(
        url,
        {
            "version": candidate.version,
            "is_dlt": "yes",
            "rationale": "Grade 4.",
            "password": password,
        },
    )
    assert response.status_code == 302
    assert DLTAdjudication.objects.get(event=candidate).is_dlt is True
    page = client.get(response["Location"]).content.decode()
    assert "Adjudicated: DLT" in page and "Evaluable with DLT." in page


@pytest.mark.parametrize(
    ("data", "field", "code"),
    [
        ({"is_dlt": "yes", "rationale": "x", "password": "wrong"}, "password", "bad_password"),
        ({"is_dlt": "no", "rationale": "", "password": "set"}, "rationale", "required"),
        ({"rationale": "x", "password": "set"}, "is_dlt", "required"),
    ],
)
def test_the_form_shows_each_refusal_on_its_field(
    client, subject, candidate, investigator_a, password, data, field, code
):
    client.force_login(investigator_a)
    url = reverse("safety:dlt-adjudicate", args=[subject.pk, candidate.pk])
    data = {**data, "version": candidate.version}
    if data["password"] == "set":
        data["password"] = password
    response = client.post(url, data)
    assert response.status_code == 400
    assert [e.code for e in response.context["form"].errors.as_data()[field]] == [code]
    assert not DLTAdjudication.objects.exists()


def test_a_stale_event_version_is_refused_on_the_form(
    client, subject, candidate, investigator_a, password
):
    client.force_login(investigator_a)
    url = reverse("safety:dlt-adjudicate", args=[subject.pk, candidate.pk])
    data = {
        "version": candidate.version - 1,
        "is_dlt": "yes",
        "rationale": "x",
        "password": password,
    }
    response = client.post(url, data)
    assert response.status_code == 400
    assert response.context["form"].non_field_errors()
    assert not DLTAdjudication.objects.exists()


def test_the_coordinator_cannot_open_the_adjudication_form(
    client, subject, candidate, coordinator_a
):
    url = reverse("safety:dlt-adjudicate", args=[subject.pk, candidate.pk])
    client.force_login(coordinator_a)
    assert client.get(url).status_code == 403
    assert client.post(url, {"is_dlt": "yes"}).status_code == 403


def test_the_candidates_list_is_scoped_to_the_users_sites(
    client, subject, candidate, investigator_a, coordinator_b, monitor
):
    mine = _page(client, investigator_a, "safety:dlt-candidates").content.decode()
    assert str(subject) in mine and "Adjudicate" in mine
    other = _page(client, coordinator_b, "safety:dlt-candidates").content.decode()
    assert "No DLT candidate awaits adjudication." in other
    monitors = _page(client, monitor, "safety:dlt-candidates").content.decode()
    assert str(subject) in monitors
    assert reverse("safety:dlt-adjudicate", args=[subject.pk, candidate.pk]) not in monitors


def test_the_candidates_list_is_in_the_investigators_menu(client, investigator_a, coordinator_a):
    assert (
        reverse("safety:dlt-candidates") in _page(client, investigator_a, "home").content.decode()
    )
    assert reverse("safety:dlt-candidates") not in (
        _page(client, coordinator_a, "home").content.decode()
    )


def _infuse(site, actor, n: int, day0: dt.date) -> None:
    from enrollment.models import Subject

    while Subject.objects.filter(site=site).count() < n:
        subject = register_subject(
            actor=actor,
            site=site,
            initials="ABC",
            sex="F",
            birth_date=dt.date(1970, 1, 1),
            screening_date=day0 - dt.timedelta(days=20),
        )
        anchor_schedule(subject, day0, actor=actor)


def test_the_candidates_list_runs_a_fixed_number_of_queries(
    client, site_a, coordinator_a, investigator_a, django_assert_num_queries, frozen_clock
):
    day0 = dt.date.today() - dt.timedelta(days=60)
    frozen_clock(day0 + dt.timedelta(days=8))
    client.force_login(investigator_a)
    url = reverse("safety:dlt-candidates")
    for n in (1, 4):
        while len(selectors.awaiting_adjudication(site_a.study, site_ids=None)) < n:
            add_event(
                infused_subject(site_a, coordinator_a, investigator_a, day0=day0),
                coordinator_a,
                grade=4,
            )
        # session, user, the current study, memberships (one read answers the permission,
        # the sites and the adjudicating sites), the evaluations with their subjects and
        # sites (one query), the switcher's studies, the notices, the session save
        with django_assert_num_queries(9):
            response = client.get(url)
        assert response.content.decode().count("Adjudicate</a>") == n


# --- The dosing selector -----------------------------------------------------------------------


@pytest.mark.parametrize("n", [1, 100])
def test_dlt_outcomes_is_one_query_for_any_number_of_subjects(
    n, study, site_a, coordinator_a, django_assert_num_queries, frozen_clock
):
    day0 = dt.date.today() - dt.timedelta(days=60)
    frozen_clock(day0 + dt.timedelta(days=10))
    _infuse(site_a, coordinator_a, n, day0)
    close_dlt_windows(study)
    with django_assert_num_queries(1):  # the evaluations' outcome columns
        outcomes = selectors.dlt_outcomes(study)
    assert len(outcomes) == n
    outcome = next(iter(outcomes.values()))
    assert (outcome.dlt, outcome.evaluable, outcome.status) == (None, True, "open")
    assert (outcome.max_related_grade, outcome.window_days_left) == (0, 18)


def test_dlt_outcomes_gives_the_engine_its_inputs(subject, candidate, investigator_a):
    (outcome,) = selectors.dlt_outcomes(subject.study).values()
    assert (outcome.dlt, outcome.max_related_grade, outcome.evaluable) == (True, 4, True)
    assert (outcome.status, outcome.window_days_left) == ("evaluable_with_dlt", 0)


# --- API -------------------------------------------------------------------------------------


def test_the_api_gives_the_evaluation_and_de_identifies_it_for_sponsors(
    client, subject, candidate, coordinator_a, sponsor
):
    url = reverse("api:subject-dlt-evaluation", args=[subject.pk])
    body = _page(client, coordinator_a, "api:subject-dlt-evaluation", subject.pk).json()
    assert (body["dlt_status"], body["dlt"], body["max_related_grade"]) == (
        "evaluable_with_dlt",
        True,
        4,
    )
    assert body["window_start"] == subject.day0.isoformat()
    assert body["candidates"][0]["event_id"] == candidate.pk
    client.force_login(sponsor)
    deidentified = client.get(url).json()
    assert "window_start" not in deidentified and "as_of_date" not in deidentified
    assert deidentified["dlt_status"] == "evaluable_with_dlt"


def test_the_api_list_runs_a_fixed_number_of_queries(
    client, study, site_a, coordinator_a, django_assert_num_queries, frozen_clock
):
    day0 = dt.date.today() - dt.timedelta(days=60)
    frozen_clock(day0 + dt.timedelta(days=10))
    client.force_login(coordinator_a)
    url = reverse("api:dlt-evaluation-list", args=[study.pk])
    for n in (1, 5):
        _infuse(site_a, coordinator_a, n, day0)
        close_dlt_windows(study)
        # session, user, the current study, memberships, the count, the page of evaluations
        # with their subjects and sites (one query), the session save: none per subject
        with django_assert_num_queries(9):
            response = client.get(url)
        assert response.json()["count"] == n


def test_the_investigator_adjudicates_through_the_api(
    client, subject, candidate, investigator_a, password
):
    client.force_login(investigator_a)
    url = reverse("api:subject-dlt-adjudications", args=[subject.pk])
    refused = client.post(
        url, {"event": candidate.pk, "is_dlt": True, "rationale": "", "password": password}
    )
    assert refused.status_code == 400 and "rationale" in refused.json()["errors"]
    wrong = client.post(
        url, {"event": candidate.pk, "is_dlt": True, "rationale": "x", "password": "no"}
    )
    assert wrong.status_code == 400 and "password" in wrong.json()["errors"]
    stale = client.post(
        url,
        {"event": candidate.pk, "event_version": 99, "is_dlt": True, "rationale": "x",
         "password": password},
    )  # fmt: skip
    assert stale.status_code == 409
    created = client.post(
        url,
        {"event": candidate.pk, "event_version": candidate.version, "is_dlt": False,
         "rationale": "Progression, not toxicity.", "password": password},
    )  # fmt: skip
    assert created.status_code == 201, created.json()
    assert (created.json()["is_dlt"], created.json()["current"]) == (False, True)
    listed = client.get(url).json()
    assert [a["id"] for a in listed] == [created.json()["id"]]


def test_a_coordinator_cannot_adjudicate_through_the_api(
    client, subject, candidate, coordinator_a, password
):
    client.force_login(coordinator_a)
    url = reverse("api:subject-dlt-adjudications", args=[subject.pk])
    response = client.post(
        url, {"event": candidate.pk, "is_dlt": True, "rationale": "x", "password": password}
    )
    assert response.status_code == 403
    assert not DLTAdjudication.objects.exists()
