"""Recovery from a dead worker (issue 9 §3), with real worker processes.

A ``celery -A trialsite worker -B`` subprocess (its own queue, the test database, the test's cache
prefix, a sweep every second) receives the recompute; the test SIGKILLs it, starts a second one,
and the stored snapshot must equal a direct recompute of the data within 60 s. Two moments:

- mid-recompute (a hook is running): the pending key is already gone, the sweep re-enqueues;
- while the task waits out its coalescing countdown (the case of the issue: SIGKILL 0.5 s after a
  save): the pending key is still set, and the sweep must take it over once it is older than a
  few coalescing periods instead of waiting 15 minutes for it to expire.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import textwrap
import time
from decimal import Decimal
from pathlib import Path

import pytest
from django.conf import settings
from django.db import connection
from django.test import Client

from tests.testapp.models import VitalSigns, VitalsSummary
from tests.testapp.recompute_hooks import vitals_by_site
from trialsite.celery import app as celery_app
from trialsite.records import recompute, services
from trialsite.records.models import RecomputeRun

pytestmark = pytest.mark.django_db(transaction=True)

ROOT = Path(__file__).resolve().parents[2]
CONVERGE_SECONDS = 60


def wait_for(predicate, timeout):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(0.2)
    return False


class Workers:
    """Start real worker processes (each in its own process group) and kill them."""

    def __init__(self, tmp_path: Path, queue: str, coalesce_seconds: int):
        self.tmp_path, self.queue, self.procs = tmp_path, queue, []
        database = connection.settings_dict["NAME"]
        key_prefix = settings.CACHES["default"].get("KEY_PREFIX", "")
        settings_module = tmp_path / "worker_kill_settings.py"
        settings_module.write_text(
            textwrap.dedent(
                f"""
                from tests.settings import *  # noqa: F403

                # The test's database and cache keys, not the worker's own test defaults.
                DATABASES = {{"default": {{**DATABASES["default"], "NAME": {database!r}}}}}
                CACHES = {{"default": {{**CACHES["default"], "KEY_PREFIX": {key_prefix!r}}}}}
                CELERY_TASK_ALWAYS_EAGER = False
                RECOMPUTE_COALESCE_SECONDS = {coalesce_seconds}
                CELERY_TASK_DEFAULT_QUEUE = {queue!r}
                CELERY_BEAT_SCHEDULE = {{
                    "sweep-stale-studies": {{
                        "task": "trialsite.records.tasks.sweep_stale_studies",
                        "schedule": 1.0,
                    }}
                }}
                TESTAPP_RECOMPUTE_HOOK = True
                """
            )
        )

    def start(self, name: str, **env) -> subprocess.Popen:
        log = open(self.tmp_path / f"{name}.log", "wb")  # noqa: SIM115 - closed in stop_all
        environment = {
            **os.environ,
            "DJANGO_SETTINGS_MODULE": "worker_kill_settings",
            "PYTHONPATH": os.pathsep.join([str(self.tmp_path), str(ROOT)]),
            **env,
        }
        proc = subprocess.Popen(
            [
                *(sys.executable, "-m", "celery", "-A", "trialsite", "worker", "-B"),
                *("--pool", "solo", "--queues", self.queue, "--hostname", f"{name}@%h"),
                *("--schedule", str(self.tmp_path / f"{name}-beat-schedule")),
                *("--without-mingle", "--without-gossip", "--loglevel", "INFO"),
            ],
            cwd=ROOT,
            env=environment,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        self.procs.append((proc, log))
        return proc

    @staticmethod
    def kill(proc: subprocess.Popen, sig=signal.SIGKILL) -> None:
        """Send ``sig`` to the worker's process group (worker and embedded beat); then SIGKILL."""
        for signum in (sig, signal.SIGKILL):
            try:
                os.killpg(proc.pid, signum)
                proc.wait(timeout=10)
                return
            except ProcessLookupError:
                return
            except subprocess.TimeoutExpired:
                continue

    def logs(self) -> str:
        return "\n".join(
            f"--- {path.name}\n{path.read_text(errors='replace')[-3000:]}"
            for path in sorted(self.tmp_path.glob("*.log"))
        )

    def stop_all(self) -> None:
        for proc, log in self.procs:
            if proc.poll() is None:
                self.kill(proc, signal.SIGTERM)
            log.close()


