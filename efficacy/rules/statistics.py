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
from typing import NamedTuple

import numpy as np
from scipy import special, stats

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
    # The Beta quantile straight from scipy.special (what stats.beta.ppf calls, without the
    # distribution machinery's argument checks: ~50× faster, same numbers).
    lower = 0.0 if k == 0 else float(special.betaincinv(k, n_ - k + 1, alpha / 2))
    upper = 1.0 if k == n_ else float(special.betaincinv(k + 1, n_ - k, 1 - alpha / 2))
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


_PLAIN_NUMBERS = (int, float)


def _km_durations(durations: Sequence[Number]) -> np.ndarray:
    """Durations as a float array; each value checked ≥ 0 and finite.

    Plain int/float lists and numeric arrays are checked in one vectorised pass; anything else
    (Decimal, numpy scalars, a bad value) goes through the per-value check, which names the
    first offending position.
    """
    if isinstance(durations, np.ndarray) and durations.dtype.kind in "iuf":
        arr = durations.astype(float, copy=False).ravel()
    elif all(type(d) in _PLAIN_NUMBERS for d in durations):
        arr = np.asarray(durations, dtype=float)
    else:
        arr = None
    if (
        arr is not None
        and len(arr) == len(durations)
        and np.isfinite(arr).all()
        and (arr >= 0).all()
    ):
        return arr
    times = []
    for i, d in enumerate(durations):
        dd = _dec(f"durations[{i}]", d)
        if dd < 0:
            raise ValueError(f"durations[{i}] must be ≥ 0; got {d!r}")
        times.append(float(dd))
    return np.asarray(times, dtype=float)


def _km_events(events: Sequence[bool]) -> np.ndarray:
    """Event flags as a bool array: True/False, or 1/0 (also 1.0/0.0: data frames often store
    the event flag as float); anything else raises ValueError naming its position."""
    if isinstance(events, np.ndarray) and events.dtype.kind == "b":
        return events.ravel()
    if isinstance(events, np.ndarray) and events.dtype.kind in "iuf":
        flat = events.ravel()
        if ((flat == 0) | (flat == 1)).all():
            return flat == 1
    if all(type(e) is bool for e in events):
        return np.asarray(events, dtype=bool)
    flags = []
    for i, e in enumerate(events):
        numeric = isinstance(e, int | float | np.integer | np.floating) and not isinstance(e, bool)
        if isinstance(e, bool | np.bool_) or (numeric and float(e) in (0.0, 1.0)):
            flags.append(bool(e))
        else:
            raise ValueError(f"events[{i}] must be True/False (or 1/0); got {e!r}")
    return np.asarray(flags, dtype=bool)


def _product(values: list[int]) -> int:
    """Exact product by halving (fast for long lists of small whole numbers)."""
    if len(values) <= 16:
        return math.prod(values)
    mid = len(values) // 2
    return _product(values[:mid]) * _product(values[mid:])


#: Survival values this close to 1/2 are compared in exact whole numbers, so an exact tie at
#: 0.5 is recognised (the float product's error is far smaller: ~1e-16 per event time).
_HALF_WINDOW = 1e-9


