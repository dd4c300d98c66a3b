"""The study's escalation design as configured, and its operating characteristics (issue #12).

Selector and service of the design page (``dosing/design_views.py``, docs/rules/escalation.md
"The design page"). The design comes only from the study settings: the ``dose_levels`` section
(levels and CAR-T cells/kg) and the ``dosing`` section, checked by ``dosing.rules.
validate_settings`` (the function the engine's settings go through everywhere) and built into
the engine's ``EscalationDesign``. The numbers come only from ``dosing.rules.
operating_characteristics`` (Storer 1989): this module chooses where it runs and lays its
answer out as a table, a chart and a CSV; it computes no statistic of its own.

Where it runs: the exact enumeration of a small design answers within the request
(``EXACT_ON_PAGE_MAX_SIZE``, measured in docs/rules/escalation.md); a larger exact
enumeration and every simulation run as a *design run*, a job kept in the cache
(``JOB_TTL_SECONDS``) and computed by ``dosing.design_tasks.run_design_job``, whose progress the
page polls. A run is not clinical data: no subject is in it, only the settings it was started
with (and their version) and the probabilities the user typed, so it lives in the cache, not in
an audited table.
"""

from __future__ import annotations

import dataclasses
import math
import uuid
from collections.abc import Mapping
from dataclasses import dataclass

from django.core.cache import cache
from django.utils.translation import gettext_lazy as _

from dosing import rules
from trialsite import clock
from trialsite.charts import Chart, Series

#: Exact enumeration in the request only while dose levels + ATD levels <= this (measured in
#: docs/rules/escalation.md: the trial paths grow with the levels and faster with ATD levels;
#: 5 levels plain 3+3 or 4 with 2 ATD take about a second, 5 with 2 ATD several seconds).
EXACT_ON_PAGE_MAX_SIZE = 6
#: Simulation defaults and bounds shown on the form (the seed is the engine's and the
#: ``manage.py escalation --oc-seed`` default, so the command reproduces the page).
DEFAULT_TRIALS = 10_000
MIN_TRIALS = 100
MAX_TRIALS = 100_000
DEFAULT_SEED = 0
MAX_SEED = 2**32 - 1
#: A finished run stays readable (page, CSV) for a day.
JOB_TTL_SECONDS = 24 * 60 * 60

QUEUED, RUNNING, DONE, FAILED = "queued", "running", "done", "failed"


@dataclass(frozen=True)
class DoseLevel:
    level: int
    label: str
    dose_cells_per_kg: float
    atd: bool

    @property
    def dose_text(self) -> str:
        return cells_per_kg_text(self.dose_cells_per_kg)


@dataclass(frozen=True)
class SettingRow:
    name: str
    value: object
    help: str
    is_default: bool


@dataclass(frozen=True)
class StudyDesign:
    """The design a study's settings configure (``settings_version`` of the study)."""

    study_id: int
    settings_version: int
    levels: tuple[DoseLevel, ...]
    settings: Mapping[str, object]
    design: rules.EscalationDesign | None
    error: str = ""

    @property
    def num_levels(self) -> int:
        return len(self.levels)

    @property
    def atd_levels(self) -> tuple[DoseLevel, ...]:
        return tuple(level for level in self.levels if level.atd)

    @property
    def settings_rows(self) -> list[SettingRow]:
        defaults, help_text = rules.SETTINGS_DEFAULTS, rules.SETTINGS_HELP
        return [
            SettingRow(name, value, help_text[name], value == defaults[name])
            for name, value in self.settings.items()
        ]

    @property
    def oc_refusal(self) -> str:
        """Why the operating characteristics cannot be computed for this design ("" if they can)."""
        if self.design is None:
            return str(_("The study's dosing settings do not build a design: %(error)s")) % {
                "error": self.error
            }
        if self.design.dose_level_minus1:
            return str(
                _(
                    "This design has a pre-specified DL-1, which the operating characteristics "
                    "do not model (there is no true DLT probability for DL-1). Set "
                    "dose_level_minus1 off in a copy of the design to study the other levels."
                )
            )
        return ""

    @property
    def exact_on_page(self) -> bool:
        """Small enough for the exact enumeration within the request."""
        return self.num_levels + len(self.atd_levels) <= EXACT_ON_PAGE_MAX_SIZE

    @property
    def summary(self) -> list[str]:
        return describe(self) if self.design is not None else []


@dataclass(frozen=True)
class Inputs:
    """What the user asked: the true DLT (and related grade 2) probability per level, the method."""

    p_dlt: tuple[float, ...]
    p_grade2: tuple[float, ...]
    method: str = "exact"
    n_trials: int = DEFAULT_TRIALS
    seed: int = DEFAULT_SEED


