"""CSV import of lab results: a preview with row-level errors, then an idempotent commit.

Why: sites receive results from the hospital LIS as files; re-typing them is where transcription
errors come from. Nothing is written by ``preview``; ``commit`` writes through the lab service
(``safety.services.save_lab_panel``, ``import_mode``), so an imported value is graded, audited,
checked and proposes AEs exactly as a typed one. The file is matched on **accession number +
test**: importing the same file again changes nothing; a changed value is an audited update
whose reason is "import <file name>".

Reads are per batch (the subjects, the panels with their results: three queries for the whole
file); the writes are the service's, a fixed number per result row (each value has its own audit
row and version).
"""

from __future__ import annotations

import csv
import datetime as dt
import io
from collections.abc import Callable
from dataclasses import dataclass, field

from django.db.models import Prefetch, Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from enrollment.models import Subject
from safety.models import LabPanel, LabResult, Specimen
from safety.services.labs import check_row, save_lab_panel
from trialsite.records.dates import parse_date
from trialsite.records.import_jobs import ImportJobs
from trialsite.studies import permissions
from trialsite.studies.roles import Action

COLUMNS = (
    "subject",
    "accession_number",
    "collected_at",
    "specimen",
    "lab_name",
    "test",
    "value",
    "unit",
    "lln",
    "uln",
)
REQUIRED_COLUMNS = ("subject", "accession_number", "collected_at", "test", "value", "unit")
MAX_ROWS = 20000

CREATE, UPDATE, UNCHANGED, ERROR = "create", "update", "unchanged", "error"

NOT_UTF8 = _("The file is not UTF-8 text (save it as CSV UTF-8).")
MISSING_COLUMNS = _("Missing columns: %(columns)s.")
TOO_MANY = _("The file has more than %(n)s rows; split it.")
UNKNOWN_SUBJECT = _("Unknown subject %(subject)s (or not at a site where you enter data).")
ACCESSION_REQUIRED = _("Give the accession number (the import matches on it).")
BAD_DATETIME = _("Enter the collection time as YYYY-MM-DD HH:MM (or DD-MMM-YYYY HH:MM).")
FUTURE = _("The collection time is in the future.")
INCONSISTENT = _(
    "Accession %(number)s has other rows with another subject or collection time (line %(line)s)."
)
OTHER_SUBJECT = _("Accession %(number)s is already recorded for another subject.")
BAD_SPECIMEN = _("Unknown specimen %(value)s; one of %(choices)s.")


@dataclass
class Row:
    line: int
    subject: str
    accession: str
    test: str
    value: str
    unit: str
    action: str = CREATE
    errors: dict[str, str] = field(default_factory=dict)
    grade: int | None = None


@dataclass
class Preview:
    filename: str
    rows: list[Row] = field(default_factory=list)
    file_errors: list[str] = field(default_factory=list)
    groups: list[dict] = field(default_factory=list)

    @property
    def error_count(self) -> int:
        return sum(1 for r in self.rows if r.errors) + len(self.file_errors)

    def count(self, action: str) -> int:
        return sum(1 for r in self.rows if r.action == action)

    @property
    def summary(self) -> dict[str, int]:
        return {a: self.count(a) for a in (CREATE, UPDATE, UNCHANGED, ERROR)}


def _parse_moment(text: str) -> dt.datetime | None:
    text = (text or "").strip().replace("T", " ")
    day_text, _sep, time_text = text.partition(" ")
    day = parse_date(day_text)
    if day is None:
        return None
    clock_time = dt.time(0, 0)
    if time_text.strip():
        try:
            clock_time = dt.datetime.strptime(time_text.strip()[:5], "%H:%M").time()
        except ValueError:
            return None
    return timezone.make_aware(dt.datetime.combine(day, clock_time))


