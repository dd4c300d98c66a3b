"""trialsite: electronic data capture for dose-escalation cell-therapy trials."""

__version__ = "0.1.0"

# Load the Celery app whenever Django starts, so `@shared_task`s bind to it (and its broker).
from trialsite.celery import app as celery_app  # noqa: E402

__all__ = ["__version__", "celery_app"]
