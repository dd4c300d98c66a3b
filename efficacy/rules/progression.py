"""Progressive disease for MLFS/PR responders (ELN 2022 has none; ELN 2017 is used).

Source: Döhner H et al., ELN 2017 recommendations, Blood 2017;129:424-447, Table 7 footnote.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from decimal import Decimal

from efficacy.rules._values import _PCT_0, _PCT_100, Number, _choice, _count, _dec, _opt_dec
from efficacy.rules.relapse import DiseaseObservation, detect_relapse
from efficacy.rules.response import _ANC_CRH, _PLT_CRH, RESPONDER_CATEGORIES


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