def _read(content: bytes | str) -> tuple[list[dict], list[str]]:
    if isinstance(content, bytes):
        try:
            content = content.decode("utf-8-sig")
        except UnicodeDecodeError:
            return [], [str(NOT_UTF8)]
    reader = csv.DictReader(io.StringIO(content))
    headers = [h.strip().lower() for h in (reader.fieldnames or [])]
    missing = [c for c in REQUIRED_COLUMNS if c not in headers]
    if missing:
        return [], [str(MISSING_COLUMNS % {"columns": ", ".join(missing)})]
    lines = []
    for raw in reader:
        row = {(k or "").strip().lower(): (v or "").strip() for k, v in raw.items() if k}
        lines.append(row)
        if len(lines) > MAX_ROWS:
            return [], [str(TOO_MANY % {"n": MAX_ROWS})]
    return lines, []


def _subjects(study, user, keys: set[str]) -> dict[str, Subject]:
    sites = permissions.site_ids(user, Action.ENTER_DATA, study=study)
    found = Subject.objects.filter(study=study).filter(
        Q(screening_number__in=keys) | Q(subject_number__in=keys)
    )
    if sites is not None:
        found = found.filter(site_id__in=sites)
    by_key = {}
    for subject in found.select_related("site", "study"):
        by_key[subject.screening_number] = subject
        if subject.subject_number:
            by_key[subject.subject_number] = subject
    return by_key


def _panels(study, numbers: set[str]) -> dict[str, LabPanel]:
    panels = LabPanel.objects.filter(study=study, accession_number__in=numbers).prefetch_related(
        Prefetch("results", queryset=LabResult.objects.order_by("pk"))
    )
    return {p.accession_number: p for p in panels}


def _same(result: LabResult, clean: dict) -> bool:
    if result.value != clean["value"] or result.unit != clean["unit"]:
        return False
    if result.is_baseline != clean["is_baseline"]:
        return False
    return all(clean[n] is None or getattr(result, n) == clean[n] for n in ("lln", "uln"))


def preview(content: bytes | str, *, filename: str, study, user) -> Preview:
    """What importing the file would do, row by row; writes nothing."""
    result = Preview(filename=filename)
    lines, result.file_errors = _read(content)
    if result.file_errors:
        return result
    subjects = _subjects(study, user, {line.get("subject", "") for line in lines})
    panels = _panels(study, {line.get("accession_number", "") for line in lines} - {""})
    groups: dict[str, dict] = {}
    now = timezone.now()
    for number, line in enumerate(lines, start=2):  # line 1 is the header
        row = Row(
            line=number,
            subject=line.get("subject", ""),
            accession=line.get("accession_number", ""),
            test=line.get("test", ""),
            value=line.get("value", ""),
            unit=line.get("unit", ""),
        )
        result.rows.append(row)
        subject = subjects.get(row.subject)
        if subject is None:
            row.errors["subject"] = str(UNKNOWN_SUBJECT % {"subject": row.subject or "—"})
        if not row.accession:
            row.errors["accession_number"] = str(ACCESSION_REQUIRED)
        moment = _parse_moment(line.get("collected_at", ""))
        if moment is None:
            row.errors["collected_at"] = str(BAD_DATETIME)
        elif moment > now:
            row.errors["collected_at"] = str(FUTURE)
        specimen = (line.get("specimen") or Specimen.BLOOD).lower()
        if specimen not in Specimen.values:
            row.errors["specimen"] = str(
                BAD_SPECIMEN % {"value": specimen, "choices": ", ".join(Specimen.values)}
            )
        clean, problems = check_row(
            {
                "test_code": row.test,
                "value": row.value,
                "unit": row.unit,
                "lln": line.get("lln"),
                "uln": line.get("uln"),
            }
        )
        for name, errors in problems.items():
            row.errors["test" if name == "test_code" else name] = " ".join(
                str(e.message) for e in errors
            )
        if row.errors:
            row.action = ERROR
            continue
        group = groups.get(row.accession)
        panel_values = {
            "collected_at": moment,
            "specimen": specimen,
            "accession_number": row.accession,
            "lab_name": line.get("lab_name", ""),
        }
        if group is None:
            group = groups[row.accession] = {
                "subject": subject,
                "values": panel_values,
                "results": [],
                "line": number,
                "rows": [],
            }
        elif group["subject"] != subject or group["values"]["collected_at"] != moment:
            row.errors["accession_number"] = str(
                INCONSISTENT % {"number": row.accession, "line": group["line"]}
            )
            row.action = ERROR
            continue
        existing = panels.get(row.accession)
        if existing is not None and existing.subject_id != subject.pk:
            row.errors["accession_number"] = str(OTHER_SUBJECT % {"number": row.accession})
            row.action = ERROR
            continue
        current = {r.test_code: r for r in existing.results.all()} if existing is not None else {}
        stored = current.get(clean["test_code"])
        if stored is None:
            row.action = CREATE
        elif _same(stored, clean):
            row.action = UNCHANGED
        else:
            row.action = UPDATE
        if stored is not None and existing is not None and _panel_changed(existing, panel_values):
            row.action = UPDATE
        group["results"].append(clean)
        group["rows"].append(row)
        group["panel"] = existing
    result.groups = list(groups.values())
    return result


