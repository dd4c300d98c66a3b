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


@dataclass(frozen=True)
class BestResponse:
    """A subject's best overall response over some visits.

    category: best ELN category (``None`` = no assessment). mrd_negative: the best response is
    CR/CRh/CRi with an MRD-negative result at a visit with that category. month: the first visit
    month at which the best response (MRD-negative, where it is) was seen.
    """

    category: str | None
    mrd_negative: bool
    month: int | None


def best_overall_response(
    responses: Mapping[int, str | None], mrd: Mapping[int, str | None] | None = None
) -> BestResponse:
    """Best overall response: CR (MRD−) > CR > CRh > CRi > MLFS > PR > NR > NE.

    Source: ELN 2022 (Döhner et al., Blood 2022) response hierarchy, with the MRD-negative CR
    ranked first. For CRh and CRi the MRD result does not change the rank, and the response is
    MRD-negative when any visit with that best category is MRD "negative".
    """
    mrd = mrd or {}
    visits = sorted((int(m), c) for m, c in responses.items() if c is not None)
    if not visits:
        return BestResponse(None, False, None)

    def rank(item: tuple[int, str]) -> tuple[int, int, int]:
        month, cat = item
        negative = cat in CR_FAMILY and mrd.get(month) == "negative"
        return (_RANK[cat], 0 if negative else 1, month)

    month, category = min(visits, key=rank)
    negative = category in CR_FAMILY and any(
        c == category and mrd.get(m) == "negative" for m, c in visits
    )
    return BestResponse(category, negative, month)


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
    result when "evaluable". With best response (:func:`best_overall_response`, CR (MRD−) > CR >
    CRh > CRi > MLFS > PR > NR) the numerator is the subjects whose best response is CR/CRh/CRi
    with MRD−, the denominator those whose best response is CR/CRh/CRi: a CRh MRD− followed by
    a CR that is MRD+ has best response CR, not MRD-negative.
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
            bor = best_overall_response({m: cats[m] for m in visits}, mrds)
            best = bor.category
            evaluable = best is not None and best != "NE"
            if rate_denominator == "all_infused" or evaluable:
                denom += 1
                for key, members in _RATE_SETS.items():
                    if best in members:
                        counts[key] += 1
            if best in CR_FAMILY:
                results = [mrds.get(m) for m in visits if cats[m] == best]
                if rate_denominator == "all_infused" or any(
                    r in ("negative", "positive") for r in results
                ):
                    mrd_den += 1
                    mrd_num += bor.mrd_negative
        out.append(
            ResponseRates(
                month=int(month),
                **{k: _rate(v, denom, confidence) for k, v in counts.items()},
                mrd_negative_rate=_rate(mrd_num, mrd_den, confidence),
            )
        )
    return tuple(out)
