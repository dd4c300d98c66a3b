"""The Celery application: configured from Django settings (``CELERY_*``), tasks autodiscovered.

Run a worker with ``celery -A trialsite worker`` and the periodic sweep with
``celery -A trialsite beat``. With no ``CELERY_BROKER_URL`` the tasks run eagerly after commit.
"""

import os

from celery import Celery

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "trialsite.settings")

app = Celery("trialsite")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()
app.autodiscover_tasks(["trialsite.records"])
