"""CSV import of efficacy samples: kinetics, anti-CAR antibodies, RCL tests.

Why: the central laboratories send results as files; re-typing them is where transcription errors
come from. The shape is the lab import's (``safety.lab_import``): ``preview`` writes nothing and
lists every bad row with its field errors (negative value, unknown unit, unknown subject, a
kinetics date before Day 0, a bad timepoint, a sample ID twice in the file…); ``commit`` writes
a preview without errors **in one transaction** — a file with any error commits nothing, and a
failure half-way rolls back every row. Rows are matched on the **sample ID** (unique per study):
importing the same file again changes nothing; a changed value is an audited update whose
reason names the file. Each commit leaves a ``SampleImport`` row (who, when, the file's SHA-256,
the counts). Large files are committed by a Celery task with its progress in the cache
(``run_job``; the page polls ``efficacy:sample-import-status``).

Cytokines are lab results: they are imported through the lab import (``safety:lab-import``).

Reads are per file (the subjects, the stored samples of the kind: two queries); the writes are
the record service's, a fixed number per changed row.
"""

from __future__ import annotations

import csv
import datetime as dt
import hashlib
import io
from collections.abc import Callable
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation

from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from efficacy import sample_units
from efficacy.models import (
    AntiCARAntibody,
    AntiCARResult,
    AntiCARTimepoint,
    Clonality,
    Compartment,
    KineticsMethod,
    KineticsSample,
    KineticsTimepoint,
    RCLMethod,
    RCLResult,
    RCLTest,
    SampleImport,
)
from efficacy.models.samples import RCL_TIMEPOINTS
from efficacy.services_samples import save_sample
from enrollment.models import Subject
from enrollment.services import data_entry_blocked
from trialsite import clock
from trialsite.records import edit_checks
from trialsite.records.dates import parse_date
from trialsite.records.import_jobs import ImportJobs
from trialsite.studies import permissions
from trialsite.studies.roles import Action

MAX_ROWS = 20000
CREATE, UPDATE, UNCHANGED, ERROR = "create", "update", "unchanged", "error"

NOT_UTF8 = _("The file is not UTF-8 text (save it as CSV UTF-8).")
MISSING_COLUMNS = _("Missing columns: %(columns)s.")
TOO_MANY = _("The file has more than %(n)s rows; split it.")
UNKNOWN_SUBJECT = _("Unknown subject %(subject)s (or not at a site where you enter data).")
SAMPLE_REQUIRED = _("Give the sample ID (the import matches on it).")
DUPLICATE = _("Sample ID %(sample)s is also on line %(line)s of this file.")
OTHER_SUBJECT = _("Sample ID %(sample)s is already recorded for another subject.")
BAD_DATETIME = _("Enter the collection time as YYYY-MM-DD HH:MM (or DD-MMM-YYYY HH:MM).")
BAD_DATE = _("Enter the date as YYYY-MM-DD (or DD-MMM-YYYY).")
FUTURE = _("The collection date is in the future.")
NOT_INFUSED = _("The subject has no Day 0 (CAR-T infusion) yet: kinetics start at Day 0.")
BEFORE_DAY0 = _("%(date)s is before Day 0 (%(day0)s): kinetics are sampled from the infusion.")
BAD_CHOICE = _("Unknown %(name)s %(value)s; one of %(choices)s.")
NOT_A_NUMBER = _("Enter a number.")
NEGATIVE = _("A level cannot be negative.")
VALUE_REQUIRED = _("Give the level, or mark the sample BLQ (below the LLOQ).")
BELOW_LLOQ = _("%(value)s is below the LLOQ %(lloq)s: mark the sample BLQ.")
UNKNOWN_UNIT = _("Unknown unit %(unit)s for %(method)s; accepted: %(units)s.")
BAD_FLAG = _("Enter yes or no.")
BAD_TITRE = _("The titre is a whole number ≥ 1 (e.g. 160 for 1:160).")
TITRE_NOT_POSITIVE = _("A titre is given only for a positive result.")
BAD_PCT = _("The dominant clone is a percentage from 0 to 100.")
PCT_WITHOUT_ANALYSIS = _("Give the insertion-site result with the dominant clone %.")

_YES = {"yes", "y", "true", "1", "blq", "x"}
_NO = {"no", "n", "false", "0", ""}