COALESCE_SECONDS = 2


@pytest.fixture
def workers(services_available, tmp_path, settings):
    settings.RECOMPUTE_COALESCE_SECONDS = COALESCE_SECONDS
    queue = f"trialsite-kill-{os.getpid()}"
    saved = {key: celery_app.conf[key] for key in ("task_always_eager", "task_default_queue")}
    celery_app.conf.update(task_always_eager=False, task_default_queue=queue)
    pool = Workers(tmp_path, queue, COALESCE_SECONDS)
    yield pool
    pool.stop_all()
    celery_app.conf.update(saved)
    drop_queue(queue)


def drop_queue(queue: str) -> None:
    """Remove the test queue and the killed workers' unacknowledged tasks from Redis.

    Otherwise Redis would hand those tasks back to this (by then unused) queue once the
    visibility timeout passes, leaving garbage in a shared Redis.
    """
    with celery_app.connection_for_write(settings.CELERY_BROKER_URL) as conn:
        channel = conn.default_channel
        client = channel.client
        client.delete(queue)
        for tag, payload in client.hgetall(channel.unacked_key).items():
            if json.loads(payload)[2] == queue:
                client.hdel(channel.unacked_key, tag)
                client.zrem(channel.unacked_index_key, tag)


def received(log: Path) -> bool:
    """The worker logged that it holds the recompute task (waiting out its countdown)."""
    text = log.read_text(errors="replace")
    return "tasks.recompute_study[" in text and "] received" in text


@pytest.mark.parametrize("moment", ["mid-recompute", "during-the-countdown"])
def test_a_killed_worker_is_replaced_and_the_stored_state_converges_within_60_s(
    moment, workers, tmp_path, study, site_a, site_b, coordinator_a, coordinator_b
):
    started_file = tmp_path / "hook-started"
    first = workers.start(
        "doomed",
        TESTAPP_HOOK_SLEEP_SECONDS="120",
        TESTAPP_HOOK_STARTED_FILE=str(started_file),
    )
    assert wait_for(lambda: "ready." in (tmp_path / "doomed.log").read_text(), 45), workers.logs()
    for n, (site, actor) in enumerate([(site_a, coordinator_a)] * 3 + [(site_b, coordinator_b)]):
        services.create_record(
            VitalSigns,
            actor=actor,
            study=study,
            values={"site": site, "subject_label": f"S-{n:04d}", "weight_kg": Decimal("70.5")},
        )
    study.refresh_from_db()

    if moment == "mid-recompute":
        assert wait_for(started_file.exists, 45), workers.logs()
    else:
        assert wait_for(lambda: received(tmp_path / "doomed.log"), 45), workers.logs()
        assert not started_file.exists()
        assert recompute.pending_since(study.pk) is not None  # the key the issue got stuck on
    workers.kill(first)  # SIGKILL: nothing gets a chance to clean up or re-queue
    assert first.returncode == -signal.SIGKILL
    assert not VitalsSummary.objects.exists()
    assert not RecomputeRun.objects.filter(study=study).exists()

    replaced_at = time.monotonic()
    workers.start("replacement")

    def converged():
        rows = VitalsSummary.objects.filter(study=study)
        return len(rows) == 2 and all(row.data_version == study.data_version for row in rows)

    assert wait_for(converged, CONVERGE_SECONDS), workers.logs()
    assert time.monotonic() - replaced_at < CONVERGE_SECONDS
    stored = {
        row.site_code: {"forms": row.forms, "total_weight_kg": row.total_weight_kg}
        for row in VitalsSummary.objects.filter(study=study)
    }
    assert stored == vitals_by_site(study)
    assert stored == {
        "BJ": {"forms": 1, "total_weight_kg": Decimal("70.5")},
        "TJ": {"forms": 3, "total_weight_kg": Decimal("211.5")},
    }
    run = RecomputeRun.objects.filter(study=study).latest("id")
    assert run.data_version == study.data_version and run.errors == []


def test_healthz_sees_the_live_worker_and_the_queue_length(real_tasks):
    body = Client().get("/healthz").json()
    assert body["worker"] == "ok"
    assert isinstance(body["queue_length"], int)
