"""Lab writes: a collection with its results graded by CTCAE v5.0 as they are saved, the AEs they
propose, and the coordinator's decision on each proposal (issue #11, labs).

Every write locks the subject (one writer per subject: the grades of later results read the
baseline among earlier ones, and the proposals read the previous grade), goes through
``trialsite.records.services`` (audit, version, data version, automatic queries) and derives
the grade in the same transaction. Grading is ``safety.rules.ctcae_lab_assessment`` with the
study's settings (``settings_for``); the baseline is chosen by ``safety.lab_baseline``.
Forms, the API and the CSV import all call ``save_lab_panel``.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping, Sequence
from decimal import Decimal, InvalidOperation

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from enrollment.models import Subject
from enrollment.plausibility import first_consent_date
from enrollment.services import require_data_entry
from safety import lab_baseline, lab_catalogue, rules
from safety.models import (
    AdverseEvent,
    AESource,
    CTCAETerm,
    DLTCategory,
    LabAEProposal,
    LabFlag,
    LabPanel,
    LabResult,
    ProposalStatus,
)
from safety.selectors_labs import COUNT_RECOVERY_TESTS
from safety.services.adverse_events import save_derived_adverse_event
from safety.services.dlt import refresh_dlt_evaluation
from trialsite import clock
from trialsite.records import services as records
from trialsite.records.exceptions import field_error
from trialsite.records.models import RecordStatus
from trialsite.records.services import UNREAD, ExpectedVersion

UNKNOWN_TEST = _("Unknown test %(test)s; use a code of the lab catalogue.")
BAD_UNIT = _("%(unit)s cannot be converted for %(test)s; accepted units: %(units)s.")
BAD_VALUE = _("Enter the value as a number (e.g. 1.25).")
NEGATIVE = _("A lab value cannot be negative.")
VALUE_REQUIRED = _("Enter the value.")
DUPLICATE_TEST = _("%(test)s appears twice in this collection.")
ALREADY_DECIDED = _("This proposal was already decided (%(decision)s).")
DISMISS_REASON_REQUIRED = _("Give the reason for dismissing the proposed adverse event.")
ACCESSION_TAKEN = _("Accession number %(number)s is already recorded in this study (%(panel)s).")
WRONG_PANEL = _("This lab collection belongs to another subject.")

_PLACES = Decimal("0.0001")


class LabRowsInvalid(ValidationError):
    """Field errors of result rows: ``rows[index][field]`` (and ``results[i].field`` keys)."""

    def __init__(self, rows: Mapping[int, Mapping[str, list]]):
        self.rows = {i: dict(errors) for i, errors in rows.items()}
        super().__init__(
            {
                f"results[{i}].{field}": messages
                for i, errors in self.rows.items()
                for field, messages in errors.items()
            }
        )


def _number(raw, field: str, errors: dict, *, required=False) -> Decimal | None:
    if raw is None or (isinstance(raw, str) and not raw.strip()):
        if required:
            errors[field] = [ValidationError(VALUE_REQUIRED, code="required")]
        return None
    try:
        number = raw if isinstance(raw, Decimal) else Decimal(str(raw).strip().replace(",", "."))
    except (InvalidOperation, ValueError):
        errors[field] = [ValidationError(BAD_VALUE, code="invalid")]
        return None
    if not number.is_finite() or abs(number) >= Decimal("1e12"):
        errors[field] = [ValidationError(BAD_VALUE, code="invalid")]
        return None
    if number < 0:
        errors[field] = [ValidationError(NEGATIVE, code="negative")]
        return None
    return number.quantize(_PLACES) if number.as_tuple().exponent < -4 else number


def check_row(row: Mapping) -> tuple[dict, dict]:
    """(clean values, {field: [ValidationError]}) of one result row, before any database work.

    The same checks for the form, the API and the CSV import: a known test, a number, a unit
    the catalogue (and the rules, for a graded test) can convert — refused with the list.
    """
    errors: dict[str, list] = {}
    test = lab_catalogue.find_test(row.get("test_code"))
    if test is None:
        errors["test_code"] = [
            ValidationError(UNKNOWN_TEST % {"test": row.get("test_code") or "—"}, code="unknown")
        ]
        return {}, errors
    value = _number(row.get("value"), "value", errors, required=True)
    lln = _number(row.get("lln"), "lln", errors)
    uln = _number(row.get("uln"), "uln", errors)
    unit = test.canonical_unit(row.get("unit") or test.unit)
    if unit is None:
        message = BAD_UNIT % {
            "unit": row.get("unit"),
            "test": test.label,
            "units": test.accepted_units,
        }
        errors["unit"] = [ValidationError(message, code="LB-UNIT")]
    clean = {
        "test_code": test.code,
        "value": value,
        "unit": unit,
        "lln": lln,
        "uln": uln,
        "is_baseline": bool(row.get("is_baseline") or False),
    }
    return clean, errors


def check_rows(rows: Sequence[Mapping]) -> tuple[list[dict], dict[int, dict]]:
    cleaned, problems, seen = [], {}, {}
    for index, row in enumerate(rows):
        clean, errors = check_row(row)
        code = clean.get("test_code")
        if code and code in seen and "test_code" not in errors:
            label = lab_catalogue.TESTS[code].label
            errors["test_code"] = [
                ValidationError(DUPLICATE_TEST % {"test": label}, code="duplicate")
            ]
        if code:
            seen[code] = index
        if errors:
            problems[index] = errors
        cleaned.append({**clean, "version": row.get("version")})
    return cleaned, problems


# --- Grading ---------------------------------------------------------------------------------


class _Context:
    """What grading reads once per save: settings, Day 0, consent, earlier results."""

    def __init__(self, subject: Subject, codes: set[str]):
        study = (
            type(subject.study)
            .objects.values_list("settings", "settings_version")
            .get(pk=subject.study_id)
        )
        document, self.settings_version = study
        self.rule_settings = rules.settings_for(
            rules.ctcae_lab_assessment, (document or {}).get("safety", {})
        )
        labs = lab_baseline.validate_settings((document or {}).get("safety_labs", {}))
        self.cutoff_day = labs["lab_baseline_cutoff_day"]
        self.day0 = subject.day0
        self.site = subject.site
        self.consent = first_consent_date(subject)
        self.results: dict[str, list[LabResult]] = {code: [] for code in codes}
        for result in (
            LabResult.objects.filter(subject=subject, test_code__in=codes)
            .select_related("panel")
            .order_by("panel__collected_at", "pk")
        ):
            self.results[result.test_code].append(result)

    def local_date(self, moment: dt.datetime) -> dt.date:
        return timezone.localtime(moment).date()


def _q(value: Decimal | None) -> Decimal | None:
    return None if value is None else value.quantize(_PLACES)


def grade_values(
    test: lab_catalogue.LabTest,
    *,
    value: Decimal,
    unit: str,
    lln: Decimal | None,
    uln: Decimal | None,
    collected_at: dt.datetime,
    ctx: _Context,
    exclude_pk: int | None = None,
) -> dict:
    """The derived fields of one result (grade, flag, term, baseline used, settings version)."""
    if lln is None and test.lln is not None:
        lln = _q(test.convert(test.lln, test.unit, unit))
    if uln is None and test.uln is not None:
        uln = _q(test.convert(test.uln, test.unit, unit))
    flag = ""
    if lln is not None or uln is not None:
        flag = LabFlag.NORMAL
        if lln is not None and value < lln:
            flag = LabFlag.LOW
        elif uln is not None and value > uln:
            flag = LabFlag.HIGH
    collected_on = ctx.local_date(collected_at)
    candidates = [
        lab_baseline.Candidate(
            key=r.pk,
            collected_on=ctx.local_date(r.panel.collected_at),
            value=r.value,
            unit=r.unit,
            marked_baseline=r.is_baseline,
        )
        for r in ctx.results.get(test.code, [])
        if r.pk != exclude_pk and r.panel.collected_at < collected_at
    ]
    pre_treatment, chosen = lab_baseline.choose_baseline(
        collected_on, candidates, day0=ctx.day0, cutoff_day=ctx.cutoff_day
    )
    baseline = None
    if chosen is not None:
        baseline = _q(test.convert(Decimal(chosen.value), chosen.unit, unit))
    derived = {
        "lln": lln,
        "uln": uln,
        "flag": flag,
        "ctcae_term": test.ctcae_term or "",
        "grade": None,
        "grade_flags": [],
        "baseline_value": baseline,
        "pre_treatment": pre_treatment,
        "settings_version": ctx.settings_version,
    }
    if test.ctcae_term:
        assessment = rules.ctcae_lab_assessment(
            test.ctcae_term,
            value,
            lln=lln,
            uln=uln,
            baseline=baseline,
            unit=unit,
            **ctx.rule_settings,
        )
        derived["grade"] = assessment.grade
        # A pre-treatment value is itself a baseline candidate: nothing to ask for.
        derived["grade_flags"] = [] if pre_treatment else list(assessment.flags)
    return derived


def _previous_grade(result: LabResult, ctx: _Context) -> int | None:
    earlier = [
        r
        for r in ctx.results.get(result.test_code, [])
        if r.pk != result.pk and r.panel.collected_at < result.panel.collected_at
    ]
    return earlier[-1].grade if earlier else None


# --- Proposals -------------------------------------------------------------------------------


def _sync_proposal(result: LabResult, ctx: _Context, *, actor) -> LabAEProposal | None:
    """Propose an AE for a newly graded abnormality (grade >= 1 where the previous result of the
    same test had none, or a higher grade than the previous result); withdraw a pending one
    the corrected value no longer supports. Values before the first consent propose nothing
    (they are medical history, not AEs)."""
    previous = _previous_grade(result, ctx)
    collected_on = ctx.local_date(result.panel.collected_at)
    wanted = (
        result.grade is not None
        and result.grade >= 1
        and result.grade > (previous or 0)
        and ctx.consent is not None
        and collected_on >= ctx.consent
    )
    existing = LabAEProposal.objects.filter(result=result).first()
    if existing is None:
        if not wanted:
            return None
        return records.create_record(
            LabAEProposal,
            actor=actor,
            study=result.study,
            status=RecordStatus.SUBMITTED,
            values={
                "subject": result.subject,
                "result": result,
                "ctcae_term": result.ctcae_term,
                "grade": result.grade,
                "previous_grade": previous,
            },
            derived=True,
        )
    if (
        existing.decision != ProposalStatus.PENDING
        and existing.decision != ProposalStatus.WITHDRAWN
    ):
        return existing  # a person decided; a correction does not undo their decision
    if wanted:
        values = {"grade": result.grade, "previous_grade": previous}
        values["decision"] = ProposalStatus.PENDING
    else:
        values = {"decision": ProposalStatus.WITHDRAWN}
    return records.update_record(
        existing,
        actor=actor,
        values=values,
        expected_version=UNREAD,  # derived, under the subject lock
        reason="lab value corrected",
        derived=True,
    )


# --- Saving a collection ---------------------------------------------------------------------


def _save_result(panel, clean, existing, ctx, *, actor, reason, import_mode):
    test = lab_catalogue.TESTS[clean["test_code"]]
    lln = clean["lln"]
    uln = clean["uln"]
    derived = grade_values(
        test,
        value=clean["value"],
        unit=clean["unit"],
        lln=lln,
        uln=uln,
        collected_at=panel.collected_at,
        ctx=ctx,
        exclude_pk=existing.pk if existing else None,
    )
    values = {
        "value": clean["value"],
        "unit": clean["unit"],
        "is_baseline": clean["is_baseline"],
        **derived,
    }
    if existing is None:
        return records.create_record(
            LabResult,
            actor=actor,
            study=panel.study,
            status=RecordStatus.SUBMITTED,
            values={**values, "panel": panel, "subject": panel.subject, "test_code": test.code},
            reason=reason,
        )
    version = UNREAD if import_mode else clean.get("version")
    return records.update_record(
        existing, actor=actor, values=values, expected_version=version, reason=reason
    )


def _regrade_later(subject, codes: set[str], ctx: _Context, *, actor, skip: set[int]) -> list:
    """Re-grade the subject's other results of these tests (a baseline may have changed)."""
    changed = []
    for code in codes:
        test = lab_catalogue.TESTS[code]
        for result in list(ctx.results.get(code, [])):
            if result.pk in skip:
                continue
            derived = grade_values(
                test,
                value=result.value,
                unit=result.unit,
                lln=result.lln,
                uln=result.uln,
                collected_at=result.panel.collected_at,
                ctx=ctx,
                exclude_pk=result.pk,
            )
            keep = {k: v for k, v in derived.items() if k not in ("lln", "uln")}
            if all(getattr(result, k) == v for k, v in keep.items()):
                continue  # nothing moved: no lock, no write (saves a query per result)
            saved = records.update_record(
                result,
                actor=actor,
                values=keep,
                expected_version=UNREAD,  # derived, under the subject lock
                reason="re-graded: the baseline changed",
                derived=True,
            )
            if saved.version != result.version:
                saved.panel = result.panel
                _replace(ctx, saved)
                changed.append(saved)
    return changed


