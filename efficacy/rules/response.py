"""ELN 2022 response categories (CR, CRh, CRi, MLFS, PR, NR, NE) for one marrow assessment.

Source: Döhner H et al., ELN 2022 recommendations, Blood 2022;140:1345-1377, Table 6.
"""

from __future__ import annotations

from decimal import Decimal
from itertools import product

from efficacy.rules._values import _PCT_0, _PCT_100, Number, _choice, _opt_bool, _opt_dec

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
