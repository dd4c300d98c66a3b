"""Endpoint statistics: exact binomial CI, Kaplan-Meier with Greenwood/log-log CI and median,
Spearman correlation.

Sources: Clopper & Pearson 1934; Kaplan & Meier 1958; Greenwood 1926; Brookmeyer & Crowley,
Biometrics 1982;38:29 (median CI, as lifelines computes it).
"""

from __future__ import annotations

import math
from bisect import bisect_right
from collections.abc import Sequence
from dataclasses import dataclass, field
from fractions import Fraction
from typing import NamedTuple

import numpy as np
from scipy import stats

from efficacy.rules._values import Number, _choice, _count, _dec

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

        Beyond the largest observed time (event or censoring) the estimate is not estimable,
        so (None, None, None) is returned, never an extrapolated last value, even when the curve
        has reached 0. At the largest observed time itself the estimate is given.
        """
        s = self.survival_at(t)
        if float(_dec("t", t)) > self.max_time:
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
