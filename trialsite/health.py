"""``GET /healthz``: database, cache, broker and worker status as JSON (no login needed).

Each check reports ``ok`` or one line saying what failed; the status code is 200 when all are ok
and 503 otherwise, so a load balancer or ``docker-compose`` health check can use it directly.
With a broker configured, ``worker`` says whether any worker wrote its heartbeat in the last
``WORKER_HEARTBEAT_MAX_AGE_SECONDS`` (issue 9 §3: a dead worker must not look healthy) and
``queue_length`` counts the tasks waiting in the default queue. In eager mode (no broker) the
tasks run in the web process, so there is no worker to miss.
"""

from __future__ import annotations

from django.conf import settings
from django.contrib.auth.decorators import login_not_required
from django.core.cache import cache
from django.db import connection
from django.http import JsonResponse
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET

from trialsite import __version__, heartbeat

EAGER = "eager (no broker configured: tasks run in the web process)"


def _one_line(exc: Exception) -> str:
    text = str(exc).strip().splitlines()
    return f"{type(exc).__name__}: {text[0] if text else ''}".strip()


def check_database() -> str:
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
            cursor.fetchone()
    except Exception as exc:  # noqa: BLE001 - any failure is reported, never raised
        return _one_line(exc)
    return "ok"


def check_cache() -> str:
    try:
        cache.set("healthz", "ok", 10)
        if cache.get("healthz") != "ok":
            return "cache did not return the value it was given"
    except Exception as exc:  # noqa: BLE001
        return _one_line(exc)
    return "ok"


def _waiting_tasks(conn, queue: str) -> int:
    from kombu.exceptions import ChannelError

    try:
        return conn.default_channel.queue_declare(queue=queue, passive=True).message_count
    except ChannelError:  # Redis keeps no empty queue: not found means nothing waits
        return 0


def check_broker() -> tuple[str, int | None]:
    """The broker's status and how many tasks wait in the default queue (None if unknown)."""
    if not settings.CELERY_BROKER_URL:
        return EAGER, None
    from trialsite.celery import app

    try:
        # The URL from Django settings, explicitly: Celery would prefer the process environment.
        with app.connection_for_write(settings.CELERY_BROKER_URL) as conn:
            conn.ensure_connection(max_retries=1, timeout=2)
            return "ok", _waiting_tasks(conn, app.conf.task_default_queue)
    except Exception as exc:  # noqa: BLE001
        return _one_line(exc), None


def check_worker() -> str:
    if not settings.CELERY_BROKER_URL:
        return EAGER
    try:
        age = heartbeat.age_seconds()
    except Exception as exc:  # noqa: BLE001
        return _one_line(exc)
    if age is None:
        return "no worker has written a heartbeat (is a worker running, sharing REDIS_URL?)"
    if age > settings.WORKER_HEARTBEAT_MAX_AGE_SECONDS:
        return f"no worker seen for {int(age)} s (last heartbeat older than the limit)"
    return "ok"


@login_not_required
@never_cache
@require_GET
def healthz(request):
    broker, queue_length = check_broker()
    checks = {
        "database": check_database(),
        "cache": check_cache(),
        "broker": broker,
        "worker": check_worker(),
    }
    healthy = all(v == "ok" or v == EAGER for v in checks.values())
    body = {
        "status": "ok" if healthy else "error",
        "version": __version__,
        **checks,
        "queue_length": queue_length,
    }
    return JsonResponse(body, status=200 if healthy else 503)
