"""``/healthz`` says whether a worker is alive (issue 9 §3), from the heartbeat workers write."""

from __future__ import annotations

import time

import pytest
from django.core.cache import cache
from django.urls import reverse

from trialsite import health, heartbeat

pytestmark = pytest.mark.django_db


@pytest.fixture
def broker_up(settings, monkeypatch):
    """A broker is configured and answers, with 3 tasks waiting (the broker is mocked).

    A worker thread of the integration tests may be beating in this process: it is paused, so
    only the test writes the heartbeat.
    """
    settings.CELERY_BROKER_URL = "redis://broker.invalid:6379/0"
    monkeypatch.setattr(health, "check_broker", lambda: ("ok", 3))
    was_running = heartbeat.running()
    heartbeat.stop(wait=True)
    cache.delete(heartbeat.KEY)
    yield
    heartbeat.stop(wait=True)
    cache.delete(heartbeat.KEY)
    if was_running:
        heartbeat.start()


def test_in_eager_mode_there_is_no_worker_to_miss(client, settings):
    settings.CELERY_BROKER_URL = None
    response = client.get(reverse("healthz"))
    assert response.status_code == 200
    body = response.json()
    assert body["worker"].startswith("eager") and body["queue_length"] is None


def test_a_worker_seen_within_a_minute_is_healthy_and_the_queue_length_is_reported(
    client, broker_up
):
    cache.set(heartbeat.KEY, time.time() - 55)
    response = client.get(reverse("healthz"))
    assert response.status_code == 200
    assert response.json() == {**response.json(), "worker": "ok", "queue_length": 3}


def test_no_heartbeat_for_over_a_minute_answers_503(client, broker_up):
    cache.set(heartbeat.KEY, time.time() - 61)
    response = client.get(reverse("healthz"))
    assert response.status_code == 503
    body = response.json()
    assert body["status"] == "error" and body["broker"] == "ok"
    assert body["worker"].startswith("no worker seen for 6")


def test_a_broker_with_no_worker_ever_seen_answers_503(client, broker_up):
    response = client.get(reverse("healthz"))
    assert response.status_code == 503
    assert "no worker has written a heartbeat" in response.json()["worker"]


def test_a_started_worker_writes_its_heartbeat_at_once(broker_up):
    heartbeat.start()
    try:
        deadline = time.monotonic() + 5
        while heartbeat.last_seen() is None and time.monotonic() < deadline:
            time.sleep(0.05)
        assert heartbeat.age_seconds() is not None and heartbeat.age_seconds() < 5
    finally:
        heartbeat.stop()
