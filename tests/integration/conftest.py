"""Integration fixtures: real PostgreSQL, Redis and a real Celery worker (docs/architecture.md §8).

The worker runs in a thread of the test process (``celery.contrib.testing.worker``), consuming
from the Redis broker named by ``CELERY_BROKER_URL``, against the same test database. Without
those services the tests skip with the reason (and in CI a skip fails the run).
"""

from __future__ import annotations

import os

import pytest
from django.db import connection

from trialsite.celery import app as celery_app


def pytest_collection_modifyitems(items):
    for item in items:
        if "tests/integration/" in str(item.fspath):
            item.add_marker(pytest.mark.integration)


@pytest.fixture(scope="session")
def services_available(django_db_setup, django_db_blocker):
    missing = []
    with django_db_blocker.unblock():
        if connection.vendor != "postgresql":
            missing.append("PostgreSQL (DATABASE_URL=postgres://...)")
    if not os.environ.get("CELERY_BROKER_URL", "").startswith("redis://"):
        missing.append("a Redis broker (CELERY_BROKER_URL=redis://...)")
    if not os.environ.get("REDIS_URL"):
        missing.append("a Redis cache (REDIS_URL=redis://...)")
    if missing:
        pytest.skip("Integration tests need " + ", ".join(missing))


@pytest.fixture(scope="session")
def celery_worker(services_available, django_db_blocker):
    """One real worker for the whole session, consuming from the real broker."""
    from celery.contrib.testing.worker import start_worker

    celery_app.conf.update(
        broker_url=os.environ["CELERY_BROKER_URL"],
        task_always_eager=False,
        task_default_queue=f"trialsite-test-{os.getpid()}",
    )
    with (
        django_db_blocker.unblock(),
        start_worker(
            celery_app,
            pool="solo",
            concurrency=1,
            perform_ping_check=False,
            shutdown_timeout=30,
            queues=[celery_app.conf.task_default_queue],
        ) as worker,
    ):
        yield worker
    celery_app.conf.task_always_eager = True


@pytest.fixture
def real_tasks(celery_worker, settings):
    """Send tasks to the broker (not eagerly) for this test, with a real coalescing window."""
    celery_app.conf.task_always_eager = False
    settings.RECOMPUTE_COALESCE_SECONDS = 2
    yield celery_worker
    celery_app.conf.task_always_eager = True
