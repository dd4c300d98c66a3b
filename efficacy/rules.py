"""Pure efficacy rules for NCT06880354 (CLL1 + CD38 dual CAR-T in r/r AML).

Plain values in, frozen dataclasses out. No Django import: this module is the one implementation
of the efficacy rules that the web app, the worker, the API and external validators all call.

Sources (see ``/shared/domain/RULES.md`` §1 and §6 for the wording used here):

- Döhner H et al. ELN 2022 recommendations, Blood 2022;140:1345–1377 — response categories
  (Table 6), outcome definitions (Table 9), MRD-qualified responses and relapse.
- Döhner H et al. ELN 2017 recommendations, Blood 2017;129:424–447, Table 7 footnote —
  progressive disease (used for the DOR of MLFS/PR responders).
- Heuser M et al. ELN MRD 2021 update, Blood 2021;138:2753 — MRD relapse.
- Kaplan & Meier 1958; Greenwood 1926; Brookmeyer & Crowley, Biometrics 1982;38:29 — KM, variance,
  median CI. Clopper & Pearson 1934 — exact binomial CI.
- Mueller KT et al. Clin Cancer Res 2018; Awasthi R et al. Blood Adv 2020;4:560 — CAR-T kinetics.

Conventions: thresholds are compared in decimal (``Decimal(str(x))``) exactly as RULES.md states
them; ``None`` means "not known" and never becomes a silent 0; an impossible input raises
``ValueError`` naming the parameter and the allowed values. Every [SETTING] of RULES.md that a
function depends on is an optional keyword parameter whose default is the RULES.md default;
``SETTINGS_DEFAULTS`` / ``SETTINGS_CHOICES`` list them and :func:`settings_for` maps a study's
stored settings onto a function's keyword arguments.
"""

from __future__ import annotations

import inspect
import math
import statistics
from bisect import bisect_right
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from decimal import Decimal
from fractions import Fraction
from itertools import product
from typing import NamedTuple

import numpy as np
from scipy import stats

from rulekit.validation import choice

Number = int | float | Decimal

# ---------------------------------------------------------------------------------------------
# Settings
# ---------------------------------------------------------------------------------------------

#: Every study setting this module reads, with its RULES.md default (§8 of RULES.md).
SETTINGS_DEFAULTS: dict[str, object] = {
    # §1.2 response classification
    "cri_rule": "one_lineage_recovered",
    "pr_requires_no_pb_blasts": False,
    "missing_count_rule": "mlfs",
    # §1.3 MRD (protocol flow cytometry)
    "mrd_threshold": 1e-4,
    "mrd_min_cells": 100_000,
    # §1.4 relapse and progression
    "pb_relapse_date": "first_sample",
    "pb_confirmation": "consecutive",
    "pb_relapse_min_interval_days": 7,
    "mrd_confirm_within_days": None,
    "mrd_relapse_is_event": False,
    "pd_definition": "eln2017",
    # §1.5 / §1.6 time to event
    "response_landmark_days": 90,
    "efs_definition": "protocol",
    "censor_at_hsct": False,
    "response_after_new_therapy": "ignore",
    "new_therapy_efs": "ignore",
    "dor_censor": "last_assessment",
    "tte_day_offset": 0,
    # §1.7 rates, §1.8 blast decline
    "rate_basis": "at_visit",
    "rate_denominator": "all_infused",
    "blast_decline": "relative",
    # §6.1 Kaplan–Meier
    "km_ci": "log-log",
    "median_rule": "lifelines",
    # §6.3 kinetics
    "auc_method": "linear",
    "auc_end_interpolation": "auto",
    "blq_between": "missing",
    "blq_after_tlast": "exclude",
}

#: Allowed values of every enumerated setting (numeric settings are range-checked instead).
SETTINGS_CHOICES: dict[str, tuple] = {
    "cri_rule": ("one_lineage_recovered", "inclusive"),
    "pr_requires_no_pb_blasts": (False, True),
    "missing_count_rule": ("mlfs", "worst_case", "not_evaluable"),
    "pb_relapse_date": ("first_sample", "second_sample"),
    "pb_confirmation": ("consecutive", "any_two"),
    "mrd_relapse_is_event": (False, True),
    "pd_definition": ("eln2017",),
    "efs_definition": ("protocol", "eln2022"),
    "censor_at_hsct": (False, True),
    "response_after_new_therapy": ("ignore", "include"),
    "new_therapy_efs": ("ignore", "event", "censor"),
    "dor_censor": ("last_assessment", "last_known_alive"),
    "tte_day_offset": (0, 1),
    "rate_basis": ("at_visit", "best_up_to_visit"),
    "rate_denominator": ("all_infused", "evaluable"),
    "blast_decline": ("relative", "absolute"),
    "km_ci": ("log-log", "linear", "log"),
    "median_rule": ("lifelines", "statsmodels", "midpoint"),
    "auc_method": ("linear", "linear-up/log-down"),
    "auc_end_interpolation": ("auto", "linear", "log-linear"),
    "blq_between": ("missing", "zero"),
    "blq_after_tlast": ("exclude", "zero"),
}

# Setting keys whose function parameter has another name (the contract fixes those names).
_SETTING_ALIASES: dict[str, dict[str, str]] = {
    "mrd_status": {"mrd_threshold": "threshold", "mrd_min_cells": "min_cells"},
    "blast_decline": {"blast_decline": "method"},
    "median_blast_decline": {"blast_decline": "method"},
}


def settings_for(function: Callable[..., object], settings: Mapping[str, object]) -> dict:
    """Pick from a study's stored settings the keyword arguments ``function`` accepts.

    Lets the platform pass a study's settings straight through, e.g.
    ``classify_response(**facts, **settings_for(classify_response, study_settings))``.
    Keys the function does not take are left out; the contract-fixed parameter names of
    ``mrd_status`` (threshold, min_cells) and ``blast_decline`` (method) are mapped from the
    setting names ``mrd_threshold``, ``mrd_min_cells`` and ``blast_decline``.
    """
    params = inspect.signature(function).parameters
    aliases = _SETTING_ALIASES.get(function.__name__, {})
    out: dict[str, object] = {}
    for key, value in settings.items():
        name = aliases.get(key, key)
        if name in params and params[name].kind is inspect.Parameter.KEYWORD_ONLY:
            out[name] = value
    return out


# ---------------------------------------------------------------------------------------------
# Validation helpers
# ---------------------------------------------------------------------------------------------


def _choice(name: str, value: object) -> object:
    """Check a setting's value against ``SETTINGS_CHOICES[name]``."""
    return choice(value, name, SETTINGS_CHOICES[name])


def _dec(name: str, value: object) -> Decimal:
    """A finite number as Decimal via ``str`` (never ``Decimal(float)``)."""
    if isinstance(value, bool | np.bool_) or value is None:
        raise ValueError(f"{name} must be a number (int, float or Decimal); got {value!r}")
    if isinstance(value, Decimal):
        d = value
    elif isinstance(value, int | np.integer):
        d = Decimal(int(value))
    elif isinstance(value, float | np.floating):
        d = Decimal(repr(float(value)))
    else:
        raise ValueError(f"{name} must be a number (int, float or Decimal); got {value!r}")
    if not d.is_finite():
        raise ValueError(f"{name} must be a finite number; got {value!r}")
    return d


def _opt_dec(
    name: str, value: object, *, lo: Decimal | None = None, hi: Decimal | None = None
) -> Decimal | None:
    """``None`` (not known) or a number within [lo, hi]."""
    if value is None:
        return None
    d = _dec(name, value)
    if (lo is not None and d < lo) or (hi is not None and d > hi):
        if hi is None:
            raise ValueError(f"{name} must be ≥ {lo}; got {value!r}")
        raise ValueError(f"{name} must be between {lo} and {hi}; got {value!r}")
    return d


def _opt_bool(name: str, value: object) -> bool | None:
    if value is None:
        return None
    if isinstance(value, bool | np.bool_):
        return bool(value)
    raise ValueError(f"{name} must be True, False or None (not known); got {value!r}")


def _bool(name: str, value: object) -> bool:
    if isinstance(value, bool | np.bool_):
        return bool(value)
    raise ValueError(f"{name} must be True or False; got {value!r}")


def _count(name: str, value: object) -> int:
    """A non-negative whole number (int, or a float/Decimal with no fractional part)."""
    d = _dec(name, value)
    if d < 0 or d != d.to_integral_value():
        raise ValueError(f"{name} must be a whole number ≥ 0; got {value!r}")
    return int(d)


def _date(name: str, value: object, *, optional: bool = True) -> date | None:
    if value is None and optional:
        return None
    if isinstance(value, datetime) or not isinstance(value, date):
        raise ValueError(f"{name} must be a datetime.date; got {value!r}")
    return value


_PCT_0 = Decimal(0)
_PCT_100 = Decimal(100)

# ---------------------------------------------------------------------------------------------
# §1.2 ELN 2022 response classification
# ---------------------------------------------------------------------------------------------

