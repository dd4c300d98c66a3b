"""The Celery application: configured from Django settings (``CELERY_*``), tasks autodiscovered.

Run a worker with ``celery -A trialsite worker`` and the periodic sweep with
``celery -A trialsite beat``. With no ``CELERY_BROKER_URL`` the tasks run eagerly after commit.
Each worker writes a heartbeat (``trialsite.heartbeat``) that ``/healthz`` reports.
"""

import os

from celery import Celery, signals

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "trialsite.settings")

app = Celery("trialsite")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()
app.autodiscover_tasks(["trialsite.records"])


@signals.worker_init.connect
def start_heartbeat(**kwargs) -> None:
    """Every worker (also a test worker thread) writes the heartbeat /healthz looks for."""
    from trialsite import heartbeat

    heartbeat.start()


@signals.worker_shutdown.connect
def stop_heartbeat(**kwargs) -> None:
    from trialsite import heartbeat

    heartbeat.stop()