@dataclass
class Row:
    line: int
    subject: str
    sample_id: str
    timepoint: str
    summary: str  # the row's value or result as typed, for the preview table
    action: str = CREATE
    errors: dict[str, str] = field(default_factory=dict)
    values: dict = field(default_factory=dict)
    subject_obj: Subject | None = None
    record: object = None


@dataclass
class Preview:
    kind: str
    filename: str
    sha256: str = ""
    rows: list[Row] = field(default_factory=list)
    file_errors: list[str] = field(default_factory=list)

    @property
    def error_count(self) -> int:
        return sum(1 for r in self.rows if r.errors) + len(self.file_errors)

    def count(self, action: str) -> int:
        return sum(1 for r in self.rows if r.action == action)

    @property
    def summary(self) -> dict[str, int]:
        return {a: self.count(a) for a in (CREATE, UPDATE, UNCHANGED, ERROR)}


# --- Field parsers: each returns (value, error message or "") -----------------------------------


def _choice(text: str, choices, name: str):
    values = {str(v).lower(): v for v, _label in choices}
    found = values.get((text or "").strip().lower())
    if found is None:
        return None, str(
            BAD_CHOICE
            % {"name": name, "value": text or "—", "choices": ", ".join(v for v, _ in choices)}
        )
    return found, ""


def _decimal(text: str):
    try:
        value = Decimal((text or "").strip())
    except InvalidOperation:
        return None, str(NOT_A_NUMBER)
    if not value.is_finite() or abs(value) >= Decimal("1e14"):
        return None, str(NOT_A_NUMBER)
    return value, ""


def _moment(text: str):
    text = (text or "").strip().replace("T", " ")
    day_text, _sep, time_text = text.partition(" ")
    day = parse_date(day_text)
    if day is None:
        return None, str(BAD_DATETIME)
    clock_time = dt.time(0, 0)
    if time_text.strip():
        try:
            clock_time = dt.datetime.strptime(time_text.strip()[:5], "%H:%M").time()
        except ValueError:
            return None, str(BAD_DATETIME)
    return timezone.make_aware(dt.datetime.combine(day, clock_time)), ""


def _date(text: str):
    day = parse_date((text or "").strip())
    return (None, str(BAD_DATE)) if day is None else (day, "")


def _day_of(value) -> dt.date:
    return timezone.localtime(value).date() if isinstance(value, dt.datetime) else value


# --- The three kinds ---------------------------------------------------------------------------


def _kinetics_row(line: dict, subject: Subject | None, errors: dict) -> dict:
    values: dict = {}
    values["collected_at"], errors["collected_at"] = _moment(line.get("collected_at", ""))
    values["timepoint"], errors["timepoint"] = _choice(
        line.get("timepoint", ""), KineticsTimepoint.choices, "timepoint"
    )
    values["compartment"], errors["compartment"] = _choice(
        line.get("compartment", ""), Compartment.choices, "compartment"
    )
    method, errors["method"] = _choice(line.get("method", ""), KineticsMethod.choices, "method")
    values["method"] = method
    blq_text = (line.get("blq") or "").strip().lower()
    blq = blq_text in _YES
    if blq_text not in _YES | _NO:
        errors["blq"] = str(BAD_FLAG)
    values["blq"] = blq
    unit = line.get("unit", "")
    factor = sample_units.factor(method, unit) if method else None
    if method and factor is None:
        errors["unit"] = str(
            UNKNOWN_UNIT
            % {"unit": unit or "—", "method": method, "units": sample_units.ACCEPTED[method]}
        )
    raw = (line.get("value") or "").strip()
    value = lloq = None
    if raw:
        value, errors["value"] = _decimal(raw)
        if value is not None and value < 0:
            errors["value"] = str(NEGATIVE)
    elif not blq:
        errors["value"] = str(VALUE_REQUIRED)
    if (line.get("lloq") or "").strip():
        lloq, errors["lloq"] = _decimal(line["lloq"])
        if lloq is not None and lloq < 0:
            errors["lloq"] = str(NEGATIVE)
    if factor is not None:
        value = None if value is None else (value * factor).quantize(Decimal("0.0001"))
        lloq = None if lloq is None else (lloq * factor).quantize(Decimal("0.0001"))
    if (
        not blq
        and value is not None
        and lloq is not None
        and value < lloq
        and not errors.get("value")
    ):
        errors["value"] = str(BELOW_LLOQ % {"value": raw, "lloq": line["lloq"]})
    values.update(
        value=value,
        lloq=lloq,
        unit=sample_units.stored_unit(method) if method else "",
        reported_value=raw[:40],
        reported_unit=unit[:24],
    )
    moment = values["collected_at"]
    if subject is not None and moment is not None:
        if subject.day0 is None:
            errors["collected_at"] = str(NOT_INFUSED)
        elif _day_of(moment) < subject.day0:
            errors["collected_at"] = str(
                BEFORE_DAY0
                % {"date": _day_of(moment).isoformat(), "day0": subject.day0.isoformat()}
            )
    return values