def _replace(ctx: _Context, result: LabResult) -> None:
    rows = ctx.results.setdefault(result.test_code, [])
    rows[:] = [r for r in rows if r.pk != result.pk] + [result]
    rows.sort(key=lambda r: (r.panel.collected_at, r.pk))


def _check_accession(subject: Subject, values: Mapping, record: LabPanel | None) -> None:
    """One collection per accession number in a study (the import matches on it)."""
    number = (values.get("accession_number") or "").strip()
    if not number:
        return
    other = LabPanel.objects.filter(study_id=subject.study_id, accession_number=number)
    if record is not None:
        other = other.exclude(pk=record.pk)
    found = other.select_related("subject").first()
    if found is not None:
        raise field_error(
            "accession_number",
            ACCESSION_TAKEN % {"number": number, "panel": str(found)},
            "unique",
        )


def save_lab_panel(
    subject: Subject,
    *,
    actor,
    values: Mapping,
    results: Sequence[Mapping],
    record: LabPanel | None = None,
    expected_version: ExpectedVersion = None,
    reason: str = "",
    import_mode: bool = False,
) -> LabPanel:
    """Add a collection (``record=None``) or change one, with its results graded on save.

    ``values``: collected_at, specimen, accession_number, lab_name. ``results``: rows of
    test_code, value, unit, lln, uln (empty = the catalogue's range, converted), is_baseline and,
    for an existing result, the ``version`` read. A row missing from ``results`` is left as it
    is. ``import_mode``: a CSV import writes without a read version (``UNREAD``) and its reason
    names the file. Bad rows raise ``LabRowsInvalid`` before anything is written; every other
    refusal rolls the whole collection back.
    """
    cleaned, problems = check_rows(results)
    if problems:
        raise LabRowsInvalid(problems)
    with transaction.atomic():
        subject = (
            Subject.objects.select_for_update().select_related("site", "study").get(pk=subject.pk)
        )  # one writer per subject
        _check_accession(subject, values, record)
        if record is None:
            require_data_entry(subject)
            panel = records.create_record(
                LabPanel,
                actor=actor,
                study=subject.study,
                status=RecordStatus.SUBMITTED,
                values={**values, "subject": subject},
                reason=reason,
            )
        else:
            existing = LabPanel.objects.get(pk=record.pk)
            if existing.subject_id != subject.pk:
                raise field_error("subject", WRONG_PANEL, "wrong_subject")
            panel = records.update_record(
                existing,
                actor=actor,
                values=values,
                expected_version=UNREAD if import_mode else expected_version,
                reason=reason,
            )
        panel.subject = subject
        codes = {c["test_code"] for c in cleaned}
        ctx = _Context(subject, codes)
        current = {r.test_code: r for r in LabResult.objects.filter(panel=panel)}
        saved: list[LabResult] = []
        row_errors: dict[int, dict] = {}
        for index, clean in enumerate(cleaned):
            try:
                result = _save_result(
                    panel,
                    clean,
                    current.get(clean["test_code"]),
                    ctx,
                    actor=actor,
                    reason=reason,
                    import_mode=import_mode,
                )
            except ValidationError as exc:
                row_errors[index] = (
                    exc.message_dict if hasattr(exc, "error_dict") else {"value": exc.messages}
                )
                continue
            result.panel = panel
            _replace(ctx, result)
            saved.append(result)
        if row_errors:
            raise LabRowsInvalid(
                {
                    i: {f: [ValidationError(m, code="invalid") for m in ms] for f, ms in e.items()}
                    for i, e in row_errors.items()
                }
            )
        changed = _regrade_later(subject, codes, ctx, actor=actor, skip={r.pk for r in saved})
        for result in sorted([*saved, *changed], key=lambda r: (r.panel.collected_at, r.pk)):
            _sync_proposal(result, ctx, actor=actor)
        if subject.day0 is not None and codes & COUNT_RECOVERY_TESTS:
            # Counts decide hematologic DLT (count recovery): the evaluation follows them.
            refresh_dlt_evaluation(subject, actor=actor, reason="Blood counts entered")
    return panel


