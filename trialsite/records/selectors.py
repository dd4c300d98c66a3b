"""Reads of the records core for pages (DESIGN.md §3 "selectors"): fixed query counts."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from trialsite.records import recompute
from trialsite.records.models import RecomputeRun


@dataclass(frozen=True)
class RecomputeStatus:
    """What a study administrator needs to see about the study's recomputations."""

    data_version: int
    runs: list[RecomputeRun]
    waiting_since: dt.datetime | None

    @property
    def latest(self) -> RecomputeRun | None:
        return self.runs[0] if self.runs else None

    @property
    def up_to_date(self) -> bool:
        return self.latest is not None and self.latest.data_version >= self.data_version

    @property
    def failing_hooks(self) -> list[dict]:
        """The hooks that failed in the latest run (their snapshots are stale until fixed)."""
        return list(self.latest.errors) if self.latest else []


def recompute_status(study, *, limit: int = 20) -> RecomputeStatus:
    """The study's newest runs, newest first (one query), and whether a recompute is waiting."""
    runs = list(
        RecomputeRun.objects.filter(study=study)
        .only("data_version", "started_at", "finished_at", "results", "errors")
        .order_by("-id")[:limit]
    )
    since = recompute.pending_since(study.pk)
    return RecomputeStatus(
        data_version=study.data_version,
        runs=runs,
        waiting_since=dt.datetime.fromtimestamp(since, tz=dt.UTC) if since else None,
    )