def _anti_car_row(line: dict, subject: Subject | None, errors: dict) -> dict:
    values: dict = {}
    values["collected_on"], errors["collected_on"] = _date(line.get("collected_on", ""))
    values["timepoint"], errors["timepoint"] = _choice(
        line.get("timepoint", ""), AntiCARTimepoint.choices, "timepoint"
    )
    values["result"], errors["result"] = _choice(
        line.get("result", ""), AntiCARResult.choices, "result"
    )
    titre_text = (line.get("titre") or "").strip()
    values["titre"] = None
    if titre_text:
        if not titre_text.isdigit() or int(titre_text) < 1:
            errors["titre"] = str(BAD_TITRE)
        elif values["result"] and values["result"] != AntiCARResult.POSITIVE:
            errors["titre"] = str(TITRE_NOT_POSITIVE)
        else:
            values["titre"] = int(titre_text)
    return values


def _rcl_row(line: dict, subject: Subject | None, errors: dict) -> dict:
    values: dict = {}
    values["collected_on"], errors["collected_on"] = _date(line.get("collected_on", ""))
    values["timepoint"], errors["timepoint"] = _choice(
        line.get("timepoint", ""), RCL_TIMEPOINTS, "timepoint"
    )
    values["method"], errors["method"] = _choice(line.get("method", ""), RCLMethod.choices,
                                                 "method")  # fmt: skip
    values["result"], errors["result"] = _choice(line.get("result", ""), RCLResult.choices,
                                                 "result")  # fmt: skip
    site_text = (line.get("insertion_site") or "").strip()
    values["insertion_site"] = ""
    if site_text:
        values["insertion_site"], errors["insertion_site"] = _choice(
            site_text, Clonality.choices, "insertion-site result"
        )
        values["insertion_site"] = values["insertion_site"] or ""
    pct_text = (line.get("dominant_clone_pct") or "").strip()
    values["dominant_clone_pct"] = None
    if pct_text:
        pct, problem = _decimal(pct_text)
        if problem or pct < 0 or pct > 100:
            errors["dominant_clone_pct"] = str(BAD_PCT)
        elif not site_text:
            errors["dominant_clone_pct"] = str(PCT_WITHOUT_ANALYSIS)
        else:
            values["dominant_clone_pct"] = pct.quantize(Decimal("0.01"))
    return values


@dataclass(frozen=True)
class Kind:
    code: str
    label: str
    model: type
    columns: tuple[str, ...]
    required: tuple[str, ...]
    parse: Callable[[dict, Subject | None, dict], dict]
    summary: Callable[[dict], str]
    example: str


