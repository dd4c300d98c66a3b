"""Flow-cytometry MRD status of a CR/CRh/CRi (protocol: negative below 10^-4 with >= 100 000 cells).

Source: Döhner 2022 (MRD-qualified responses); Heuser M et al., Blood 2021;138:2753.
"""

from __future__ import annotations

from decimal import Decimal

from efficacy.rules._values import _count, _dec
from efficacy.rules.response import CR_FAMILY, _category

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
