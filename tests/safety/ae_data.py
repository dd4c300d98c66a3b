"""CTCAE terms and adverse events for safety tests, entered through the services."""

from __future__ import annotations

from safety.models import CTCAETerm, DLTCategory


def term(name: str = "Nausea", *, max_grade: int = 3, **fields) -> CTCAETerm:
    """A CTCAE term defining grades 1..max_grade (as NCI prints them, '-' above)."""
    grades = {f"grade_{g}": f"{name} grade {g}" for g in range(1, max_grade + 1)}
    defaults = {
        "soc": "Gastrointestinal disorders",
        "dlt_category": DLTCategory.NON_HEMATOLOGIC,
        **grades,
        **fields,
    }
    found, _created = CTCAETerm.objects.get_or_create(term=name, defaults=defaults)
    return found
