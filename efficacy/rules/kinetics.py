"""CAR-T cellular kinetics (non-compartmental): Cmax, Tmax, AUC0-28d, Tlast, Clast.

Source: Mueller KT et al., Clin Cancer Res 2018; Awasthi R et al., Blood Adv 2020;4:560.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

from efficacy.rules._values import Number, _choice, _dec

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
