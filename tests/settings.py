"""Test settings: the real settings plus a test-only CRF model (``tests.testapp``).

Tasks run eagerly by default so unit tests need no broker; the integration tests switch a real
worker on (tests/integration/conftest.py). Everything else — database, cache — comes from the
same environment variables as production, so CI runs the suite on PostgreSQL and Redis.
"""

import os

os.environ.setdefault("DJANGO_ENV", "test")

from trialsite.settings import *  # noqa: E402,F403
from trialsite.settings import INSTALLED_APPS  # noqa: E402

INSTALLED_APPS = [*INSTALLED_APPS, "tests.testapp"]
CELERY_TASK_ALWAYS_EAGER = True
RECOMPUTE_COALESCE_SECONDS = 0
PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]  # fast; tests only
# Keys of concurrent test runs never meet in a shared Redis.
CACHES = {"default": {**CACHES["default"], "KEY_PREFIX": f"trialsite-test-{os.getpid()}"}}  # noqa: F405
ROOT_URLCONF = "tests.urls"
