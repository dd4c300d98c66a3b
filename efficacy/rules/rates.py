"""Response rates at each month (ORR, CRR, PRR, CRhR, CRiR, MLFSR, MRD-negative rate) with
Clopper-Pearson intervals.

Source: protocol secondary outcomes; Clopper & Pearson, Biometrika 1934.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np

from efficacy.rules._values import _choice
from efficacy.rules.mrd import MRD_RESULTS
from efficacy.rules.response import _RANK, CR_FAMILY, RESPONDER_CATEGORIES, _category
from efficacy.rules.statistics import exact_ci

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
