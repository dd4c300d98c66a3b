"""The cache store of an import that runs as a background job: the uploaded file kept between
its preview and the user's confirmation, and the job's progress for the progress bar.

Shared by every CSV import (labs, efficacy samples): each keeps its jobs under its own key
prefix. The owner's user id is kept with the progress so only they can read it (the status
views check it). Entries expire after two hours; a confirmation after that reports "upload
expired" instead of committing a file nobody is looking at.
"""

from __future__ import annotations

from django.core.cache import cache

JOB_SECONDS = 2 * 60 * 60


class ImportJobs:
    """One import's jobs in the cache, under ``prefix`` (e.g. ``"safety:lab-import"``)."""

    def __init__(self, prefix: str, *, seconds: int = JOB_SECONDS) -> None:
        self.prefix = prefix
        self.seconds = seconds

    def _job_key(self, token: str) -> str:
        return f"{self.prefix}:{token}"

    def _progress_key(self, token: str) -> str:
        return f"{self.prefix}:{token}:progress"

    def store_upload(self, token: str, **job) -> None:
        """Keep the uploaded file (and whatever the job needs to run again) under ``token``."""
        cache.set(self._job_key(token), job, self.seconds)

    def upload(self, token: str) -> dict | None:
        return cache.get(self._job_key(token))

    def forget_upload(self, token: str) -> None:
        cache.delete(self._job_key(token))

    def set_progress(self, token: str, **state) -> None:
        """Store a job's progress; the owner's id is kept so only they can read it."""
        previous = cache.get(self._progress_key(token)) or {}
        owner = state.pop("user_id", None) or previous.get("user_id")
        cache.set(self._progress_key(token), {**state, "user_id": owner}, self.seconds)

    def progress_of(self, token: str) -> dict | None:
        return cache.get(self._progress_key(token))
