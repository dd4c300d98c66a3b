"""What the API answers at its edges (issue 9 §4): no credentials, a locked account, a hostile body.

Unauthenticated calls are 401 with ``WWW-Authenticate`` (RFC 9110 §15.5.2), not 403; a locked
account is told it is locked; a body too large or nested too deep is a JSON 413/400, never a 500.
"""

from __future__ import annotations

import base64

import pytest
from django.urls import reverse

from tests.enrollment_data import register_and_consent

pytestmark = pytest.mark.django_db


def basic(username: str, password: str) -> str:
    return "Basic " + base64.b64encode(f"{username}:{password}".encode()).decode()


def test_an_unauthenticated_api_call_is_401_with_www_authenticate(client):
    response = client.get("/api/v1/studies/")
    assert response.status_code == 401
    assert response["WWW-Authenticate"].startswith("Basic")
    assert response.json()["detail"]


def test_wrong_basic_credentials_are_401(client, coordinator_a):
    response = client.get("/api/v1/me/", HTTP_AUTHORIZATION=basic("coord_a", "wrong"))
    assert response.status_code == 401
    assert "WWW-Authenticate" in response


def test_the_schema_requires_authentication(client, coordinator_a):
    assert client.get(reverse("api:schema")).status_code == 401
    client.force_login(coordinator_a)
    assert client.get(reverse("api:schema")).status_code == 200


def test_a_locked_account_is_told_it_is_locked_by_the_api(
    client, coordinator_a, password, settings
):
    for _ in range(settings.AXES_FAILURE_LIMIT):
        client.get("/api/v1/me/", HTTP_AUTHORIZATION=basic("coord_a", "wrong"))
    response = client.get("/api/v1/me/", HTTP_AUTHORIZATION=basic("coord_a", password))
    assert response.status_code in (403, 429)
    assert response["Content-Type"].startswith("application/json")
    body = response.json()
    assert body["code"] == "account_locked"
    assert "locked" in body["detail"].lower()


def test_a_locked_account_is_told_it_is_locked_on_the_login_page(
    client, coordinator_a, password, settings
):
    for _ in range(settings.AXES_FAILURE_LIMIT):
        client.post(reverse("login"), {"username": "coord_a", "password": "wrong"})
    response = client.post(reverse("login"), {"username": "coord_a", "password": password})
    page = response.content.decode()
    assert response.status_code == 429
    assert "Account temporarily locked" in page
    assert f"{settings.AXES_COOLOFF_TIME.seconds // 60} minutes" in page


@pytest.fixture
def crf_url(site_a, coordinator_a, investigator_a):
    subject = register_and_consent(site_a, coordinator_a, investigator_a)
    return f"/api/v1/subjects/{subject.pk}/screening/labs/"


def test_a_deeply_nested_body_is_a_json_400_not_a_500(client, coordinator_a, crf_url):
    client.force_login(coordinator_a)
    response = client.put(crf_url, "[" * 100_000, content_type="application/json")
    assert response.status_code == 400
    assert "nested" in response.json()["detail"]


def test_a_moderately_nested_body_beyond_the_limit_is_refused(client, coordinator_a, crf_url):
    client.force_login(coordinator_a)
    body = '{"a":' * 100 + "1" + "}" * 100
    response = client.put(crf_url, body, content_type="application/json")
    assert response.status_code == 400
    assert "nested" in response.json()["detail"]


def test_an_oversized_body_is_a_json_413(client, coordinator_a, crf_url, settings):
    client.force_login(coordinator_a)
    body = '{"comment": "' + "x" * settings.DATA_UPLOAD_MAX_MEMORY_SIZE + '"}'
    response = client.put(crf_url, body, content_type="application/json")
    assert response.status_code == 413
    assert response.json()["code"] == "request_too_large"


def test_malformed_json_is_a_json_400(client, coordinator_a, crf_url):
    client.force_login(coordinator_a)
    response = client.put(crf_url, '{"creatinine": ', content_type="application/json")
    assert response.status_code == 400
    assert response.json()["detail"]
