"""``GET /healthz``: database, cache and broker status as JSON (no login needed).

Each check reports ``ok`` or one line saying what failed; the status code is 200 when all are ok
and 503 otherwise, so a load balancer or ``docker-compose`` health check can use it directly.
"""

from __future__ import annotations

from django.conf import settings
from django.contrib.auth.decorators import login_not_required
from django.core.cache import cache
from django.db import connection
from django.http import JsonResponse
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET

from trialsite import __version__


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


def check_broker() -> str:
    if not settings.CELERY_BROKER_URL:
        return "eager (no broker configured: tasks run in the web process)"
    from trialsite.celery import app

    try:
        # The URL from Django settings, explicitly: Celery would prefer the process environment.
        with app.connection_for_write(settings.CELERY_BROKER_URL) as conn:
            conn.ensure_connection(max_retries=1, timeout=2)
    except Exception as exc:  # noqa: BLE001
        return _one_line(exc)
    return "ok"


@login_not_required
@never_cache
@require_GET
def healthz(request):
    checks = {"database": check_database(), "cache": check_cache(), "broker": check_broker()}
    healthy = all(v == "ok" or v.startswith("eager") for v in checks.values())
    body = {"status": "ok" if healthy else "error", "version": __version__, **checks}
    return JsonResponse(body, status=200 if healthy else 503)