def cells_per_kg_text(value: float) -> str:
    """0.5e6 -> "0.5 × 10⁶", 2e6 -> "2 × 10⁶", 3e7 -> "30 × 10⁶" (as CAR-T protocols write doses).

    The exponent is a multiple of 3, the higher one while the number stays at least 0.1.
    """
    if value <= 0 or not math.isfinite(value):
        return str(value)
    exponent = 3 * math.ceil(math.floor(math.log10(value)) / 3)
    if value / 10**exponent < 0.1:
        exponent -= 3
    mantissa = round(value / 10**exponent, 6)
    superscript = str(exponent).translate(str.maketrans("-0123456789", "⁻⁰¹²³⁴⁵⁶⁷⁸⁹"))
    return f"{mantissa:g} × 10{superscript}"


def study_design(study) -> StudyDesign:
    """The design of the study's current settings (no query: the settings are on the row)."""
    document = study.settings or {}
    raw_levels = document.get("dose_levels") or []
    atd_count = 0
    settings: dict[str, object] = dict(rules.SETTINGS_DEFAULTS)
    design = None
    error = ""
    try:
        settings = rules.validate_settings(document.get("dosing", {}), num_levels=len(raw_levels))
        design = rules.EscalationDesign(num_levels=len(raw_levels), **settings)
        atd_count = design.atd_levels
    except ValueError as exc:  # SettingsError is a ValueError; stored settings were checked
        error = str(exc)
    levels = tuple(
        DoseLevel(
            level=int(row["level"]),
            label=str(row["label"]),
            dose_cells_per_kg=float(row["dose_cells_per_kg"]),
            atd=int(row["level"]) <= atd_count,
        )
        for row in raw_levels
    )
    return StudyDesign(
        study_id=study.pk,
        settings_version=study.settings_version,
        levels=levels,
        settings=settings,
        design=design,
        error=error,
    )


def describe(sd: StudyDesign) -> list[str]:
    """The design in words, one sentence per rule, every value from the settings (RULES.md §4)."""
    d = sd.design
    assert d is not None
    first, last = sd.levels[0], sd.levels[-1]
    out = [
        str(_("%(n)s dose levels, %(first)s (%(low)s CAR-T cells/kg) to %(last)s (%(high)s)."))
        % {
            "n": sd.num_levels,
            "first": first.label,
            "low": first.dose_text,
            "last": last.label,
            "high": last.dose_text,
        }
    ]
    if d.atd_levels:
        atd = sd.atd_levels
        span = atd[0].label if len(atd) == 1 else f"{atd[0].label}–{atd[-1].label}"
        trigger = {
            "dlt_or_related_grade2": _(
                "the first DLT or CAR-T-related grade ≥2 toxicity in the DLT window"
            ),
            "dlt_or_second_grade2": _(
                "the first DLT or the second subject with a related grade ≥2 toxicity (Simon 1997)"
            ),
        }[d.atd_trigger]
        out.append(
            str(
                _(
                    "Accelerated titration at %(span)s: one subject per level, escalating until "
                    "%(trigger)s; from the trigger on the trial is 3+3."
                )
            )
            % {"span": span, "trigger": trigger}
        )
        out.append(
            str(
                _("On a trigger the ATD subject is the first of the level's cohort (2 more).")
                if d.atd_subject_counts
                else _("On a trigger a full cohort of 3 is enrolled at the level.")
            )
        )
        if d.atd_levels == d.num_levels:
            out.append(str(_("Without a trigger the top level becomes a 3+3 cohort.")))
        else:
            nxt = sd.levels[d.atd_levels]
            out.append(
                str(_("Without a trigger the 3+3 starts with a cohort of 3 at %(level)s."))
                % {"level": nxt.label}
            )
    else:
        out.append(str(_("Plain 3+3 from %(level)s, cohorts of 3.")) % {"level": first.label})
    out.append(
        str(
            _(
                "MTD: the highest level with at most %(k)s DLT(s) in 6 evaluable subjects; 2 DLTs "
                "in a level's first 3 subjects, or more than %(k)s in 6, exceed it (Korn 1994)."
            )
        )
        % {"k": d.mtd_max_dlt_of_6}
    )
    out.append(
        str(
            _("At the top dose 0/3 leads to 3 more; it is tolerated with at most 1 DLT in 6.")
            if d.six_at_top
            else _("At the top dose 0/3 stops the trial: top dose tolerated with 3 subjects.")
        )
    )
    out.append(
        str(
            _("De-escalating to a level that holds 0/3 treats 3 more there (the MTD needs 6).")
            if d.deescalate_to_six
            else _("De-escalating to a level that holds 0/3 stops: it is the MTD with 3.")
        )
    )
    if d.dose_level_minus1:
        out.append(str(_("DL-1 is pre-specified below DL1 (de-escalation only).")))
    out.append(
        str(
            _("Subjects who leave the DLT window early without a DLT are replaced.")
            if d.replace_non_evaluable
            else _("Subjects who leave the DLT window early without a DLT count as without DLT.")
        )
    )
    out.append(
        str(
            _(
                "Sentinel: the first subject of each level is observed %(days)s day(s) before "
                "the next is dosed."
            )
            % {"days": d.sentinel_days}
            if d.sentinel_days
            else _("No sentinel observation (sentinel_days 0).")
        )
    )
    return out