def _median_index(
    survival: np.ndarray, at_risk: np.ndarray, deaths: np.ndarray, *, strict: bool
) -> tuple[int | None, bool]:
    """(first event row with S ≤ 1/2 — S < 1/2 when ``strict`` — or None, S there is exactly 1/2).

    S is a product of (n − d)/n; the float product decides wherever it is clearly on one side of
    1/2, and the exact product Π(n − d) / Π n decides inside ``_HALF_WINDOW``.
    """
    # S is non-increasing (each factor ≤ 1, and float rounding is monotone).
    first = int(np.searchsorted(-survival, -(0.5 + _HALF_WINDOW), side="left"))
    num = den = None
    for i in range(first, len(survival)):
        s = float(survival[i])
        if s < 0.5 - _HALF_WINDOW:
            return i, False
        if num is None:
            num = _product([int(v) for v in (at_risk[: i + 1] - deaths[: i + 1])])
            den = _product([int(v) for v in at_risk[: i + 1]])
        else:
            num *= int(at_risk[i] - deaths[i])
            den *= int(at_risk[i])
        if 2 * num < den or (not strict and 2 * num == den):
            return i, 2 * num == den
    return None, False


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
    time). Exact ties at 0.5 are recognised: near 1/2, S is compared as the exact product of
    whole numbers. Median CI (Brookmeyer & Crowley 1982, following lifelines): first event time
    where the lower / upper pointwise limit is ≤ 0.5 — equals
    ``median_survival_times(kmf.confidence_interval_)``.

    Sorts once and sweeps (O(n log n)): the distinct times come sorted with their deaths and
    removals counted per time, and the number at risk is what is left after the earlier times.
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
    t_arr = _km_durations(durations)
    e_arr = _km_events(events)
    z = float(stats.norm.ppf(1 - (1 - conf) / 2))

    # The sort and the sweep: per distinct time, how many leave and how many of them die.
    distinct, inverse, removed = np.unique(t_arr, return_inverse=True, return_counts=True)
    died = np.bincount(inverse, weights=e_arr, minlength=len(distinct)).astype(np.int64)
    before = np.concatenate(([0], np.cumsum(removed)[:-1]))
    at_risk_all = len(t_arr) - before
    keep = died > 0
    times = distinct[keep]
    at_risk = at_risk_all[keep].astype(np.int64)
    deaths = died[keep]

    survival = np.cumprod((at_risk - deaths) / at_risk)
    survivors = at_risk - deaths
    with np.errstate(divide="ignore", invalid="ignore"):
        terms = np.where(survivors > 0, deaths / (at_risk * np.maximum(survivors, 1)), 0.0)
    cum = np.cumsum(terms)
    root = np.sqrt(cum)
    ses = survival * root
    alive = survival > 0
    with np.errstate(divide="ignore", invalid="ignore"):
        if km_ci == "log-log":
            v = np.log(np.where(alive, survival, 0.5))
            lower = np.exp(-np.exp(np.log(-v) - z * root / v))
            upper = np.exp(-np.exp(np.log(-v) + z * root / v))
        elif km_ci == "linear":
            lower = np.maximum(0.0, survival - z * ses)
            upper = np.minimum(1.0, survival + z * ses)
        else:
            lower = np.maximum(0.0, survival * np.exp(-z * root))
            upper = np.minimum(1.0, survival * np.exp(z * root))
    lower = np.where(alive, lower, 0.0)
    upper = np.where(alive, upper, 0.0)

    time_list = times.tolist()
    rows = tuple(
        map(
            KMRow._make,
            zip(
                time_list,
                at_risk.tolist(),
                deaths.tolist(),
                survival.tolist(),
                lower.tolist(),
                upper.tolist(),
                strict=True,
            ),
        )
    )

    median: float | None = None
    idx, exactly_half = _median_index(
        survival, at_risk, deaths, strict=median_rule == "statsmodels"
    )
    if idx is not None:
        median = time_list[idx]
        if median_rule == "midpoint" and exactly_half and idx + 1 < len(rows):
            median = (time_list[idx] + time_list[idx + 1]) / 2
    below_low = np.flatnonzero(lower <= 0.5)
    below_high = np.flatnonzero(upper <= 0.5)
    ci_low = time_list[below_low[0]] if len(below_low) else None
    ci_high = time_list[below_high[0]] if len(below_high) else None
    censor_times = tuple(np.unique(t_arr[~e_arr]).tolist())
    return SurvivalEstimate(
        n=len(t_arr),
        n_events=int(e_arr.sum()),
        table=rows,
        standard_errors=tuple(ses.tolist()),
        median=median,
        median_ci=(ci_low, ci_high),
        censor_times=censor_times,
        max_time=float(t_arr.max()),
        confidence=conf,
        km_ci=km_ci,
        median_rule=median_rule,
        _times=tuple(time_list),
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
