"""The SAE print's suspect product, from dosing, for safety (``safety.sae_product``).

Registered by ``trialsite.dashboards.apps`` so that safety's CIOMS-I print shows the dose
level, the cells/kg actually infused and Day 0 without importing dosing (DESIGN §2). One query
(``dosing.selectors.subject_dose_levels``).
"""

from __future__ import annotations

from dosing import selectors
from safety.sae_product import SuspectProduct


def infused_product(subject) -> SuspectProduct | None:
    """The subject's active dose level and infusion, or None when never assigned."""
    found = selectors.subject_dose_levels(subject.study_id).get(subject.pk)
    if found is None:
        return None
    return SuspectProduct(
        dose_level=found.label,
        cells_per_kg=found.infused_cells_per_kg,
        infused_on=found.infused_on,
    )