# --------------------------------------------------------------------------------------------
# Operating characteristics
# --------------------------------------------------------------------------------------------


def compute(design: rules.EscalationDesign, inputs: Inputs, *, progress=None):
    """``dosing.rules.operating_characteristics`` for the inputs (ValueError on bad input)."""
    return rules.operating_characteristics(
        design,
        list(inputs.p_dlt),
        p_related_grade2=list(inputs.p_grade2),
        method=inputs.method,
        n_trials=inputs.n_trials,
        seed=inputs.seed,
        progress=progress,
    )


@dataclass(frozen=True)
class ResultRow:
    label: str
    dose_text: str
    p_dlt: float | None
    p_grade2: float | None
    p_select: float
    p_select_se: float | None
    subjects: float | None
    subjects_se: float | None
    dlts: float | None
    dlts_se: float | None


@dataclass(frozen=True)
class ResultTable:
    """The operating characteristics as the page, the chart and the CSV show them."""

    method: str
    n_trials: int | None
    seed: int | None
    paths: int
    rows: tuple[ResultRow, ...]  # one per level
    no_mtd: ResultRow
    total_subjects: float
    total_subjects_se: float | None
    settings_version: int

    @property
    def has_grade2(self) -> bool:
        """Whether a related grade-2 probability was typed (the table then shows it)."""
        return any(row.p_grade2 for row in self.rows)

    @property
    def simulated(self) -> bool:
        return self.method == "simulation"

    def csv_rows(self) -> list[list[object]]:
        header = [
            "dose_level",
            "cells_per_kg",
            "true_p_dlt",
            "p_related_grade2",
            "p_selected_as_mtd",
            "p_selected_se",
            "expected_subjects",
            "expected_subjects_se",
            "expected_dlts",
            "expected_dlts_se",
        ]
        body = [
            [
                r.label,
                r.dose_text,
                r.p_dlt,
                r.p_grade2,
                r.p_select,
                r.p_select_se,
                r.subjects,
                r.subjects_se,
                r.dlts,
                r.dlts_se,
            ]
            for r in (*self.rows, self.no_mtd)
        ]
        total = ["total", "", "", "", "", "", self.total_subjects, self.total_subjects_se, "", ""]
        method = f"{self.method}" + (
            f" ({self.n_trials} trials, seed {self.seed})" if self.simulated else ""
        )
        note = [f"# method: {method}; settings version {self.settings_version}"]
        return [header, *body, total, note]

    def chart(self, *, csv_url: str = "") -> Chart:
        return Chart(
            chart_id="oc-p-select",
            title=str(_("Probability that each dose level is selected as the MTD")),
            labels=[r.label for r in (*self.rows, self.no_mtd)],
            series=[
                Series(
                    str(_("P(selected)")),
                    [round(r.p_select, 4) for r in self.rows] + [round(self.no_mtd.p_select, 4)],
                )
            ],
            x_title=str(_("Dose level")),
            y_title=str(_("Probability")),
            csv_url=csv_url,
        )


def result_table(levels, inputs: Inputs, result, *, settings_version: int) -> ResultTable:
    """Lay ``operating_characteristics``' answer out by level (no arithmetic beyond rounding)."""
    se = result.standard_errors or {}

    def err(key: str, level) -> float | None:
        return se[key][level] if se else None

    rows = tuple(
        ResultRow(
            label=level.label,
            dose_text=level.dose_text,
            p_dlt=inputs.p_dlt[index],
            p_grade2=inputs.p_grade2[index],
            p_select=result.p_select[level.level],
            p_select_se=err("p_select", level.level),
            subjects=result.expected_subjects[level.level],
            subjects_se=err("expected_subjects", level.level),
            dlts=result.expected_dlts[level.level],
            dlts_se=err("expected_dlts", level.level),
        )
        for index, level in enumerate(levels)
    )
    no_mtd = ResultRow(
        label=str(_("No MTD (stopped)")),
        dose_text="",
        p_dlt=None,
        p_grade2=None,
        p_select=result.p_select[None],
        p_select_se=err("p_select", None),
        subjects=None,
        subjects_se=None,
        dlts=None,
        dlts_se=None,
    )
    return ResultTable(
        method=result.method,
        n_trials=result.n_trials,
        seed=inputs.seed if result.method == "simulation" else None,
        paths=result.paths,
        rows=rows,
        no_mtd=no_mtd,
        total_subjects=result.expected_total_subjects,
        total_subjects_se=se.get("expected_total_subjects") if se else None,
        settings_version=settings_version,
    )