def regrade_labs(subject: Subject, *, actor, reason: str = "Day 0 set") -> int:
    """Re-grade every lab result of a subject (after Day 0 moves the baseline cut-off).

    Dosing's infusion service calls this after ``enrollment.services.anchor_schedule``; it
    returns how many results changed.
    """
    with transaction.atomic():
        subject = (
            Subject.objects.select_for_update().select_related("site", "study").get(pk=subject.pk)
        )  # one writer per subject
        codes = set(LabResult.objects.filter(subject=subject).values_list("test_code", flat=True))
        ctx = _Context(subject, codes)
        changed = _regrade_later(subject, codes, ctx, actor=actor, skip=set())
        for result in changed:
            _sync_proposal(result, ctx, actor=actor)
    return len(changed)


# --- Decisions on proposals ------------------------------------------------------------------


def ctcae_term_row(name: str) -> CTCAETerm:
    """The CTCAETerm of a rules term name, created from ``safety.rules.CTCAE_TERMS`` if missing
    (the complete term list, shipped separately, uses the same names)."""
    spec = rules.CTCAE_TERMS[name]
    category = (
        DLTCategory.HEMATOLOGIC if spec.direction == "decreased" else DLTCategory.NON_HEMATOLOGIC
    )
    term, _created = CTCAETerm.objects.get_or_create(
        term=spec.term,
        defaults={
            "soc": spec.soc,
            "meddra_code": spec.meddra_llt_code,
            "code_to_verify": spec.code_to_verify,
            "dlt_category": category,
            "source": "safety.rules",
        },
    )
    return term


