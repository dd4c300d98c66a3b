"""The screening log's columns: which sort, and the CSV export (streamed, a chunk at a time).

The CSV is for a sponsor's or a monitor's spreadsheet: ISO dates (machine-readable, sortable),
one row per subject, the failing criteria counted as on the page (each criterion once). Cells
that a spreadsheet would run as a formula are prefixed with an apostrophe (OWASP "CSV
injection").
"""

from __future__ import annotations

import csv
from collections.abc import Iterable, Iterator

from django.utils.translation import gettext_lazy as _

from enrollment import selectors

SORTABLE = [
    ("screening_number", _("Screening no.")),
    ("subject_number", _("Subject ID")),
    ("initials", _("Initials")),
    ("site", _("Site")),
    ("screening_date", _("Screened")),
    ("status", _("Status")),
]
HEADER = [
    "screening_number",
    "subject_id",
    "initials",
    "site",
    "screening_date",
    "status",
    "eligibility",
    "failing_criteria",
    "missing_criteria",
    "screen_failure_reasons",
]
CHUNK = 500


class _Echo:
    def write(self, value: str) -> str:
        return value


def _safe(value: object) -> str:
    text = "" if value is None else str(value)
    return f"'{text}" if text[:1] in ("=", "+", "-", "@", "\t", "\r") else text


def _eligibility(assessment) -> str:
    if assessment is None:
        return ""
    return {True: "pass", False: "fail"}.get(assessment.eligible, "missing")


def _row(subject, assessment) -> list[str]:
    reasons = "; ".join(
        f"{r.get('code')}: {r.get('message')}" for r in subject.screen_failure_reasons
    )
    return [
        _safe(v)
        for v in (
            subject.screening_number,
            subject.subject_number or "",
            subject.initials,
            subject.site.code,
            subject.screening_date.isoformat(),
            subject.get_enrollment_status_display(),
            _eligibility(assessment),
            " ".join(assessment.failed_criteria) if assessment else "",
            " ".join(assessment.missing_criteria) if assessment else "",
            reasons,
        )
    ]


def _chunks(subjects: Iterable) -> Iterator[list]:
    chunk: list = []
    for subject in subjects:
        chunk.append(subject)
        if len(chunk) == CHUNK:
            yield chunk
            chunk = []
    if chunk:
        yield chunk


def csv_lines(subjects) -> Iterator[str]:
    """The header, then one line per subject; one assessments query per chunk of subjects."""
    writer = csv.writer(_Echo())
    yield "\ufeff" + writer.writerow(HEADER)  # the BOM makes Excel read UTF-8
    for chunk in _chunks(subjects.iterator(chunk_size=CHUNK)):
        assessments = selectors.assessments_for(chunk)
        for subject in chunk:
            yield writer.writerow(_row(subject, assessments.get(subject.pk)))
