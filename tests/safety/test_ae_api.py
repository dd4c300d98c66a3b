"""AE API: list and detail scoped by site, de-identified for sponsors, writes through the
service with the version you read (428 without it, 409 when stale), field errors as 400."""

from __future__ import annotations

import datetime as dt

import pytest

from enrollment.services import anchor_schedule
from safety.models import AdverseEvent
from safety.services import save_adverse_event
from tests.enrollment_data import register_and_consent
from tests.safety.ae_pages import onset_of, shipped

pytestmark = pytest.mark.django_db


@pytest.fixture
def subject(site_a, coordinator_a, investigator_a):
    subject = register_and_consent(site_a, coordinator_a, investigator_a)
    anchor_schedule(subject, onset_of(subject, 1), actor=coordinator_a)
    subject.refresh_from_db()
    return subject


def _url(subject, event=None):
    base = f"/api/v1/subjects/{subject.pk}/adverse-events/"
    return f"{base}{event.pk}/" if event else base


def _add(subject, actor, name="Fever", grade=1):
    return save_adverse_event(
        subject,
        actor=actor,
        values={"term": shipped(name), "onset_date": onset_of(subject, 3), "grade": grade},
    )


def test_the_coordinator_creates_and_raises_an_event(client, subject, coordinator_a):
    client.force_login(coordinator_a)
    body = {
        "term": shipped("Fever").pk,
        "onset_date": onset_of(subject, 3).isoformat(),
        "grade": 2,
        "relationship_car_t": "probable",
        "treatments": ["tocilizumab"],
    }
    created = client.post(_url(subject), body, content_type="application/json")
    assert created.status_code == 201, created.json()
    data = created.json()
    assert (data["term_name"], data["grade"], data["worst_grade"]) == ("Fever", 2, 2)
    event = AdverseEvent.objects.get(pk=data["id"])
    change = {"grade": 3, "grade_date": onset_of(subject, 4).isoformat(), "reason": "worse"}
    missing = client.patch(_url(subject, event), change, content_type="application/json")
    assert missing.status_code == 428
    stale = client.patch(
        _url(subject, event), {**change, "version": event.version + 5},
        content_type="application/json",
    )  # fmt: skip
    assert stale.status_code == 409
    ok = client.patch(
        _url(subject, event), {**change, "version": event.version}, content_type="application/json"
    )
    assert ok.status_code == 200, ok.json()
    assert [s["grade"] for s in ok.json()["grade_history"]] == [2, 3]
    assert ok.json()["worst_grade"] == 3


@pytest.mark.parametrize(
    ("body", "field", "code"),
    [
        ({"grade": 4, "term": "Nausea"}, "grade", "AE-GRADE-MAX"),
        ({"grade": 9}, "grade", "max_value"),
        ({"onset_date": "2001-01-01"}, "onset_date", "AE-BEFORE-ICF"),
        ({"grade": 5}, "death_date", "required_if"),
        ({"seriousness_criteria": ["nonsense"]}, "seriousness_criteria", "invalid_choice"),
        ({"term": 999999}, "term", "does_not_exist"),
        ({"onset_date": "soon"}, "onset_date", "invalid"),
    ],
)
def test_bad_values_are_400_on_their_field_and_nothing_is_saved(
    client, subject, coordinator_a, body, field, code
):
    client.force_login(coordinator_a)
    term = body.pop("term", "Fever")
    payload = {
        "term": term if isinstance(term, int) else shipped(term).pk,
        "onset_date": onset_of(subject, 3).isoformat(),
        "grade": 1,
        **body,
    }
    response = client.post(_url(subject), payload, content_type="application/json")
    assert response.status_code == 400
    errors = response.json()
    assert field in errors["errors"], errors
    assert code in str(errors["codes"]) or code in str(errors), errors
    assert not AdverseEvent.objects.filter(subject=subject).exists()


def test_sponsors_read_study_days_and_no_dates_and_may_not_write(client, subject, coordinator_a,
                                                                 sponsor):  # fmt: skip
    event = _add(subject, coordinator_a)
    client.force_login(sponsor)
    row = client.get(_url(subject)).json()["results"][0]
    assert row["onset_day"] == 2 and row["worst_grade_day"] == 2
    assert row["grade_history"] == [{"grade": 1, "from_day": 2}]
    assert not [k for k in row if k.endswith("_date")]
    detail = client.get(_url(subject, event)).json()
    assert "onset_date" not in detail and detail["onset_day"] == 2
    body = {"term": shipped("Fever").pk, "onset_date": "2025-01-01", "grade": 1}
    assert client.post(_url(subject), body, content_type="application/json").status_code == 403


def test_other_sites_get_404_and_monitors_read_only(
    client, subject, coordinator_a, coordinator_b, monitor
):
    event = _add(subject, coordinator_a)
    client.force_login(coordinator_b)
    assert client.get(_url(subject)).status_code == 404
    assert client.get(_url(subject, event)).status_code == 404
    client.force_login(monitor)
    assert client.get(_url(subject, event)).json()["onset_date"] == onset_of(subject, 3).isoformat()
    patch = client.patch(
        _url(subject, event), {"grade": 2, "version": 1}, content_type="application/json"
    )
    assert patch.status_code == 403


@pytest.mark.parametrize("n", [1, 5])
def test_the_list_runs_a_fixed_number_of_queries(
    client, subject, coordinator_a, django_assert_num_queries, n
):
    for i in range(n):
        _add(subject, coordinator_a, ["Fever", "Nausea"][i % 2])
    client.force_login(coordinator_a)
    client.get(_url(subject))
    with django_assert_num_queries(QUERIES_LIST):
        assert len(client.get(_url(subject)).json()["results"]) == n


QUERIES_LIST = 10


def test_the_term_search_api(client, coordinator_a, sponsor, outsider):
    for user in (coordinator_a, sponsor):
        client.force_login(user)
        results = client.get("/api/v1/ctcae-terms/", {"q": "seizure"}).json()["results"]
        assert results[0]["term"] == "Seizure" and results[0]["max_grade"] == 5
    client.force_login(outsider)
    assert client.get("/api/v1/ctcae-terms/", {"q": "seizure"}).status_code == 404


def test_dates_are_refused_by_the_service_not_only_the_form(client, subject, coordinator_a):
    client.force_login(coordinator_a)
    onset = onset_of(subject, 3)
    payload = {
        "term": shipped("Fever").pk,
        "onset_date": onset.isoformat(),
        "grade": 1,
        "ongoing": False,
        "outcome": "recovered",
        "resolution_date": (onset - dt.timedelta(days=1)).isoformat(),
    }
    response = client.post(_url(subject), payload, content_type="application/json")
    assert response.status_code == 400 and "resolution_date" in response.json()["errors"]