#: Response categories, best first (ELN 2022 Table 6 order; NR = no response, NE = not evaluable).
RESPONSE_CATEGORIES: tuple[str, ...] = ("CR", "CRh", "CRi", "MLFS", "PR", "NR", "NE")
#: Complete remissions (CRR numerator, MRD denominator, RFS population).
CR_FAMILY: frozenset[str] = frozenset({"CR", "CRh", "CRi"})
#: Responses counted in ORR and as the DOR start.
RESPONDER_CATEGORIES: frozenset[str] = frozenset({"CR", "CRh", "CRi", "MLFS", "PR"})
_RANK = {c: i for i, c in enumerate(RESPONSE_CATEGORIES)}

_D5, _D25 = Decimal(5), Decimal(25)
_ANC_CR, _ANC_CRH = Decimal("1.0"), Decimal("0.5")
_PLT_CR, _PLT_CRH = Decimal(100), Decimal(50)


def _category(name: str, value: object, *, optional: bool = False) -> str | None:
    if value is None and optional:
        return None
    if value not in RESPONSE_CATEGORIES:
        raise ValueError(
            f"{name} must be one of {', '.join(RESPONSE_CATEGORIES)}"
            f"{' or None' if optional else ''}; got {value!r}"
        )
    return value  # type: ignore[return-value]


def _classify_known(
    blasts: Decimal,
    baseline: Decimal,
    anc: Decimal,
    plt: Decimal,
    pb: bool,
    emd: bool,
    cri_rule: str,
    pr_requires_no_pb_blasts: bool,
) -> str:
    """ELN 2022 order of evaluation (RULES.md §1.2) with every input known."""
    if blasts < _D5 and not pb and not emd:
        if anc >= _ANC_CR and plt >= _PLT_CR:
            return "CR"
        if anc >= _ANC_CRH and plt >= _PLT_CRH:
            return "CRh"
        if cri_rule == "inclusive" or anc >= _ANC_CR or plt >= _PLT_CR:
            return "CRi"
        return "MLFS"
    if (
        _D5 <= blasts <= _D25
        and anc >= _ANC_CR
        and plt >= _PLT_CR
        and baseline > 0
        and baseline >= 2 * blasts  # (baseline − blasts) / baseline ≥ 0.50, exactly
        and not emd
        and not (pr_requires_no_pb_blasts and pb)
    ):
        return "PR"
    return "NR"


def classify_response(
    *,
    bm_blasts_pct: Number | None,
    baseline_bm_blasts_pct: Number | None,
    anc: Number | None,
    platelets: Number | None,
    pb_blasts: bool | None = False,
    extramedullary_disease: bool | None = False,
    marrow_adequate: bool | None = True,
    cri_rule: str = "one_lineage_recovered",
    pr_requires_no_pb_blasts: bool = False,
    missing_count_rule: str = "mlfs",
) -> str:
    """ELN 2022 response category of one marrow assessment.

    Döhner et al., Blood 2022;140:1345, Table 6 (response in AML), evaluated in the order of
    RULES.md §1.2: NE without an adequate marrow; CR, CRh, CRi, MLFS when BM blasts < 5 % with
    no circulating blasts and no EMD; PR (5–25 % blasts, ≥ 50 % fall from baseline, CR counts);
    otherwise "NR". ``anc`` and ``platelets`` are ×10⁹/L, blasts in %.

    ``cri_rule``: "one_lineage_recovered" (CRi needs ANC ≥ 1.0 or platelets ≥ 100, else MLFS) or
    "inclusive" (every non-CR/CRh count pattern is CRi). ``pr_requires_no_pb_blasts``: whether PR
    also needs no circulating blasts (EMD excludes PR in both readings).

    Unknown inputs (``None``): an unknown marrow (blasts or adequacy) gives "NE". When an unknown
    ANC/platelet count could change the category, ``missing_count_rule`` decides:
    "mlfs" (default) — with BM blasts < 5 %, no PB blasts and no EMD the result is MLFS, the only
    category that needs no count (ELN), because CR/CRh/CRi each need their counts documented; in
    the PR range the result is "NE"; "worst_case" — the least favourable category the unknown
    counts allow (never better than the known data prove); "not_evaluable" — "NE". Unknown PB
    blasts, EMD or baseline give "NE" whenever they could change the category.
    """
    _choice("cri_rule", cri_rule)
    _choice("pr_requires_no_pb_blasts", pr_requires_no_pb_blasts)
    _choice("missing_count_rule", missing_count_rule)
    blasts = _opt_dec("bm_blasts_pct", bm_blasts_pct, lo=_PCT_0, hi=_PCT_100)
    baseline = _opt_dec("baseline_bm_blasts_pct", baseline_bm_blasts_pct, lo=_PCT_0, hi=_PCT_100)
    anc_d = _opt_dec("anc", anc, lo=Decimal(0))
    plt_d = _opt_dec("platelets", platelets, lo=Decimal(0))
    pb = _opt_bool("pb_blasts", pb_blasts)
    emd = _opt_bool("extramedullary_disease", extramedullary_disease)
    adequate = _opt_bool("marrow_adequate", marrow_adequate)

    if adequate is not True or blasts is None:
        return "NE"

    # Unknowns are resolved by trying one representative of every region where the result is
    # constant (the thresholds are the region borders).
    anc_opts = [anc_d] if anc_d is not None else [Decimal(0), _ANC_CRH, _ANC_CR]
    plt_opts = [plt_d] if plt_d is not None else [Decimal(0), _PLT_CRH, _PLT_CR]
    pb_opts = [pb] if pb is not None else [False, True]
    emd_opts = [emd] if emd is not None else [False, True]
    base_opts = [baseline] if baseline is not None else [Decimal(0), _PCT_100]

    results: set[str] = set()
    for pb_v, emd_v, base_v in product(pb_opts, emd_opts, base_opts):
        cats = {
            _classify_known(blasts, base_v, a, p, pb_v, emd_v, cri_rule, pr_requires_no_pb_blasts)
            for a in anc_opts
            for p in plt_opts
        }
        if len(cats) == 1:
            results.add(cats.pop())
        elif missing_count_rule == "worst_case":
            results.add(max(cats, key=_RANK.__getitem__))
        elif missing_count_rule == "mlfs" and blasts < _D5 and not pb_v and not emd_v:
            results.add("MLFS")
        else:
            results.add("NE")
    return results.pop() if len(results) == 1 else "NE"


# ---------------------------------------------------------------------------------------------
# §1.3 MRD
# ---------------------------------------------------------------------------------------------

MRD_RESULTS: tuple[str, ...] = ("negative", "positive", "not_evaluable", "not_applicable")


def mrd_status(
    *,
    response: str | None,
    leukemic_events: int | None,
    cells_acquired: int | None,
    threshold: float = 1e-4,
    min_cells: int = 100_000,
) -> str:
    """Flow-cytometry MRD status of a CR/CRh/CRi (protocol threshold, RULES.md §1.3).

    ELN 2022 reports CR/CRh/CRi with MRD below the assay threshold as MRD-negative; the protocol
    defines negative as leukemic events ÷ cells acquired < 10⁻⁴ (strictly) with ≥ 100 000 cells.
    With fewer than ``min_cells`` cells a ratio ≥ ``threshold`` is still "positive"; any lower
    ratio (zero events included) is "not_evaluable" (sensitivity not reached), never negative.
    A response other than CR/CRh/CRi gives "not_applicable"; an unknown response, count or zero
    cells acquired gives "not_evaluable".
    """
    thr = _dec("threshold", threshold)
    if not (0 < thr <= 1):
        raise ValueError(f"threshold must be > 0 and ≤ 1; got {threshold!r}")
    min_c = _count("min_cells", min_cells)
    if min_c < 1:
        raise ValueError(f"min_cells must be a whole number ≥ 1; got {min_cells!r}")
    resp = _category("response", response, optional=True)
    events = None if leukemic_events is None else _count("leukemic_events", leukemic_events)
    cells = None if cells_acquired is None else _count("cells_acquired", cells_acquired)
    if events is not None and cells is not None and events > cells:
        raise ValueError(f"leukemic_events ({events}) cannot exceed cells_acquired ({cells})")
    if resp is None:
        return "not_evaluable"
    if resp not in CR_FAMILY:
        return "not_applicable"
    if events is None or cells is None or cells == 0:
        return "not_evaluable"
    positive = Decimal(events) >= thr * cells  # events / cells ≥ threshold, exactly
    if positive:
        return "positive"
    return "negative" if cells >= min_c else "not_evaluable"