def exact_table(sd: StudyDesign, inputs: Inputs) -> ResultTable:
    """The exact operating characteristics, computed now (small designs: ``exact_on_page``)."""
    assert sd.design is not None
    result = compute(sd.design, dataclasses.replace(inputs, method="exact"))
    return result_table(sd.levels, inputs, result, settings_version=sd.settings_version)


# --------------------------------------------------------------------------------------------
# Design runs: a computation in the worker, its progress and its answer in the cache
# --------------------------------------------------------------------------------------------


def _key(job_id: str) -> str:
    return f"dosing:design-run:{job_id}"


def create_run(sd: StudyDesign, *, actor, inputs: Inputs) -> str:
    """Keep a new run (queued) and return its id; the caller queues ``run_design_job``.

    The run keeps the design it was asked about, so a settings change while it runs does not
    change what it computes; the page says which settings version that was.
    """
    if sd.oc_refusal:
        raise ValueError(sd.oc_refusal)
    job_id = uuid.uuid4().hex
    job = {
        "id": job_id,
        "study_id": sd.study_id,
        "settings_version": sd.settings_version,
        "design": dataclasses.asdict(sd.design),
        "levels": [dataclasses.asdict(level) for level in sd.levels],
        "inputs": dataclasses.asdict(inputs),
        "started_by": actor.get_full_name() or actor.get_username(),
        "created_at": clock.now().isoformat(),
        "status": QUEUED,
        "done": 0,
        "total": inputs.n_trials if inputs.method == "simulation" else None,
        "table": None,
        "error": "",
    }
    cache.set(_key(job_id), job, JOB_TTL_SECONDS)
    return job_id


def get_run(job_id: str, *, study) -> dict | None:
    """The run if it exists and belongs to the study (else None: the page answers 404)."""
    job = cache.get(_key(str(job_id)))
    if job is None or job.get("study_id") != study.pk:
        return None
    return job


def run(job_id: str) -> dict:
    """Compute a queued run, writing its progress as it goes; a small summary back.

    Idempotent: a finished run or one that has expired is left alone. A run that fails on its
    input is marked failed with the engine's message; any other error marks it failed and is
    raised for the worker log.
    """
    key = _key(job_id)
    job = cache.get(key)
    if job is None:
        return {"id": job_id, "status": "missing"}
    if job["status"] in (DONE, FAILED):
        return {"id": job_id, "status": job["status"]}
    job = {**job, "status": RUNNING}
    cache.set(key, job, JOB_TTL_SECONDS)
    inputs = Inputs(**{**job["inputs"], "p_dlt": tuple(job["inputs"]["p_dlt"]),
                       "p_grade2": tuple(job["inputs"]["p_grade2"])})  # fmt: skip
    levels = tuple(DoseLevel(**level) for level in job["levels"])

    def progress(done: int, total: int) -> None:
        cache.set(key, {**job, "done": done, "total": total}, JOB_TTL_SECONDS)

    try:
        design = rules.EscalationDesign(**job["design"])
        result = compute(design, inputs, progress=progress)
    except ValueError as exc:
        cache.set(key, {**job, "status": FAILED, "error": str(exc)}, JOB_TTL_SECONDS)
        return {"id": job_id, "status": FAILED}
    except Exception:
        message = str(_("The calculation failed; the worker log has the details."))
        cache.set(key, {**job, "status": FAILED, "error": message}, JOB_TTL_SECONDS)
        raise
    table = result_table(levels, inputs, result, settings_version=job["settings_version"])
    done = job["total"] or 1
    cache.set(
        key,
        {**job, "status": DONE, "done": done, "total": done, "table": table},
        JOB_TTL_SECONDS,
    )
    return {"id": job_id, "status": DONE, "paths": result.paths}


def run_progress(job: dict) -> dict:
    """What the page's progress bar polls: status, trials done of total, one line of text."""
    status, done, total = job["status"], job["done"], job["total"]
    if status == DONE:
        message = _("Finished.")
    elif status == FAILED:
        message = job["error"]
    elif status == QUEUED:
        message = _("Waiting for the worker…")
    elif total:
        message = _("%(done)s of %(total)s trials simulated.") % {"done": done, "total": total}
    else:
        message = _("Enumerating every trial path…")
    return {"status": status, "done": done, "total": total, "message": str(message)}
