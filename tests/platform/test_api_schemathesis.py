"""The API never answers 5xx, and answers as its OpenAPI schema says (issue 8 §4).

schemathesis loads the schema the app serves (``/api/schema/``) through the WSGI app and
generates requests for every operation — valid ones and ones that break the schema — sent with
a coordinator's basic-auth credentials. Path parameters are sometimes the seeded study, subject
(with consent) and CRF codes, so the requests reach the services and not only the 404s.

Its pytest plugin (``schema.parametrize``) collects tests at import time, before pytest-django
has a test database; the Python API (``from_wsgi``, ``operation.as_strategy``,
``case.call_and_validate``) runs inside an ordinary ``django_db`` test instead.
"""

from __future__ import annotations

import base64

import pytest
import schemathesis
from django.core.handlers.wsgi import WSGIHandler
from django.db import transaction
from django.urls import URLPattern, get_resolver
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from schemathesis.checks import not_a_server_error
from schemathesis.generation import GenerationMode
from schemathesis.specs.openapi.checks import response_schema_conformance

from enrollment.forms import SCREENING_FORMS
from tests.enrollment_data import register_and_consent

pytestmark = pytest.mark.django_db

FUZZ = settings(
    max_examples=25,
    deadline=None,
    database=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much],
)


def basic_auth(user, password) -> dict[str, str]:
    token = base64.b64encode(f"{user.username}:{password}".encode()).decode()
    return {"Authorization": f"Basic {token}"}


@pytest.fixture
def seeded(site_a, coordinator_a, investigator_a):
    return register_and_consent(site_a, coordinator_a, investigator_a)


def seeded_parameters(subject) -> st.SearchStrategy:
    """Path parameters of the seeded data, or None to let schemathesis choose."""
    return st.one_of(
        st.none(),
        st.fixed_dictionaries(
            {
                "study_id": st.just(subject.study_id),
                "pk": st.just(subject.pk),
                "crf": st.sampled_from(sorted(SCREENING_FORMS)),
            }
        ),
    )


def fuzz_operation(operation, subject, headers, called: set[str]):
    """A hypothesis test of one operation: no 5xx, and a valid request answered per schema."""
    names = {p.name for p in operation.path_parameters}

    @FUZZ
    @given(
        params=seeded_parameters(subject),
        mode=st.sampled_from([GenerationMode.POSITIVE, GenerationMode.NEGATIVE]),
        data=st.data(),
    )
    def call(params, mode, data):
        fixed = {k: v for k, v in (params or {}).items() if k in names} or None
        case = data.draw(operation.as_strategy(mode, path_parameters=fixed))
        with transaction.atomic():
            response = case.call(headers=headers)
            transaction.set_rollback(True)  # each request starts from the seeded data
        checks = [not_a_server_error]
        if mode is GenerationMode.POSITIVE:
            checks.append(response_schema_conformance)
        case.validate_response(response, checks=checks, headers=headers)
        called.add(operation.label)

    return call


@pytest.fixture
def connection_kept_between_requests():
    """As Django's test client does: the test's transaction must outlive each request.

    A bare WSGI handler closes the database connection when a request starts and finishes
    (``close_old_connections``), which on PostgreSQL ends the test's transaction.
    """
    from django.core.signals import request_finished, request_started
    from django.db import close_old_connections

    request_started.disconnect(close_old_connections)
    request_finished.disconnect(close_old_connections)
    yield
    request_started.connect(close_old_connections)
    request_finished.connect(close_old_connections)


def test_no_request_gives_a_server_error_or_breaks_the_schema(
    seeded, coordinator_a, password, connection_kept_between_requests
):
    app = WSGIHandler()
    headers = basic_auth(coordinator_a, password)
    # The schema itself needs a login (issue: integrity §4).
    schema = schemathesis.openapi.from_wsgi("/api/schema/", app, headers=headers)
    operations = [result.ok() for result in schema.get_all_operations()]
    assert len(operations) >= 6, [op.label for op in operations]
    called: set[str] = set()
    for operation in operations:
        fuzz_operation(operation, seeded, headers, called)()
    assert called == {op.label for op in operations}


def api_urls(subject, **ids) -> list[str]:
    """Every API route of ``trialsite/api/urls.py`` with the seeded data's ids filled in."""
    resolver = get_resolver()
    values = {"study_id": subject.study_id, "pk": subject.pk, "crf": "labs", "record_id": 1, **ids}
    urls = []
    for pattern in resolver.url_patterns:
        if getattr(pattern, "app_name", None) != "api":
            continue
        for route in pattern.url_patterns:
            assert isinstance(route, URLPattern)
            path = str(route.pattern)
            for name, value in values.items():
                for converter in ("int", "slug", "str"):
                    path = path.replace(f"<{converter}:{name}>", str(value))
            urls.append(f"/{str(pattern.pattern)}{path}")
    return urls


def test_options_on_every_api_endpoint_answers_200(client, seeded, coordinator_a):
    from safety.models import CTCAETerm
    from safety.services import save_adverse_event

    event = save_adverse_event(
        seeded,
        actor=coordinator_a,
        values={"term": CTCAETerm.objects.get(term="Fever"), "onset_date": seeded.screening_date,
                "grade": 1},
    )  # fmt: skip
    client.force_login(coordinator_a)
    urls = api_urls(seeded, ae_id=event.pk)
    assert any("/screening/labs/" in url for url in urls)
    for url in urls:
        response = client.options(url)
        assert response.status_code == 200, (url, response.status_code)