# ---------------------------------------------------------------------------------------------
# §1.4 Relapse and progression
# ---------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class DiseaseObservation:
    """One dated post-remission (or post-response) disease observation; ``None`` = not done.

    ``pb_blasts``: blasts seen in peripheral blood; when ``None`` and ``pb_blasts_10e9_l`` is
    given, presence is ``pb_blasts_10e9_l > 0``. ``pb_blasts_10e9_l``: absolute blood blasts
    (WBC × blast %). ``mrd_level``: leukemic events ÷ cells (fraction, not %); ``mrd_result``
    ("negative" | "positive" | "not_evaluable", e.g. from :func:`mrd_status`) overrides the level.
    """

    date: date
    bm_blasts_pct: Number | None = None
    pb_blasts: bool | None = None
    new_extramedullary_disease: bool | None = None
    mrd_level: Number | None = None
    mrd_result: str | None = None
    mrd_specimen: str = "bone_marrow"
    pb_blasts_10e9_l: Number | None = None
    anc_10e9_l: Number | None = None
    platelets_10e9_l: Number | None = None
    differentiation_syndrome: bool = False

    def __post_init__(self) -> None:
        _date("date", self.date, optional=False)
        _opt_dec("bm_blasts_pct", self.bm_blasts_pct, lo=_PCT_0, hi=_PCT_100)
        _opt_bool("pb_blasts", self.pb_blasts)
        _opt_bool("new_extramedullary_disease", self.new_extramedullary_disease)
        _opt_dec("mrd_level", self.mrd_level, lo=Decimal(0), hi=Decimal(1))
        if self.mrd_result not in (None, "negative", "positive", "not_evaluable"):
            raise ValueError(
                "mrd_result must be 'negative', 'positive', 'not_evaluable' or None; "
                f"got {self.mrd_result!r}"
            )
        _opt_dec("pb_blasts_10e9_l", self.pb_blasts_10e9_l, lo=Decimal(0))
        _opt_dec("anc_10e9_l", self.anc_10e9_l, lo=Decimal(0))
        _opt_dec("platelets_10e9_l", self.platelets_10e9_l, lo=Decimal(0))
        _bool("differentiation_syndrome", self.differentiation_syndrome)

    @property
    def pb_blasts_present(self) -> bool | None:
        if self.pb_blasts is not None:
            return bool(self.pb_blasts)
        if self.pb_blasts_10e9_l is not None:
            return _dec("pb_blasts_10e9_l", self.pb_blasts_10e9_l) > 0
        return None


@dataclass(frozen=True)
class RelapseAssessment:
    """Result of :func:`detect_relapse`.

    ``status``: "hematologic_relapse" | "mrd_relapse" | "pb_blasts_unconfirmed" |
    "mrd_positive_unconfirmed" | "no_relapse" (first that applies, in that order).
    ``criteria``: hematologic criteria met on the relapse date ("bm_blasts", "pb_blasts",
    "extramedullary"). ``mrd_relapse``: "none" | "unconfirmed" | "confirmed". ``event``/
    ``event_date``: whether this counts as an RFS/EFS/DOR event (MRD relapse only when
    ``mrd_relapse_is_event``).
    """

    status: str
    hematologic_relapse: bool
    hematologic_relapse_date: date | None
    criteria: tuple[str, ...]
    pb_blasts_pending: bool
    mrd_relapse: str
    mrd_relapse_date: date | None
    event: bool
    event_date: date | None
    reason: str


def _pb_relapse(
    obs: Sequence[DiseaseObservation], *, interval_days: int, confirmation: str
) -> tuple[date | None, date | None, bool]:
    """(first sample, confirming sample, pending) for blasts in ≥ 2 blood samples ≥ N days apart."""
    by_day: dict[date, bool] = {}
    for o in obs:
        present = o.pb_blasts_present
        if present is None:
            continue
        by_day[o.date] = by_day.get(o.date, False) or present
    gap = timedelta(days=interval_days)
    run: list[date] = []  # positives in the current run ("consecutive") or overall ("any_two")
    for day in sorted(by_day):
        if not by_day[day]:
            if confirmation == "consecutive":
                run = []
            continue
        run.append(day)
        if day - run[0] >= gap:
            return run[0], day, False
    return None, None, bool(run)


def _mrd_relapse(
    obs: Sequence[DiseaseObservation],
    *,
    remission_mrd_negative: bool | None,
    threshold: Decimal,
    within_days: int | None,
) -> tuple[str, date | None]:
    """MRD conversion negative → positive, confirmed by the next sample of the same specimen."""
    best_confirmed: date | None = None
    best_unconfirmed: date | None = None
    specimens = sorted({o.mrd_specimen for o in obs})
    for spec in specimens:
        samples: list[tuple[date, bool]] = []
        for o in sorted(obs, key=lambda x: x.date):
            if o.mrd_specimen != spec:
                continue
            if o.mrd_result is not None:
                if o.mrd_result == "not_evaluable":
                    continue
                samples.append((o.date, o.mrd_result == "positive"))
            elif o.mrd_level is not None:
                samples.append((o.date, _dec("mrd_level", o.mrd_level) >= threshold))
        was_negative = remission_mrd_negative is True
        candidate: date | None = None
        confirmed: date | None = None
        for day, positive in samples:
            if not positive:
                was_negative, candidate = True, None
                continue
            if candidate is not None and (
                within_days is None or (day - candidate).days <= within_days
            ):
                confirmed = candidate
                break
            if was_negative:
                candidate = day
        if confirmed is not None:
            best_confirmed = confirmed if best_confirmed is None else min(best_confirmed, confirmed)
        elif candidate is not None:
            best_unconfirmed = (
                candidate if best_unconfirmed is None else min(best_unconfirmed, candidate)
            )
    if best_confirmed is not None:
        return "confirmed", best_confirmed
    if best_unconfirmed is not None:
        return "unconfirmed", best_unconfirmed
    return "none", None


def detect_relapse(
    observations: Sequence[DiseaseObservation],
    *,
    remission_date: date | None = None,
    remission_mrd_negative: bool | None = None,
    pb_relapse_date: str = "first_sample",
    pb_confirmation: str = "consecutive",
    pb_relapse_min_interval_days: int = 7,
    mrd_threshold: Number = 1e-4,
    mrd_confirm_within_days: int | None = None,
    mrd_relapse_is_event: bool = False,
) -> RelapseAssessment:
    """Hematologic and MRD relapse after CR/CRh/CRi (ELN 2022 Table 6; RULES.md §1.4).

    Hematologic relapse: BM blasts ≥ 5 %, or blasts in blood in ≥ 2 samples
    ≥ ``pb_relapse_min_interval_days`` apart, or new EMD; dated at the first qualifying
    observation (for blood blasts the first of the two samples, ``pb_relapse_date``).
    ``pb_confirmation``: "consecutive" (default; the two samples belong to one run of positive
    blood samples, a blast-free sample in between restarts the count) or "any_two" (ELN wording
    read literally). MRD relapse (after an MRD-negative remission, ``remission_mrd_negative``, or
    after a negative sample in ``observations``): a sample ≥ ``mrd_threshold`` confirmed by the
    next sample of the same specimen (within ``mrd_confirm_within_days`` if set), dated at the
    first positive sample; it is an RFS/EFS event only if ``mrd_relapse_is_event``.
    Observations dated before ``remission_date`` are ignored.
    """
    _choice("pb_relapse_date", pb_relapse_date)
    _choice("pb_confirmation", pb_confirmation)
    _choice("mrd_relapse_is_event", mrd_relapse_is_event)
    interval = _count("pb_relapse_min_interval_days", pb_relapse_min_interval_days)
    thr = _dec("mrd_threshold", mrd_threshold)
    if not (0 < thr <= 1):
        raise ValueError(f"mrd_threshold must be > 0 and ≤ 1; got {mrd_threshold!r}")
    within = (
        None
        if mrd_confirm_within_days is None
        else _count("mrd_confirm_within_days", mrd_confirm_within_days)
    )
    _date("remission_date", remission_date)
    _opt_bool("remission_mrd_negative", remission_mrd_negative)
    obs = []
    for i, o in enumerate(observations):
        if not isinstance(o, DiseaseObservation):
            raise ValueError(f"observations[{i}] must be a DiseaseObservation; got {o!r}")
        if remission_date is None or o.date >= remission_date:
            obs.append(o)
    obs.sort(key=lambda o: o.date)

    dates: dict[str, date] = {}
    for o in obs:
        if o.bm_blasts_pct is not None and _dec("bm_blasts_pct", o.bm_blasts_pct) >= _D5:
            dates.setdefault("bm_blasts", o.date)
        if o.new_extramedullary_disease:
            dates.setdefault("extramedullary", o.date)
    first, second, pb_pending = _pb_relapse(
        obs, interval_days=interval, confirmation=pb_confirmation
    )
    if first is not None and second is not None:
        dates["pb_blasts"] = first if pb_relapse_date == "first_sample" else second
    heme_date = min(dates.values()) if dates else None
    criteria = tuple(
        k
        for k in ("bm_blasts", "pb_blasts", "extramedullary")
        if dates.get(k) == heme_date and heme_date is not None
    )
    mrd_state, mrd_date = _mrd_relapse(
        obs, remission_mrd_negative=remission_mrd_negative, threshold=thr, within_days=within
    )

    candidates = [d for d in (heme_date,) if d is not None]
    if mrd_relapse_is_event and mrd_state == "confirmed" and mrd_date is not None:
        candidates.append(mrd_date)
    event_date = min(candidates) if candidates else None

    if heme_date is not None:
        status = "hematologic_relapse"
        reason = f"hematologic relapse on {heme_date.isoformat()} ({', '.join(criteria)})"
    elif mrd_state == "confirmed":
        status = "mrd_relapse"
        reason = f"confirmed MRD relapse from {mrd_date.isoformat()}"  # type: ignore[union-attr]
    elif pb_pending:
        status = "pb_blasts_unconfirmed"
        reason = f"blasts in blood not yet seen in two samples ≥ {interval} days apart"
    elif mrd_state == "unconfirmed":
        status = "mrd_positive_unconfirmed"
        reason = f"MRD positive on {mrd_date.isoformat()}, awaiting a confirming sample"  # type: ignore[union-attr]
    else:
        status = "no_relapse"
        reason = "no relapse criterion met"
    return RelapseAssessment(
        status=status,
        hematologic_relapse=heme_date is not None,
        hematologic_relapse_date=heme_date,
        criteria=criteria,
        pb_blasts_pending=pb_pending and heme_date is None,
        mrd_relapse=mrd_state,
        mrd_relapse_date=mrd_date,
        event=event_date is not None,
        event_date=event_date,
        reason=reason,
    )