KINDS: dict[str, Kind] = {
    k.code: k
    for k in (
        Kind(
            SampleImport.Kind.KINETICS,
            str(SampleImport.Kind.KINETICS.label),
            KineticsSample,
            ("subject", "sample_id", "collected_at", "timepoint", "compartment", "method",
             "value", "unit", "blq", "lloq"),
            ("subject", "sample_id", "collected_at", "timepoint", "compartment", "method",
             "value", "unit"),
            _kinetics_row,
            lambda line: f"{line.get('value', '')} {line.get('unit', '')}".strip()
            + (" BLQ" if (line.get("blq") or "").strip().lower() in _YES else ""),
            "TJ-S-0001,PK-0001-D7,2025-06-08 08:00,D7,blood,qpcr,12000,copies/ug gDNA,no,50",
        ),
        Kind(
            SampleImport.Kind.ANTI_CAR,
            str(SampleImport.Kind.ANTI_CAR.label),
            AntiCARAntibody,
            ("subject", "sample_id", "collected_on", "timepoint", "result", "titre"),
            ("subject", "sample_id", "collected_on", "timepoint", "result"),
            _anti_car_row,
            lambda line: " ".join(x for x in (line.get("result", ""), line.get("titre", "")) if x),
            "TJ-S-0001,ADA-0001-D28,2025-06-29,D28,negative,",
        ),
        Kind(
            SampleImport.Kind.RCL,
            str(SampleImport.Kind.RCL.label),
            RCLTest,
            ("subject", "sample_id", "collected_on", "timepoint", "method", "result",
             "insertion_site", "dominant_clone_pct"),
            ("subject", "sample_id", "collected_on", "timepoint", "method", "result"),
            _rcl_row,
            lambda line: " ".join(
                x for x in (line.get("result", ""), line.get("insertion_site", "")) if x
            ),
            "TJ-S-0001,RCL-0001-M3,2025-09-01,M3,vsvg_qpcr,negative,,",
        ),
    )
}  # fmt: skip


def example_csv(kind: str) -> str:
    spec = KINDS[kind]
    return ",".join(spec.columns) + "\n" + spec.example + "\n"


# --- Preview and commit ------------------------------------------------------------------------


def _read(content: bytes | str, spec: Kind) -> tuple[list[dict], list[str]]:
    if isinstance(content, bytes):
        try:
            content = content.decode("utf-8-sig")
        except UnicodeDecodeError:
            return [], [str(NOT_UTF8)]
    reader = csv.DictReader(io.StringIO(content))
    headers = [(h or "").strip().lower() for h in (reader.fieldnames or [])]
    missing = [c for c in spec.required if c not in headers]
    if missing:
        return [], [str(MISSING_COLUMNS % {"columns": ", ".join(missing)})]
    lines = []
    for raw in reader:
        lines.append({(k or "").strip().lower(): (v or "").strip() for k, v in raw.items() if k})
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


#: Fields the import does not validate on an unsaved record (bookkeeping; foreign keys given).
_NOT_VALIDATED = ("study", "subject", "visit", "status", "version", "created_at", "created_by",
                  "updated_at", "updated_by")  # fmt: skip


def _model_errors(spec: Kind, subject: Subject, values: dict) -> dict[str, str]:
    """The model's own validation and hard edit checks (future date, …) of the row, unsaved."""
    candidate = spec.model(study=subject.study, subject=subject, **values)
    errors: dict[str, str] = {}
    try:
        candidate.full_clean(exclude=list(_NOT_VALIDATED), validate_unique=False,
                             validate_constraints=False)  # fmt: skip
        edit_checks.refuse_hard_failures(candidate)
    except ValidationError as exc:
        for name, messages in exc.message_dict.items():
            errors[name if name != "__all__" else "row"] = " ".join(messages)
    return errors


def _same(record, values: dict) -> bool:
    for name, value in values.items():
        stored = getattr(record, name)
        if isinstance(stored, dt.datetime) and isinstance(value, dt.datetime):
            if stored != value:
                return False
        elif stored != value:
            return False
    return True


