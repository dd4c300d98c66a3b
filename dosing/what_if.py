"""The what-if panel: the engine's recommendation under hypothetical outcomes of pending subjects.

Why: before a safety review the investigator asks "if TJ-014 has a DLT, where do we go?". The
answer is the same engine (``dosing.rules`` through ``dosing.escalation.compute_state``) run on
the same inputs the ``escalation`` recompute hook reads (``escalation.escalation_inputs``: the
active assignments, infusions and stored DLT outcomes, 3 queries), with the outcome of each
chosen *pending* subject — infused and still inside the DLT window, or assigned and not yet
infused (``SubjectOutcome.status == "pending"``) — replaced by the hypothesis. Nothing is
written: no audit row, no escalation state, no data version (docs/rules/escalation.md, issue 12
"What a user does").

Hypotheses (RULES.md §4; CONTRACT.md ``SubjectOutcome``): *DLT* = a DLT in the window (the
related grade at least 3, the lowest DLT grade, as ``parse_outcomes`` writes T); *no DLT* =
the window completed without one (the related grade already recorded is kept, so a grade-2
toxicity still triggers the ATD phase change); *not evaluable* = left the window early without a
DLT (replaced when ``replace_non_evaluable``).

Subjects are named as the dashboard names them (``escalation_selectors``): the subject ID for
readers of the subject's site, "Subject n" (their position in enrollment order) for everyone
else — so a sponsor's what-if never reveals an ID.
"""

from __future__ import annotations

import itertools
from collections.abc import Mapping
from dataclasses import dataclass, replace

from django.core.exceptions import ValidationError
from django.utils.translation import gettext_lazy as _

from dosing import escalation, rules
from dosing.design import study_design
from trialsite.studies import permissions
from trialsite.studies.models import Study
from trialsite.studies.roles import Action

DLT, NO_DLT, NOT_EVALUABLE = "dlt", "no_dlt", "not_evaluable"
#: The hypotheses a pending subject may be given, as the API spells them, with their labels.
HYPOTHESES = {
    DLT: _("has a DLT"),
    NO_DLT: _("completes the window without a DLT"),
    NOT_EVALUABLE: _("is not evaluable"),
}
#: The "every combination" table is shown up to this many pending subjects (2^n rows).
MAX_COMBINATION_SUBJECTS = 3
#: How many of the hypothetical trace's last steps the panel shows.
LAST_STEPS = 3

UNKNOWN_SUBJECT = _(
    "%(key)s is not an assigned subject of this study (give the subject as the dashboard shows it)."
)
NOT_PENDING = _(
    "%(key)s is not pending (%(status)s): only a subject still inside the DLT window or not yet "
    "infused can be given a hypothetical outcome."
)
BAD_OUTCOME = _("%(value)s is not an outcome: choose dlt, no_dlt or not_evaluable.")


@dataclass(frozen=True)
class PendingSubject:
    """A subject whose outcome is still to come, as the reader may name them."""

    number: int  # position in enrollment order (1-based), the trace's subject number
    label: str
    subject_id: int | None  # None for readers who do not see the subject's ID
    dose_level: int
    infused_on: str | None
    days_left: int | None


@dataclass(frozen=True)
class Answer:
    """The engine's answer under one set of hypotheses."""

    hypotheses: tuple[tuple[PendingSubject, str], ...]  # (subject, DLT / NO_DLT / NOT_EVALUABLE)
    sentence: str
    action: str
    dose_level: int | None
    open_slots: int
    phase: str
    code: str
    reason: str
    last_steps: tuple[dict, ...]

    @property
    def lead(self) -> str:
        """ "If TJ-014 has a DLT and TJ-015 is not evaluable" ("As things stand" without any)."""
        if not self.hypotheses:
            return str(_("As things stand"))
        parts = [f"{s.label} {HYPOTHESES[choice]}" for s, choice in self.hypotheses]
        return str(_("If %(what)s")) % {"what": str(_(" and ")).join(parts)}

    def as_dict(self) -> dict:
        return {
            "outcomes": {s.label: choice for s, choice in self.hypotheses},
            "sentence": self.sentence,
            "summary": f"{self.lead}: {self.sentence}",
            "action": self.action,
            "dose_level": self.dose_level,
            "open_slots": self.open_slots,
            "phase": self.phase,
            "code": self.code,
            "reason": self.reason,
            "last_steps": list(self.last_steps),
        }


@dataclass(frozen=True)
class Panel:
    """What the what-if panel shows: the pending subjects, the answer, every combination."""

    data_version: int
    pending: tuple[PendingSubject, ...]
    answer: Answer | None  # under the hypotheses given (none: as things stand); None on error
    combinations: tuple[Answer, ...]
    error: str = ""  # the design is not configured


@dataclass(frozen=True)
class Inputs:
    data_version: int  # the study's data version when the inputs were read
    rows: list
    pending: tuple[PendingSubject, ...]
    keys: dict[str, int]  # every name the reader may use for a subject -> its row index


