"""Bone-marrow blast decline per subject and its median across subjects.

Source: protocol secondary outcome "median bone-marrow blast percentage decline".
"""

from __future__ import annotations

import statistics
from collections.abc import Iterable
from dataclasses import dataclass

from efficacy.rules._values import _PCT_0, _PCT_100, Number, _choice, _opt_dec

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
    excluded_zero_baseline: int = 0


def median_blast_decline(
    pairs: Iterable[tuple[Number | None, Number | None]], *, method: str = "relative"
) -> BlastDeclineSummary:
    """Median (and range) BM blast decline across subjects (protocol endpoint; RULES.md §1.8).

    ``pairs``: (baseline %, current %) per subject; pairs whose decline is not calculable
    (a value unknown, or baseline 0 for "relative") are left out and not counted in ``n``.
    A 0 % baseline is excluded from the relative median and included in the absolute one;
    ``excluded_zero_baseline`` says how many subjects the relative median left out for it.
    """
    _choice("blast_decline", method)
    values = []
    zero_baseline = 0
    for i, pair in enumerate(pairs):
        if not isinstance(pair, tuple | list) or len(pair) != 2:
            raise ValueError(f"pairs[{i}] must be a (baseline_pct, current_pct) pair; got {pair!r}")
        v = blast_decline(pair[0], pair[1], method=method)
        if v is not None:
            values.append(v)
        elif method == "relative" and pair[0] is not None and pair[1] is not None:
            zero_baseline += 1
    if not values:
        return BlastDeclineSummary(0, None, None, None, method, zero_baseline)
    return BlastDeclineSummary(
        len(values),
        float(statistics.median(values)),
        min(values),
        max(values),
        method,
        zero_baseline,
    )