def preview(content: bytes | str, *, kind: str, filename: str, study, user) -> Preview:
    """What importing the file would do, row by row; writes nothing."""
    spec = KINDS[kind]
    raw = content.encode() if isinstance(content, str) else content
    result = Preview(kind=kind, filename=filename, sha256=hashlib.sha256(raw).hexdigest())
    lines, result.file_errors = _read(content, spec)
    if result.file_errors:
        return result
    subjects = _subjects(study, user, {line.get("subject", "") for line in lines})
    sample_ids = {line.get("sample_id", "") for line in lines} - {""}
    stored = {
        r.sample_id: r
        for r in spec.model.objects.filter(study=study, sample_id__in=sample_ids).select_related(
            "subject"
        )
    }
    first_line: dict[str, int] = {}
    blocked: dict[int, str] = {}
    now = timezone.now()
    for number, line in enumerate(lines, start=2):  # line 1 is the header
        row = Row(
            line=number,
            subject=line.get("subject", ""),
            sample_id=line.get("sample_id", ""),
            timepoint=line.get("timepoint", ""),
            summary=spec.summary(line),
        )
        result.rows.append(row)
        errors: dict[str, str] = {}
        subject = subjects.get(row.subject)
        if subject is None:
            errors["subject"] = str(UNKNOWN_SUBJECT % {"subject": row.subject or "—"})
        if not row.sample_id:
            errors["sample_id"] = str(SAMPLE_REQUIRED)
        elif row.sample_id in first_line:
            errors["sample_id"] = str(
                DUPLICATE % {"sample": row.sample_id, "line": first_line[row.sample_id]}
            )
        else:
            first_line[row.sample_id] = number
        values = {"sample_id": row.sample_id, **spec.parse(line, subject, errors)}
        errors = {k: v for k, v in errors.items() if v}
        moment = values.get("collected_at")
        if moment is not None and "collected_at" not in errors and moment > now:
            errors["collected_at"] = str(FUTURE)
        if subject is not None and not errors:
            errors.update(_model_errors(spec, subject, values))
        existing = stored.get(row.sample_id)
        if existing is not None and subject is not None and existing.subject_id != subject.pk:
            errors["sample_id"] = str(OTHER_SUBJECT % {"sample": row.sample_id})
        row.errors = errors
        if errors:
            row.action = ERROR
            continue
        if existing is None and subject is not None:
            if subject.pk not in blocked:
                blocked[subject.pk] = data_entry_blocked(subject)
            if blocked[subject.pk]:  # withdrawn consent: nothing new is collected
                row.errors = {"subject": blocked[subject.pk]}
                row.action = ERROR
                continue
        row.values, row.subject_obj, row.record = values, subject, existing
        if existing is None:
            row.action = CREATE
        elif _same(existing, values):
            row.action = UNCHANGED
        else:
            row.action = UPDATE
    return result


def commit(
    plan: Preview,
    *,
    user,
    study,
    progress: Callable[[int, int], None] | None = None,
) -> SampleImport:
    """Write a preview without errors in one transaction; returns the import's record."""
    if plan.error_count:
        raise ValueError("a preview with errors cannot be committed")
    spec = KINDS[plan.kind]
    reason = f"import {plan.filename} (sha256 {plan.sha256[:12]})"
    total = len(plan.rows)
    with transaction.atomic():
        for done, row in enumerate(plan.rows, start=1):
            if row.action in (CREATE, UPDATE):
                save_sample(
                    spec.model,
                    row.subject_obj,
                    actor=user,
                    values=row.values,
                    record=row.record,
                    reason=reason,
                )
            if progress is not None and (done % 50 == 0 or done == total):
                progress(done, total)
        summary = plan.summary
        return SampleImport.objects.create(
            study=study,
            kind=plan.kind,
            filename=plan.filename[:255],
            sha256=plan.sha256,
            imported_by=user,
            imported_at=clock.now(),
            rows=total,
            created=summary[CREATE],
            updated=summary[UPDATE],
            unchanged=summary[UNCHANGED],
        )


# --- A commit as a background job with its progress in the cache -----------------------------

_JOBS = ImportJobs("efficacy:sample-import")
upload = _JOBS.upload
set_progress = _JOBS.set_progress
progress_of = _JOBS.progress_of


def store_upload(token: str, *, kind: str, content: bytes, filename: str, study, user) -> None:
    """Keep an uploaded file between its preview and the user's confirmation."""
    _JOBS.store_upload(
        token, kind=kind, content=content, filename=filename, study_id=study.pk, user_id=user.pk
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
    plan = preview(
        job["content"], kind=job["kind"], filename=job["filename"], study=study, user=user
    )
    total = len(plan.rows)
    if plan.error_count:
        set_progress(token, state="failed", done=0, total=total, message="rows have errors")
        return {"state": "failed"}
    set_progress(token, state="running", done=0, total=total)
    try:
        record = commit(
            plan,
            user=user,
            study=study,
            progress=lambda done, all_rows: set_progress(
                token, state="running", done=done, total=all_rows
            ),
        )
    except Exception as exc:  # the worker reports the failure to the page, then re-raises
        set_progress(token, state="failed", done=0, total=total, message=str(exc)[:300])
        raise
    summary = plan.summary
    set_progress(token, state="done", done=total, total=total, summary=summary,
                 import_id=record.pk)  # fmt: skip
    _JOBS.forget_upload(token)
    return {"state": "done", **summary}