@dataclass(frozen=True)
class ProgressionAssessment:
    """Result of :func:`detect_progression`: first date and the criteria met on it."""

    progression: bool
    date: date | None
    criteria: tuple[str, ...]
    reason: str


def _counts_improved(
    o: DiseaseObservation, base_anc: Decimal | None, base_plt: Decimal | None
) -> bool:
    """ELN 2017: ≥ 100 % ANC improvement to > 0.5 and/or platelets to > 50 (documented only)."""
    if o.anc_10e9_l is not None and base_anc is not None:
        anc = _dec("anc_10e9_l", o.anc_10e9_l)
        if anc >= 2 * base_anc and anc > _ANC_CRH:
            return True
    if o.platelets_10e9_l is not None and base_plt is not None:
        plt = _dec("platelets_10e9_l", o.platelets_10e9_l)
        if plt >= 2 * base_plt and plt > _PLT_CRH:
            return True
    return False


def detect_progression(
    observations: Sequence[DiseaseObservation],
    *,
    response: str,
    baseline_bm_blasts_pct: Number | None,
    baseline_pb_blasts_10e9_l: Number | None = None,
    baseline_anc_10e9_l: Number | None = None,
    baseline_platelets_10e9_l: Number | None = None,
    pd_definition: str = "eln2017",
    persistent_days: int = 90,
    pb_relapse_date: str = "first_sample",
    pb_confirmation: str = "consecutive",
    pb_relapse_min_interval_days: int = 7,
) -> ProgressionAssessment:
    """Progression of a responder, for DOR (RULES.md §1.4; ``pd_definition`` = "eln2017").

    ELN 2022 defines no progression; ELN 2017 (Döhner et al., Blood 2017;129:424, Table 7
    footnote) PD is used: BM blasts > 50 % above baseline (and ≥ +15 points when baseline
    < 30 %), or BM blasts > 70 % in every marrow over ≥ ``persistent_days``, either without a
    documented ≥ 100 % ANC improvement to > 0.5 and/or platelets to > 50 (×10⁹/L); or blood
    blasts (WBC × blast %) > 50 % above baseline and > 25 ×10⁹/L without differentiation
    syndrome; or new EMD. For a CR/CRh/CRi/MLFS responder loss of response by the
    hematologic-relapse tests (:func:`detect_relapse`) also counts. Baseline = pre-infusion.
    Criteria needing an unknown baseline are not evaluated. The count-improvement exception is
    applied to both marrow criteria and only when the counts are documented.
    """
    _choice("pd_definition", pd_definition)
    if response not in RESPONDER_CATEGORIES:
        raise ValueError(
            f"response must be one of {', '.join(sorted(RESPONDER_CATEGORIES))}; got {response!r}"
        )
    base_bm = _opt_dec("baseline_bm_blasts_pct", baseline_bm_blasts_pct, lo=_PCT_0, hi=_PCT_100)
    base_pb = _opt_dec("baseline_pb_blasts_10e9_l", baseline_pb_blasts_10e9_l, lo=Decimal(0))
    base_anc = _opt_dec("baseline_anc_10e9_l", baseline_anc_10e9_l, lo=Decimal(0))
    base_plt = _opt_dec("baseline_platelets_10e9_l", baseline_platelets_10e9_l, lo=Decimal(0))
    persist = _count("persistent_days", persistent_days)
    for i, o in enumerate(observations):
        if not isinstance(o, DiseaseObservation):
            raise ValueError(f"observations[{i}] must be a DiseaseObservation; got {o!r}")
    obs = sorted(observations, key=lambda o: o.date)

    dates: dict[str, date] = {}
    run_start: DiseaseObservation | None = None
    for o in obs:
        if o.bm_blasts_pct is not None:
            bm = _dec("bm_blasts_pct", o.bm_blasts_pct)
            if (
                base_bm is not None
                and bm > Decimal("1.5") * base_bm
                and (base_bm >= 30 or bm - base_bm >= 15)
                and not _counts_improved(o, base_anc, base_plt)
            ):
                dates.setdefault("bm_blast_increase", o.date)
            if bm > 70:
                run_start = run_start or o
                if (o.date - run_start.date).days >= persist and not _counts_improved(
                    o, base_anc, base_plt
                ):
                    dates.setdefault("bm_blasts_persistent_over_70", run_start.date)
            else:
                run_start = None
        if o.pb_blasts_10e9_l is not None and base_pb is not None:
            pb = _dec("pb_blasts_10e9_l", o.pb_blasts_10e9_l)
            if pb > Decimal("1.5") * base_pb and pb > 25 and not o.differentiation_syndrome:
                dates.setdefault("pb_blast_increase", o.date)
        if o.new_extramedullary_disease:
            dates.setdefault("extramedullary", o.date)
    if response != "PR":
        rel = detect_relapse(
            obs,
            pb_relapse_date=pb_relapse_date,
            pb_confirmation=pb_confirmation,
            pb_relapse_min_interval_days=pb_relapse_min_interval_days,
        )
        if rel.hematologic_relapse_date is not None:
            dates.setdefault("loss_of_response", rel.hematologic_relapse_date)
    if not dates:
        return ProgressionAssessment(False, None, (), "no progression criterion met")
    first = min(dates.values())
    criteria = tuple(k for k, d in dates.items() if d == first)
    return ProgressionAssessment(
        True, first, criteria, f"progression on {first.isoformat()} ({', '.join(criteria)})"
    )


# ---------------------------------------------------------------------------------------------
# §1.6 Time-to-event derivations
# ---------------------------------------------------------------------------------------------

DAYS_PER_MONTH = 30.4375


@dataclass(frozen=True)
class ResponseAssessment:
    """One dated ELN 2022 response assessment (category as from :func:`classify_response`)."""

    date: date
    category: str

    def __post_init__(self) -> None:
        _date("date", self.date, optional=False)
        _category("category", self.category)