def _decided(proposal: LabAEProposal) -> None:
    if proposal.decision != ProposalStatus.PENDING:
        raise field_error(
            "decision",
            ALREADY_DECIDED % {"decision": proposal.get_decision_display()},
            "already_decided",
        )


def confirm_lab_proposal(
    proposal: LabAEProposal, *, actor, expected_version: ExpectedVersion
) -> AdverseEvent:
    """Confirm a proposed AE: an AE (source lab) with the CTCAE term and grade.

    An ongoing lab AE of the same term (confirmed earlier) takes the new grade as a step of its
    grade history; otherwise a new AE is kept, keyed by this proposal.
    """
    with transaction.atomic():
        subject = Subject.objects.select_for_update().get(pk=proposal.subject_id)  # one writer
        current = LabAEProposal.objects.select_related("result__panel").get(pk=proposal.pk)
        records._check_version(current, expected_version)
        _decided(current)
        require_data_entry(subject)
        term = ctcae_term_row(current.ctcae_term)
        result = current.result
        day = timezone.localtime(result.panel.collected_at).date()
        ongoing = (
            AdverseEvent.objects.filter(
                subject=subject, source=AESource.LAB, term=term, ongoing=True
            )
            .order_by("-onset_date")
            .first()
        )
        reason = f"lab proposal {current.pk} confirmed"
        if ongoing is not None:
            event = save_derived_adverse_event(
                subject,
                actor=actor,
                source=AESource.LAB,
                source_key=ongoing.source_key,
                values={"grade": current.grade, "grade_date": max(day, ongoing.onset_date)},
                reason=reason,
            )
        else:
            test = result.test
            event = save_derived_adverse_event(
                subject,
                actor=actor,
                source=AESource.LAB,
                source_key=f"lab-proposal-{current.pk}",
                values={
                    "term": term,
                    "verbatim_term": f"{test.label} {result.value.normalize():f} {result.unit}",
                    "onset_date": day,
                    "grade": current.grade,
                    "ongoing": True,
                },
                reason=reason,
            )
        records.update_record(
            current,
            actor=actor,
            values={
                "decision": ProposalStatus.CONFIRMED,
                "decided_by": actor,
                "decided_at": clock.now(),
                "adverse_event": event,
            },
            expected_version=current.version,
            reason="Confirmed as an adverse event",
        )
    return event