def _panel_changed(panel: LabPanel, values: dict) -> bool:
    return (
        panel.collected_at != values["collected_at"]
        or panel.specimen != values["specimen"]
        or panel.lab_name != values["lab_name"]
    )


def commit(
    plan: Preview,
    *,
    user,
    progress: Callable[[int, int], None] | None = None,
) -> dict[str, int]:
    """Write a preview without errors; returns the counts. Idempotent (see module docstring)."""
    if plan.error_count:
        raise ValueError("a preview with errors cannot be committed")
    total = len(plan.rows)
    done = 0
    reason = f"import {plan.filename}"
    for group in plan.groups:
        pending = [r for r in group["rows"] if r.action != UNCHANGED]
        if pending:
            rows = [{**clean, "version": None} for clean in group["results"]]
            save_lab_panel(
                group["subject"],
                actor=user,
                values=group["values"],
                results=rows,
                record=group.get("panel"),
                reason=reason,
                import_mode=True,
            )
        done += len(group["rows"])
        if progress is not None:
            progress(done, total)
    return plan.summary


def example_csv() -> str:
    """A header line and one row, for the import page's help."""
    return (
        ",".join(COLUMNS)
        + "\nTJ-S-0001,ACC-123,2025-06-03 07:30,blood,Central lab,ANC,0.4,10^9/L,1.8,7.5\n"
    )


# --- A commit as a background job with its progress in the cache -----------------------------

_JOBS = ImportJobs("safety:lab-import")
upload = _JOBS.upload
set_progress = _JOBS.set_progress
progress_of = _JOBS.progress_of


def store_upload(token: str, *, content: bytes, filename: str, study, user) -> None:
    """Keep an uploaded file between its preview and the user's confirmation."""
    _JOBS.store_upload(
        token, content=content, filename=filename, study_id=study.pk, user_id=user.pk
    )


def run_job(token: str) -> dict:
    """Preview the stored file again against today's data and commit it (the Celery task)."""
    from django.contrib.auth import get_user_model

    from trialsite.studies.models import Study

    job = upload(token)
    if job is None:
        set_progress(token, state="failed", done=0, total=0, message="upload expired")
        return {"state": "failed"}
    study = Study.objects.get(pk=job["study_id"])
    user = get_user_model().objects.get(pk=job["user_id"])
    plan = preview(job["content"], filename=job["filename"], study=study, user=user)
    total = len(plan.rows)
    if plan.error_count:
        set_progress(token, state="failed", done=0, total=total, message="rows have errors")
        return {"state": "failed"}
    set_progress(token, state="running", done=0, total=total)
    try:
        summary = commit(
            plan,
            user=user,
            progress=lambda done, all_rows: set_progress(
                token, state="running", done=done, total=all_rows
            ),
        )
    except Exception as exc:  # the worker reports the failure to the page, then re-raises
        set_progress(token, state="failed", done=0, total=total, message=str(exc)[:300])
        raise
    set_progress(token, state="done", done=total, total=total, summary=summary)
    _JOBS.forget_upload(token)
    return {"state": "done", **summary}