@dataclass(frozen=True)
class SubjectCourse:
    """One subject's dated course after CAR-T infusion (Day 0), the input of the TTE endpoints.

    ``assessments`` may be given as ``ResponseAssessment`` or ``(date, category)`` pairs; they are
    stored sorted by date. ``relapse_date`` is the hematologic relapse, ``progression_date`` the
    PD/loss-of-response date, ``mrd_relapse_date`` a confirmed MRD relapse (used only when
    ``mrd_relapse_is_event``). ``last_assessment_date``: last disease assessment if it is not in
    ``assessments``. Dates before infusion, or after death, are impossible and raise ValueError.
    """

    infusion_date: date
    assessments: tuple[ResponseAssessment, ...] = ()
    relapse_date: date | None = None
    progression_date: date | None = None
    death_date: date | None = None
    last_known_alive_date: date | None = None
    last_assessment_date: date | None = None
    hsct_date: date | None = None
    new_therapy_date: date | None = None
    mrd_relapse_date: date | None = None

    _DATE_FIELDS = (
        "relapse_date",
        "progression_date",
        "death_date",
        "last_known_alive_date",
        "last_assessment_date",
        "hsct_date",
        "new_therapy_date",
        "mrd_relapse_date",
    )

    def __post_init__(self) -> None:
        _date("infusion_date", self.infusion_date, optional=False)
        items = []
        for i, a in enumerate(self.assessments):
            if isinstance(a, ResponseAssessment):
                items.append(a)
            elif isinstance(a, tuple | list) and len(a) == 2:
                items.append(
                    ResponseAssessment(_date(f"assessments[{i}]", a[0], optional=False), a[1])
                )
            else:
                raise ValueError(
                    f"assessments[{i}] must be a ResponseAssessment or (date, category); got {a!r}"
                )
        object.__setattr__(self, "assessments", tuple(sorted(items, key=lambda x: x.date)))
        for name in self._DATE_FIELDS:
            _date(name, getattr(self, name))
        dated = [(n, getattr(self, n)) for n in self._DATE_FIELDS if getattr(self, n)]
        dated += [(f"assessment on {a.date}", a.date) for a in self.assessments]
        for name, d in dated:
            if d < self.infusion_date:
                raise ValueError(f"{name} ({d}) is before infusion_date ({self.infusion_date})")
            if self.death_date is not None and d > self.death_date:
                raise ValueError(f"{name} ({d}) is after death_date ({self.death_date})")

    def last_alive(self) -> date:
        """Last date the subject is known alive: the latest dated fact of the course."""
        candidates = [self.infusion_date] + [a.date for a in self.assessments]
        candidates += [
            getattr(self, n) for n in self._DATE_FIELDS if n != "death_date" and getattr(self, n)
        ]
        return max(candidates)

    def last_disease_assessment(self) -> date | None:
        """Last adequate disease assessment (non-NE assessment or ``last_assessment_date``)."""
        candidates = [a.date for a in self.assessments if a.category != "NE"]
        if self.last_assessment_date is not None:
            candidates.append(self.last_assessment_date)
        return max(candidates) if candidates else None

    def considered_assessments(
        self, response_after_new_therapy: str = "ignore"
    ) -> tuple[ResponseAssessment, ...]:
        """Assessments used for best response: with "ignore", none after HSCT/new therapy."""
        _choice("response_after_new_therapy", response_after_new_therapy)
        if response_after_new_therapy == "include":
            return self.assessments
        cut = [d for d in (self.hsct_date, self.new_therapy_date) if d is not None]
        if not cut:
            return self.assessments
        cutoff = min(cut)
        return tuple(a for a in self.assessments if a.date <= cutoff)


@dataclass(frozen=True)
class TimeToEvent:
    """(duration, event) of one subject for one endpoint; ``duration_days`` includes the offset."""

    start: date
    end: date
    event: bool
    duration_days: int
    reason: str

    @property
    def months(self) -> float:
        """Duration in months (days / 30.4375, RULES.md conventions)."""
        return self.duration_days / DAYS_PER_MONTH


def _tte(start: date, end: date, event: bool, reason: str, offset: int) -> TimeToEvent:
    end = max(end, start)
    return TimeToEvent(start, end, event, (end - start).days + offset, reason)


def _resolve(
    start: date,
    events: Iterable[tuple[date | None, str]],
    censor: tuple[date, str],
    extra_censors: Iterable[tuple[date | None, str]],
    offset: int,
) -> TimeToEvent:
    """First event on/after start; censoring points (e.g. HSCT) win only strictly before it."""
    evs = [(d, r) for d, r in events if d is not None]
    ev = min(evs, key=lambda x: x[0]) if evs else None  # stable: earlier-listed reason on ties
    # A censoring point before the start (e.g. HSCT before a response counted with
    # response_after_new_therapy="include") does not apply to this endpoint.
    cens = [censor] + [(d, r) for d, r in extra_censors if d is not None and d >= start]
    if ev is not None:
        early = [(d, r) for d, r in cens[1:] if d < ev[0]]
        if not early:
            return _tte(start, ev[0], True, ev[1], offset)
        d, r = min(early, key=lambda x: x[0])
        return _tte(start, d, False, r, offset)
    d, r = min(cens, key=lambda x: x[0])
    return _tte(start, d, False, r, offset)


def _check_not_before(name: str, d: date | None, start: date) -> None:
    if d is not None and d < start:
        raise ValueError(f"{name} ({d}) is before the endpoint start ({start})")


def overall_survival(course: SubjectCourse, *, tte_day_offset: int = 0) -> TimeToEvent:
    """OS: infusion to death from any cause; censored at last known alive.

    ELN 2022 Table 9 (OS) with the protocol's start at cell infusion (RULES.md §1.6). Last known
    alive is the latest dated fact of the course when ``last_known_alive_date`` is older.
    """
    _choice("tte_day_offset", tte_day_offset)
    if course.death_date is not None:
        return _tte(course.infusion_date, course.death_date, True, "death", tte_day_offset)
    return _tte(
        course.infusion_date,
        course.last_alive(),
        False,
        "censored_last_known_alive",
        tte_day_offset,
    )


def event_free_survival(
    course: SubjectCourse,
    *,
    efs_definition: str = "protocol",
    response_landmark_days: int = 90,
    censor_at_hsct: bool = False,
    new_therapy_efs: str = "ignore",
    response_after_new_therapy: str = "ignore",
    mrd_relapse_is_event: bool = False,
    tte_day_offset: int = 0,
) -> TimeToEvent:
    """EFS from infusion (RULES.md §1.6; protocol registry text vs ELN 2022 Table 9).

    "protocol": event = relapse, progression or death, whichever first (for subjects who never
    reach CR/CRh/CRi this is PD or death); no event ⇒ censored at the last disease assessment.
    "eln2022": no CR/CRh/CRi by ``response_landmark_days`` is treatment failure, an event on the
    start date (ELN's "day 1" = day of infusion, 0 days with ``tte_day_offset`` = 0), once the
    landmark is reached or the subject died; alive without any evaluable assessment ⇒ censored
    at the start date; evaluable but landmark not yet reached ⇒ censored at last assessment;
    responders by the landmark: relapse or death. ``censor_at_hsct`` censors at an HSCT before
    the event; ``new_therapy_efs``: new anti-leukemic therapy is ignored, an event or a
    censoring point.
    """
    _choice("efs_definition", efs_definition)
    _choice("censor_at_hsct", censor_at_hsct)
    _choice("new_therapy_efs", new_therapy_efs)
    _choice("mrd_relapse_is_event", mrd_relapse_is_event)
    _choice("tte_day_offset", tte_day_offset)
    landmark_days = _count("response_landmark_days", response_landmark_days)
    start = course.infusion_date
    considered = course.considered_assessments(response_after_new_therapy)
    last = course.last_disease_assessment() or start
    censor = (last, "censored_last_assessment")
    extra = []
    if censor_at_hsct:
        extra.append((course.hsct_date, "censored_hsct"))
    if new_therapy_efs == "censor":
        extra.append((course.new_therapy_date, "censored_new_therapy"))
    events: list[tuple[date | None, str]] = [
        (course.relapse_date, "relapse"),
        (course.progression_date, "progression"),
        (course.death_date, "death"),
    ]
    if mrd_relapse_is_event:
        events.append((course.mrd_relapse_date, "mrd_relapse"))
    if new_therapy_efs == "event":
        events.append((course.new_therapy_date, "new_therapy"))

    if efs_definition == "eln2022":
        landmark = start + timedelta(days=landmark_days)
        responder = any(a.category in CR_FAMILY and a.date <= landmark for a in considered)
        if not responder:
            evaluable = any(a.category != "NE" for a in considered)
            reached = course.death_date is not None or course.last_alive() >= landmark
            if course.death_date is not None or (evaluable and reached):
                return _tte(start, start, True, "treatment_failure", tte_day_offset)
            if not evaluable:
                return _tte(start, start, False, "censored_not_evaluable", tte_day_offset)
            return _tte(start, last, False, "censored_landmark_not_reached", tte_day_offset)
    return _resolve(start, events, censor, extra, tte_day_offset)


def _first_response(
    course: SubjectCourse, categories: frozenset[str], response_after_new_therapy: str
) -> date | None:
    for a in course.considered_assessments(response_after_new_therapy):
        if a.category in categories:
            return a.date
    return None


def relapse_free_survival(
    course: SubjectCourse,
    *,
    censor_at_hsct: bool = False,
    response_after_new_therapy: str = "ignore",
    mrd_relapse_is_event: bool = False,
    tte_day_offset: int = 0,
) -> TimeToEvent | None:
    """RFS: first CR/CRh/CRi to hematologic relapse or death; censored at last known alive.

    ELN 2022 Table 9 (RFS), identical in the protocol (RULES.md §1.6). ``None`` for subjects who
    never reach CR/CRh/CRi. A progression date on/after remission is a relapse.
    """
    _choice("censor_at_hsct", censor_at_hsct)
    _choice("mrd_relapse_is_event", mrd_relapse_is_event)
    _choice("tte_day_offset", tte_day_offset)
    start = _first_response(course, CR_FAMILY, response_after_new_therapy)
    if start is None:
        return None
    _check_not_before("relapse_date", course.relapse_date, start)
    prog = (
        course.progression_date
        if course.progression_date and (course.progression_date >= start)
        else None
    )
    events: list[tuple[date | None, str]] = [
        (course.relapse_date, "relapse"),
        (prog, "relapse"),
        (course.death_date, "death"),
    ]
    if mrd_relapse_is_event:
        _check_not_before("mrd_relapse_date", course.mrd_relapse_date, start)
        events.append((course.mrd_relapse_date, "mrd_relapse"))
    extra = [(course.hsct_date, "censored_hsct")] if censor_at_hsct else []
    censor = (course.last_alive(), "censored_last_known_alive")
    return _resolve(start, events, censor, extra, tte_day_offset)


