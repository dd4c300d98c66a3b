"""Every safety write (DESIGN.md §3): adverse events and their grade history; the CRS/ICANS,
lab and DLT modules add theirs. Re-exported here so ``from safety import services`` works."""

from safety.services.adverse_events import (
    GRADE_DATE_ORDER,
    save_adverse_event,
    save_derived_adverse_event,
)
from safety.services.dlt import adjudicate_dlt, close_dlt_windows, refresh_dlt_evaluation

__all__ = [
    "GRADE_DATE_ORDER",
    "adjudicate_dlt",
    "close_dlt_windows",
    "refresh_dlt_evaluation",
    "save_adverse_event",
    "save_derived_adverse_event",
]