def _inputs(study, user) -> Inputs:
    """The hook's inputs (its own selector) and the names the reader may use."""
    data_version = Study.objects.filter(pk=study.pk).values_list("data_version", flat=True).get()
    rows = escalation.escalation_inputs(study)
    allowed = permissions.site_ids(user, Action.VIEW_CLINICAL, study=study)
    pending, keys = [], {}
    for index, row in enumerate(rows):
        number = index + 1
        shown = allowed is None or row.site_id in allowed
        label = row.subject if shown else f"Subject {number}"
        keys[label.casefold()] = index
        if shown:
            keys[str(row.subject_id)] = index
        if row.status == "pending":
            pending.append(
                PendingSubject(
                    number=number,
                    label=label,
                    subject_id=row.subject_id if shown else None,
                    dose_level=row.dose_level,
                    infused_on=row.infused_on,
                    days_left=row.days_left,
                )
            )
    return Inputs(data_version=data_version, rows=rows, pending=tuple(pending), keys=keys)


def hypothetical(outcome: rules.SubjectOutcome, choice: str) -> rules.SubjectOutcome:
    """``outcome`` with its window's end supposed (the module docstring says how)."""
    if choice == DLT:
        return replace(outcome, dlt=True, max_related_grade=max(3, outcome.max_related_grade))
    if choice == NO_DLT:
        return replace(outcome, dlt=False, evaluable=True)
    if choice == NOT_EVALUABLE:
        return replace(outcome, dlt=False, evaluable=False)
    raise ValueError(f"Unknown hypothesis {choice!r}")


def _answer(study, inputs: Inputs, chosen: dict[int, str]) -> Answer:
    rows = list(inputs.rows)
    for index, choice in chosen.items():
        outcome = hypothetical(rows[index].outcome, choice)
        rows[index] = replace(rows[index], outcome=outcome, status=outcome.status)
    values = escalation.compute_state(study, rows)
    by_number = {p.number: p for p in inputs.pending}
    hypotheses = tuple((by_number[index + 1], choice) for index, choice in sorted(chosen.items()))
    return Answer(
        hypotheses=hypotheses,
        sentence=values["sentence"],
        action=values["action"],
        dose_level=values["dose_level"],
        open_slots=values["open_slots"],
        phase=values["phase"],
        code=values["code"],
        reason=values["reason"],
        last_steps=tuple(values["trace"][-LAST_STEPS:]),
    )


def _resolve(inputs: Inputs, outcomes: Mapping[str, str]) -> dict[int, str]:
    """Row index -> hypothesis, or every bad key's field error (``outcomes.<key>``)."""
    chosen, errors = {}, {}
    pending = {p.number - 1 for p in inputs.pending}
    for key, value in outcomes.items():
        field = f"outcomes.{key}"
        index = inputs.keys.get(str(key).strip().casefold())
        if index is None:
            errors[field] = ValidationError(UNKNOWN_SUBJECT % {"key": key}, code="unknown_subject")
            continue
        if index not in pending:
            status = escalation_status_label(inputs.rows[index].status)
            errors[field] = ValidationError(
                NOT_PENDING % {"key": key, "status": status}, code="not_pending"
            )
            continue
        if value not in HYPOTHESES:
            errors[field] = ValidationError(BAD_OUTCOME % {"value": value}, code="bad_outcome")
            continue
        chosen[index] = value
    if errors:
        raise ValidationError(errors)
    return chosen


def escalation_status_label(status: str) -> str:
    return {"dlt": "DLT", "no_dlt": "completed without DLT", "not_evaluable": "not evaluable"}.get(
        status, status
    )


def load(study, user) -> Inputs:
    """The hook's inputs and the names ``user`` may give the subjects; 5 queries."""
    return _inputs(study, user)


def what_if(study, user, outcomes: Mapping[str, str] | None = None, *, inputs=None) -> Panel:
    """The panel for ``user``: pending subjects, the answer under ``outcomes``, every
    combination (DLT / no DLT of each pending subject, up to ``MAX_COMBINATION_SUBJECTS``).

    ``outcomes``: {subject as the reader names it (label, or the subject's ID for readers of
    its site): "dlt" | "no_dlt" | "not_evaluable"}; a bad subject or outcome raises
    ``ValidationError`` keyed ``outcomes.<key>`` (codes ``unknown_subject``, ``not_pending``,
    ``bad_outcome``). ``inputs``: what ``load`` returned, when the caller needed the pending
    subjects first (the page's form). Read-only; 5 queries whatever the number of subjects.
    """
    inputs = inputs or _inputs(study, user)
    chosen = _resolve(inputs, outcomes or {})
    design = study_design(study)
    if design.design is None:
        error = design.error or str(_("The escalation design is not configured."))
        return Panel(inputs.data_version, inputs.pending, None, (), error=error)
    answer = _answer(study, inputs, chosen)
    combinations = ()
    if 0 < len(inputs.pending) <= MAX_COMBINATION_SUBJECTS:
        indexes = [p.number - 1 for p in inputs.pending]
        combinations = tuple(
            _answer(study, inputs, dict(zip(indexes, choices, strict=True)))
            for choices in itertools.product((DLT, NO_DLT), repeat=len(indexes))
        )
    return Panel(inputs.data_version, inputs.pending, answer, combinations)