def duration_of_response(
    course: SubjectCourse,
    *,
    dor_censor: str = "last_assessment",
    censor_at_hsct: bool = False,
    response_after_new_therapy: str = "ignore",
    mrd_relapse_is_event: bool = False,
    tte_day_offset: int = 0,
) -> TimeToEvent | None:
    """DOR: first CR/CRh/CRi/MLFS/PR to first relapse/progression or death (protocol text).

    Not in ELN 2022 Table 9; the protocol counts MLFS and PR responders (RULES.md §1.6).
    Censored at the last adequate disease assessment (``dor_censor`` = "last_assessment") or at
    last known alive. ``None`` for non-responders.
    """
    _choice("dor_censor", dor_censor)
    _choice("censor_at_hsct", censor_at_hsct)
    _choice("mrd_relapse_is_event", mrd_relapse_is_event)
    _choice("tte_day_offset", tte_day_offset)
    start = _first_response(course, RESPONDER_CATEGORIES, response_after_new_therapy)
    if start is None:
        return None
    _check_not_before("relapse_date", course.relapse_date, start)
    prog = (
        course.progression_date
        if course.progression_date and (course.progression_date >= start)
        else None
    )
    events: list[tuple[date | None, str]] = [
        (course.relapse_date, "relapse"),
        (prog, "progression"),
        (course.death_date, "death"),
    ]
    if mrd_relapse_is_event:
        _check_not_before("mrd_relapse_date", course.mrd_relapse_date, start)
        events.append((course.mrd_relapse_date, "mrd_relapse"))
    extra = [(course.hsct_date, "censored_hsct")] if censor_at_hsct else []
    if dor_censor == "last_assessment":
        censor = (course.last_disease_assessment() or start, "censored_last_assessment")
    else:
        censor = (course.last_alive(), "censored_last_known_alive")
    return _resolve(start, events, censor, extra, tte_day_offset)


# ---------------------------------------------------------------------------------------------
# §1.7 Rates at each time point
# ---------------------------------------------------------------------------------------------

RATE_MONTHS: tuple[int, ...] = (1, 2, 3, 6, 9, 12)

_RATE_SETS: dict[str, frozenset[str]] = {
    "orr": RESPONDER_CATEGORIES,
    "crr": CR_FAMILY,
    "prr": frozenset({"PR"}),
    "crhr": frozenset({"CRh"}),
    "crir": frozenset({"CRi"}),
    "mlfsr": frozenset({"MLFS"}),
}


@dataclass(frozen=True)
class Rate:
    """numerator / denominator with its exact (Clopper–Pearson) CI; None when denominator is 0."""

    numerator: int
    denominator: int
    rate: float | None
    ci_lower: float | None
    ci_upper: float | None


@dataclass(frozen=True)
class ResponseRates:
    """Rates of RULES.md §1.7 at one visit month."""

    month: int
    orr: Rate
    crr: Rate
    prr: Rate
    crhr: Rate
    crir: Rate
    mlfsr: Rate
    mrd_negative_rate: Rate

    def as_dict(self) -> dict[str, Rate]:
        return {
            "ORR": self.orr,
            "CRR": self.crr,
            "PRR": self.prr,
            "CRhR": self.crhr,
            "CRiR": self.crir,
            "MLFSR": self.mlfsr,
            "MRD_negative_rate": self.mrd_negative_rate,
        }


def _rate(k: int, n: int, confidence: float) -> Rate:
    if n == 0:
        return Rate(k, n, None, None, None)
    lo, hi = exact_ci(k, n, confidence)
    return Rate(k, n, k / n, lo, hi)


def response_rates(
    responses: Sequence[Mapping[int, str | None]],
    *,
    mrd: Sequence[Mapping[int, str | None]] | None = None,
    months: Sequence[int] = RATE_MONTHS,
    rate_basis: str = "at_visit",
    rate_denominator: str = "all_infused",
    confidence: float = 0.95,
) -> tuple[ResponseRates, ...]:
    """ORR, CRR, PRR, CRhR, CRiR, MLFSR and MRD-negative rate per visit month, with exact CIs.

    Protocol endpoints (registry text; RULES.md §1.7, ELN 2022 Table 6 categories, CI §6.2).
    ``responses``: one mapping per infused subject, visit month → ELN category (None/absent =
    not assessed). ``mrd``: parallel mappings, month → :func:`mrd_status` result.
    ``rate_basis``: response at the visit, or best response up to the visit.
    ``rate_denominator``: "all_infused" (missing/NE count as non-responders) or "evaluable"
    (subjects with a non-NE assessment at — or, for best response, up to — the visit).
    MRD-negative rate: numerator = CR/CRh/CRi with MRD "negative"; denominator = subjects with
    CR/CRh/CRi at the time point (protocol), restricted to those with a negative/positive MRD
    result when "evaluable". With best response, an MRD-negative CR/CRh/CRi at any visit up to
    the month counts.
    """
    _choice("rate_basis", rate_basis)
    _choice("rate_denominator", rate_denominator)
    if not (0 < float(confidence) < 1):
        raise ValueError(f"confidence must be between 0 and 1; got {confidence!r}")
    for m in months:
        if isinstance(m, bool) or not isinstance(m, int | np.integer) or m < 0:
            raise ValueError(f"months must be whole numbers ≥ 0; got {m!r}")
    if mrd is not None and len(mrd) != len(responses):
        raise ValueError(
            f"mrd must have one mapping per subject: {len(mrd)} mappings for "
            f"{len(responses)} subjects in responses"
        )
    subjects = []
    for i, resp in enumerate(responses):
        cats = {
            int(m): _category(f"responses[{i}][{m}]", c, optional=True) for m, c in resp.items()
        }
        mrds = {}
        if mrd is not None:
            for m, s in mrd[i].items():
                if s is not None and s not in MRD_RESULTS:
                    raise ValueError(
                        f"mrd[{i}][{m}] must be one of {', '.join(MRD_RESULTS)} or None; got {s!r}"
                    )
                mrds[int(m)] = s
        subjects.append((cats, mrds))

    out = []
    for month in months:
        counts = dict.fromkeys(_RATE_SETS, 0)
        denom = 0
        mrd_num = mrd_den = 0
        for cats, mrds in subjects:
            if rate_basis == "at_visit":
                visits = [month] if cats.get(month) is not None else []
            else:
                visits = sorted(m for m, c in cats.items() if m <= month and c is not None)
            known = [cats[m] for m in visits]
            best = min(known, key=_RANK.__getitem__) if known else None
            evaluable = best is not None and best != "NE"
            if rate_denominator == "all_infused" or evaluable:
                denom += 1
                for key, members in _RATE_SETS.items():
                    if best in members:
                        counts[key] += 1
            if best in CR_FAMILY:
                cr_visits = [m for m in visits if cats[m] in CR_FAMILY]
                results = [mrds.get(m) for m in cr_visits]
                if rate_denominator == "all_infused" or any(
                    r in ("negative", "positive") for r in results
                ):
                    mrd_den += 1
                    mrd_num += any(r == "negative" for r in results)
        out.append(
            ResponseRates(
                month=int(month),
                **{k: _rate(v, denom, confidence) for k, v in counts.items()},
                mrd_negative_rate=_rate(mrd_num, mrd_den, confidence),
            )
        )
    return tuple(out)


# ---------------------------------------------------------------------------------------------
# §1.8 Bone-marrow blast decline
# ---------------------------------------------------------------------------------------------


def blast_decline(
    baseline_pct: Number | None, current_pct: Number | None, *, method: str = "relative"
) -> float | None:
    """Decline of BM blasts from baseline (protocol endpoint; RULES.md §1.8).

    "relative" (default setting ``blast_decline``): (baseline − current) / baseline × 100, in %
    of the baseline value; "absolute": baseline − current in percentage points. Negative when
    blasts rose. ``None`` when either value is unknown, or for "relative" when baseline is 0.
    """
    _choice("blast_decline", method)
    base = _opt_dec("baseline_pct", baseline_pct, lo=_PCT_0, hi=_PCT_100)
    cur = _opt_dec("current_pct", current_pct, lo=_PCT_0, hi=_PCT_100)
    if base is None or cur is None:
        return None
    if method == "absolute":
        return float(base - cur)
    if base == 0:
        return None
    return float((base - cur) / base * 100)


@dataclass(frozen=True)
class BlastDeclineSummary:
    """Median and range of the per-subject blast decline at one visit; None when n = 0."""

    n: int
    median: float | None
    minimum: float | None
    maximum: float | None
    method: str


