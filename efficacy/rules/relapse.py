"""Haematologic and MRD relapse after a remission.

Source: Döhner 2022 (relapse definitions); Heuser 2021 (MRD relapse, confirmation).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal

from efficacy.rules._values import (
    _PCT_0,
    _PCT_100,
    Number,
    _bool,
    _choice,
    _count,
    _date,
    _dec,
    _opt_bool,
    _opt_dec,
)
from efficacy.rules.response import _D5

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
    mrd_confirm_within_days: int | None = 28,
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
    next sample of the same specimen within ``mrd_confirm_within_days`` (default 28; ``None`` =
    any interval; a negative sample in between ends the suspicion; marrow and blood are
    different specimens), dated at the
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
