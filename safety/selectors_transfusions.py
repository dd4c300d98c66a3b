"""Transfusion reads with a fixed number of queries (DESIGN.md §3 selectors)."""

from __future__ import annotations

from enrollment.models import Subject
from safety.models import Transfusion


def transfusions_of(subject: Subject):
    """The subject's transfusions, newest first (one query; the subject is the one given)."""
    rows = list(Transfusion.objects.filter(subject=subject).order_by("-transfusion_date", "-pk"))
    for row in rows:
        row.subject = subject  # study day without a query per row
    return rows