def median_blast_decline(
    pairs: Iterable[tuple[Number | None, Number | None]], *, method: str = "relative"
) -> BlastDeclineSummary:
    """Median (and range) BM blast decline across subjects (protocol endpoint; RULES.md §1.8).

    ``pairs``: (baseline %, current %) per subject; pairs whose decline is not calculable
    (a value unknown, or baseline 0 for "relative") are left out and not counted in ``n``.
    """
    _choice("blast_decline", method)
    values = []
    for i, pair in enumerate(pairs):
        if not isinstance(pair, tuple | list) or len(pair) != 2:
            raise ValueError(f"pairs[{i}] must be a (baseline_pct, current_pct) pair; got {pair!r}")
        v = blast_decline(pair[0], pair[1], method=method)
        if v is not None:
            values.append(v)
    if not values:
        return BlastDeclineSummary(0, None, None, None, method)
    return BlastDeclineSummary(
        len(values), float(statistics.median(values)), min(values), max(values), method
    )


# ---------------------------------------------------------------------------------------------
# §6.2 Exact binomial CI
# ---------------------------------------------------------------------------------------------


def exact_ci(successes: int, n: int, confidence: float = 0.95) -> tuple[float, float]:
    """Clopper–Pearson exact binomial CI (Clopper & Pearson 1934; RULES.md §6.2).

    lower = Beta⁻¹(α/2; k, n−k+1) (0 when k = 0); upper = Beta⁻¹(1−α/2; k+1, n−k) (1 when
    k = n); equals ``scipy.stats.binomtest(k, n).proportion_ci(confidence, method="exact")``.
    """
    k = _count("successes", successes)
    n_ = _count("n", n)
    if n_ < 1:
        raise ValueError(f"n must be a whole number ≥ 1; got {n!r}")
    if k > n_:
        raise ValueError(f"successes ({k}) must be between 0 and n ({n_})")
    conf = float(_dec("confidence", confidence))
    if not (0 < conf < 1):
        raise ValueError(f"confidence must be between 0 and 1 (exclusive); got {confidence!r}")
    alpha = 1 - conf
    lower = 0.0 if k == 0 else float(stats.beta.ppf(alpha / 2, k, n_ - k + 1))
    upper = 1.0 if k == n_ else float(stats.beta.ppf(1 - alpha / 2, k + 1, n_ - k))
    return lower, upper


# ---------------------------------------------------------------------------------------------
# §6.1 Kaplan–Meier
# ---------------------------------------------------------------------------------------------


class KMRow(NamedTuple):
    """One event time of the KM table (a plain tuple in this order)."""

    time: float
    at_risk: int
    events: int
    survival: float
    ci_lower: float
    ci_upper: float


@dataclass(frozen=True)
class SurvivalEstimate:
    """Kaplan–Meier estimate with Greenwood variance and pointwise CI (RULES.md §6.1).

    ``table``: one :class:`KMRow` per distinct event time; ``standard_errors``: Greenwood SE per
    row; ``median`` (None = not reached) and ``median_ci`` (each limit None = not reached);
    ``censor_times``: distinct times with a censoring (for plot ticks); ``max_time``: the largest
    observed time.
    """

    n: int
    n_events: int
    table: tuple[KMRow, ...]
    standard_errors: tuple[float, ...]
    median: float | None
    median_ci: tuple[float | None, float | None]
    censor_times: tuple[float, ...]
    max_time: float
    confidence: float = 0.95
    km_ci: str = "log-log"
    median_rule: str = "lifelines"
    _times: tuple[float, ...] = field(default=(), repr=False)

    def _index(self, t: Number) -> int:
        tf = float(_dec("t", t))
        return bisect_right(self._times, tf) - 1

    def survival_at(self, t: Number) -> float:
        """S(t), right-continuous step function (1.0 before the first event)."""
        i = self._index(t)
        return 1.0 if i < 0 else self.table[i].survival

    def ci_at(self, t: Number) -> tuple[float, float]:
        """Pointwise CI of S(t) ((1, 1) before the first event)."""
        i = self._index(t)
        return (1.0, 1.0) if i < 0 else (self.table[i].ci_lower, self.table[i].ci_upper)

    def landmark(self, t: Number) -> tuple[float | None, float | None, float | None]:
        """(S, lower, upper) at a landmark (e.g. 6- or 12-month OS).

        Beyond the largest observed time the estimate is not identifiable unless the curve has
        reached 0, so (None, None, None) is returned instead of extrapolating the last value.
        """
        s = self.survival_at(t)
        if float(_dec("t", t)) > self.max_time and s > 0:
            return None, None, None
        lo, hi = self.ci_at(t)
        return s, lo, hi


def kaplan_meier(
    durations: Sequence[Number],
    events: Sequence[bool],
    *,
    km_ci: str = "log-log",
    median_rule: str = "lifelines",
    confidence: float = 0.95,
) -> SurvivalEstimate:
    """Kaplan–Meier estimator (Kaplan & Meier 1958) with Greenwood variance (1926).

    Events precede censorings at tied times (a subject censored at tᵢ is at risk at tᵢ).
    ``km_ci``: "log-log" (exponential Greenwood, as lifelines/SAS; default), "linear" (S ± z·SE,
    clipped) or "log" (R survival's default, S·exp(±z·√Σ), clipped); the band is 0–0 where
    S = 0. ``median_rule``: "lifelines" (first t with S ≤ 0.5), "statsmodels" (first t with
    S < 0.5) or "midpoint" (SAS/R: midpoint of a segment where S = 0.5 exactly and the next event
    time). S is computed in exact fractions, so exact ties at 0.5 are recognised. Median CI
    (Brookmeyer & Crowley 1982, following lifelines): first event time where the lower / upper
    pointwise limit is ≤ 0.5 — equals ``median_survival_times(kmf.confidence_interval_)``.
    """
    _choice("km_ci", km_ci)
    _choice("median_rule", median_rule)
    conf = float(_dec("confidence", confidence))
    if not (0 < conf < 1):
        raise ValueError(f"confidence must be between 0 and 1 (exclusive); got {confidence!r}")
    if len(durations) != len(events):
        raise ValueError(
            f"durations and events must have the same length; got {len(durations)} durations "
            f"and {len(events)} events"
        )
    if len(durations) == 0:
        raise ValueError("durations must not be empty")
    times = []
    for i, d in enumerate(durations):
        dd = _dec(f"durations[{i}]", d)
        if dd < 0:
            raise ValueError(f"durations[{i}] must be ≥ 0; got {d!r}")
        times.append(float(dd))
    flags = []
    for i, e in enumerate(events):
        # 1.0/0.0 floats are accepted too: data frames often store the event flag as float.
        numeric = isinstance(e, int | float | np.integer | np.floating) and not isinstance(e, bool)
        if isinstance(e, bool | np.bool_) or (numeric and float(e) in (0.0, 1.0)):
            flags.append(bool(e))
        else:
            raise ValueError(f"events[{i}] must be True/False (or 1/0); got {e!r}")

    z = float(stats.norm.ppf(1 - (1 - conf) / 2))
    t_arr = np.asarray(times)
    e_arr = np.asarray(flags, dtype=bool)
    distinct = np.unique(t_arr)
    surv = Fraction(1)
    cum = 0.0
    rows: list[KMRow] = []
    exact: list[Fraction] = []
    ses: list[float] = []
    for t in distinct:
        d = int(np.sum(e_arr & (t_arr == t)))
        if d == 0:
            continue
        n_risk = int(np.sum(t_arr >= t))
        surv *= Fraction(n_risk - d, n_risk)
        if n_risk > d:
            cum += d / (n_risk * (n_risk - d))
        s = float(surv)
        se = s * math.sqrt(cum)
        if s == 0.0:
            lo = hi = 0.0
        elif km_ci == "log-log":
            v = math.log(s)
            lo = math.exp(-math.exp(math.log(-v) - z * math.sqrt(cum) / v))
            hi = math.exp(-math.exp(math.log(-v) + z * math.sqrt(cum) / v))
        elif km_ci == "linear":
            lo, hi = max(0.0, s - z * se), min(1.0, s + z * se)
        else:
            lo = max(0.0, s * math.exp(-z * math.sqrt(cum)))
            hi = min(1.0, s * math.exp(z * math.sqrt(cum)))
        rows.append(KMRow(float(t), n_risk, d, s, lo, hi))
        exact.append(surv)
        ses.append(se)

    half = Fraction(1, 2)
    median: float | None = None
    if median_rule == "statsmodels":
        idx = next((i for i, s in enumerate(exact) if s < half), None)
        median = None if idx is None else rows[idx].time
    else:
        idx = next((i for i, s in enumerate(exact) if s <= half), None)
        if idx is not None:
            median = rows[idx].time
            if median_rule == "midpoint" and exact[idx] == half and idx + 1 < len(rows):
                median = (rows[idx].time + rows[idx + 1].time) / 2
    ci_low = next((r.time for r in rows if r.ci_lower <= 0.5), None)
    ci_high = next((r.time for r in rows if r.ci_upper <= 0.5), None)
    censor_times = tuple(float(t) for t in np.unique(t_arr[~e_arr]))
    return SurvivalEstimate(
        n=len(times),
        n_events=int(e_arr.sum()),
        table=tuple(rows),
        standard_errors=tuple(ses),
        median=median,
        median_ci=(ci_low, ci_high),
        censor_times=censor_times,
        max_time=float(t_arr.max()),
        confidence=conf,
        km_ci=km_ci,
        median_rule=median_rule,
        _times=tuple(r.time for r in rows),
    )