def dismiss_lab_proposal(
    proposal: LabAEProposal, *, actor, expected_version: ExpectedVersion, reason: str
) -> LabAEProposal:
    """Dismiss a proposed AE with the reason (e.g. 'expected cytopenia already reported')."""
    if not (reason or "").strip():
        raise field_error("dismiss_reason", DISMISS_REASON_REQUIRED, "required")
    with transaction.atomic():
        Subject.objects.select_for_update().get(pk=proposal.subject_id)  # one writer per subject
        current = LabAEProposal.objects.get(pk=proposal.pk)
        records._check_version(current, expected_version)
        _decided(current)
        return records.update_record(
            current,
            actor=actor,
            values={
                "decision": ProposalStatus.DISMISSED,
                "decided_by": actor,
                "decided_at": clock.now(),
                "dismiss_reason": reason.strip(),
            },
            expected_version=current.version,
            reason=reason.strip(),
        )


def grade_preview(subject: Subject, row: Mapping, *, collected_at: dt.datetime | None) -> dict:
    """The grade and flag a row would get if saved now (writes nothing; the form's as-typed
    display). The same checks and the same ``grade_values`` as ``save_lab_panel``."""
    clean, problems = check_row(row)
    if problems:
        return {
            "grade": None,
            "flag": "",
            "errors": {name: [str(e.message) for e in errs] for name, errs in problems.items()},
        }
    test = lab_catalogue.TESTS[clean["test_code"]]
    ctx = _Context(subject, {test.code})
    derived = grade_values(
        test,
        value=clean["value"],
        unit=clean["unit"],
        lln=clean["lln"],
        uln=clean["uln"],
        collected_at=collected_at or clock.now(),
        ctx=ctx,
    )
    return {
        "grade": derived["grade"],
        "flag": derived["flag"],
        "ctcae_term": derived["ctcae_term"],
        "baseline": None if derived["baseline_value"] is None else str(derived["baseline_value"]),
        "baseline_not_recorded": bool(derived["grade_flags"]),
        "errors": {},
    }