# ---------------------------------------------------------------------------------------------
# §6.3 CAR-T cellular kinetics
# ---------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Kinetics:
    """Non-compartmental CAR-T kinetics of one subject and analyte (RULES.md §6.3).

    ``auc`` (AUC 0–``auc_end_day``, level × day) and ``c_auc_end`` (observed or interpolated
    level at the end day) are None when not calculable (no sample at/after the end day);
    ``tmax``/``tlast``/``clast`` are None without a quantifiable level (``cmax`` is then 0).
    """

    cmax: float | None
    tmax: float | None
    auc: float | None
    tlast: float | None
    clast: float | None
    auc_end_day: float = 28.0
    auc_method: str = "linear"
    c_auc_end: float | None = None


def _interp(t1: float, c1: float, t2: float, c2: float, t: float, log: bool) -> float:
    frac = (t - t1) / (t2 - t1)
    if log and c1 > 0 and c2 > 0:
        return math.exp(math.log(c1) + (math.log(c2) - math.log(c1)) * frac)
    return c1 + (c2 - c1) * frac


def _segment_area(t1: float, c1: float, t2: float, c2: float, log_down: bool) -> float:
    dt = t2 - t1
    if log_down and c1 > c2 > 0:
        return (c1 - c2) * dt / math.log(c1 / c2)
    return (c1 + c2) / 2 * dt


def kinetics(
    samples: Sequence[tuple[Number, Number | None]],
    *,
    auc_end_day: Number = 28,
    auc_method: str = "linear",
    auc_end_interpolation: str = "auto",
    blq_between: str = "missing",
    blq_after_tlast: str = "exclude",
    lloq: Number = 0,
) -> Kinetics:
    """Cmax, Tmax, AUC0–28d, Tlast, Clast of a CAR transgene/CAR⁺-cell profile.

    Non-compartmental parameters as for tisagenlecleucel (Mueller et al. Clin Cancer Res 2018;
    Awasthi et al. Blood Adv 2020;4:560); RULES.md §6.3. ``samples``: (study day, level) with
    Day 0 = infusion, BLQ as 0 (or ≤ ``lloq``), ``None`` = no result (ignored).
    Cmax = highest level, Tmax = first day it occurs. AUC by the linear trapezoid on actual days
    (``auc_method`` "linear-up/log-down": log trapezoid on declining segments with two
    quantifiable levels); Day 0 = 0 unless measured; C(end) interpolated between the bracketing
    samples (``auc_end_interpolation`` "auto" follows the AUC method: log-linear on a declining
    quantifiable segment with log-down, linear otherwise); not calculable without a sample at or
    after the end day. BLQ rules: before the first quantifiable level = 0; between quantifiable
    levels ``blq_between`` ("missing" = left out, or "zero"); after Tlast ``blq_after_tlast``
    ("exclude": left out, except that the first sample at/after the end day counts as 0 for
    C(end) when no BLQ sample lies between Tlast and the end day — otherwise the area stops at
    Tlast; "zero": counted as 0).
    """
    _choice("auc_method", auc_method)
    _choice("auc_end_interpolation", auc_end_interpolation)
    _choice("blq_between", blq_between)
    _choice("blq_after_tlast", blq_after_tlast)
    end_d = _dec("auc_end_day", auc_end_day)
    if end_d <= 0:
        raise ValueError(f"auc_end_day must be > 0; got {auc_end_day!r}")
    lloq_d = _dec("lloq", lloq)
    if lloq_d < 0:
        raise ValueError(f"lloq must be ≥ 0; got {lloq!r}")
    end = float(end_d)

    pts: dict[float, tuple[float, bool]] = {}
    for i, s in enumerate(samples):
        if not isinstance(s, tuple | list) or len(s) != 2:
            raise ValueError(f"samples[{i}] must be a (day, level) pair; got {s!r}")
        day_d = _dec(f"samples[{i}] day", s[0])
        if day_d < 0:
            raise ValueError(f"samples[{i}] day must be ≥ 0 (Day 0 = infusion); got {s[0]!r}")
        if s[1] is None:
            continue
        val_d = _dec(f"samples[{i}] level", s[1])
        if val_d < 0:
            raise ValueError(f"samples[{i}] level must be ≥ 0 (BLQ as 0); got {s[1]!r}")
        day = float(day_d)
        if day in pts:
            raise ValueError(f"samples has two levels on day {s[0]!r}; give one per day")
        quant = val_d > lloq_d
        pts[day] = (float(val_d) if quant else 0.0, quant)
    if not pts:
        return Kinetics(None, None, None, None, None, end, auc_method, None)

    days = sorted(pts)
    quant_days = [d for d in days if pts[d][1]]
    cmax = max(pts[d][0] for d in days)
    tmax = next((d for d in days if pts[d][1] and pts[d][0] == cmax), None)
    tlast = quant_days[-1] if quant_days else None
    clast = pts[tlast][0] if tlast is not None else None
    if not quant_days:
        cmax = 0.0

    calculable = days[-1] >= end
    auc: float | None = None
    c_end: float | None = None
    if calculable:
        first_q = quant_days[0] if quant_days else math.inf
        last_q = tlast if tlast is not None else -math.inf
        verts: list[tuple[float, float]] = []
        if 0.0 not in pts:
            verts.append((0.0, 0.0))
        stop_at_tlast = False
        for d in days:
            value, quant = pts[d]
            if quant or d < first_q:
                verts.append((d, value))
            elif d < last_q:
                if blq_between == "zero":
                    verts.append((d, 0.0))
            elif blq_after_tlast == "zero":
                verts.append((d, 0.0))
            elif d < end:
                stop_at_tlast = True  # BLQ between Tlast and the end day: area stops at Tlast
            elif not stop_at_tlast and verts[-1][0] < end:
                verts.append((d, 0.0))  # first sample at/after the end day counts as 0
                break
        log_down = auc_method == "linear-up/log-down"
        interp_log = auc_end_interpolation == "log-linear"
        auc = 0.0
        for (t1, c1), (t2, c2) in zip(verts, verts[1:], strict=False):
            if t1 >= end:
                break
            if t2 <= end:
                auc += _segment_area(t1, c1, t2, c2, log_down)
                if t2 == end:
                    c_end = c2
                continue
            use_log = (log_down and c1 > c2 > 0) if auc_end_interpolation == "auto" else interp_log
            c_end = _interp(t1, c1, t2, c2, end, use_log)
            auc += _segment_area(t1, c1, end, c_end, log_down)
            break
        if c_end is None and verts[-1][0] < end:
            c_end = 0.0  # the level fell below LLOQ between Tlast and the end day
    return Kinetics(
        cmax=cmax,
        tmax=tmax,
        auc=auc,
        tlast=tlast,
        clast=clast,
        auc_end_day=end,
        auc_method=auc_method,
        c_auc_end=c_end,
    )


# ---------------------------------------------------------------------------------------------
# Exploratory correlations
# ---------------------------------------------------------------------------------------------


def spearman(
    x: Sequence[Number | None], y: Sequence[Number | None]
) -> tuple[float | None, float | None]:
    """Spearman rank correlation (rho, two-sided p) via ``scipy.stats.spearmanr``.

    For the protocol's exploratory cytokine / CAR-T level vs CRS/ICANS correlations. Pairs with
    a ``None`` are dropped (pairwise complete); fewer than 3 complete pairs raise ValueError;
    a constant variable gives (None, None).
    """
    if len(x) != len(y):
        raise ValueError(f"x and y must have the same length; got {len(x)} and {len(y)}")
    xs, ys = [], []
    for i, (a, b) in enumerate(zip(x, y, strict=True)):
        if a is None or b is None:
            continue
        xs.append(float(_dec(f"x[{i}]", a)))
        ys.append(float(_dec(f"y[{i}]", b)))
    if len(xs) < 3:
        raise ValueError(f"spearman needs at least 3 complete (x, y) pairs; got {len(xs)}")
    if len(set(xs)) < 2 or len(set(ys)) < 2:
        return None, None
    res = stats.spearmanr(xs, ys)
    rho, p = float(res.statistic), float(res.pvalue)
    return (None if math.isnan(rho) else rho), (None if math.isnan(p) else p)
