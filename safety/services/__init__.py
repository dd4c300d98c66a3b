"""Every safety write (DESIGN.md §3), one module per area: adverse events and their grade
history, DLT evaluation and adjudication, lab results. Re-exported here so
``from safety import services`` works."""

from safety.services.adverse_events import (
    GRADE_DATE_ORDER,
    save_adverse_event,
    save_derived_adverse_event,
)
from safety.services.crs_icans import (
    grade_crs,
    grade_icans,
    save_crs_assessment,
    save_icans_assessment,
)
from safety.services.dlt import adjudicate_dlt, close_dlt_windows, refresh_dlt_evaluation
from safety.services.labs import (
    LabRowsInvalid,
    confirm_lab_proposal,
    dismiss_lab_proposal,
    grade_preview,
    regrade_labs,
    save_lab_panel,
)
from safety.services.sae import record_submission, sync_sae_report, update_sae_report
from safety.services.terms import load_ctcae_file, load_shipped_terms

__all__ = [
    "GRADE_DATE_ORDER",
    "LabRowsInvalid",
    "adjudicate_dlt",
    "close_dlt_windows",
    "confirm_lab_proposal",
    "dismiss_lab_proposal",
    "grade_crs",
    "grade_icans",
    "grade_preview",
    "load_ctcae_file",
    "load_shipped_terms",
    "record_submission",
    "refresh_dlt_evaluation",
    "regrade_labs",
    "save_adverse_event",
    "save_crs_assessment",
    "save_derived_adverse_event",
    "save_icans_assessment",
    "save_lab_panel",
    "sync_sae_report",
    "update_sae_report",
]
from safety.services.transfusions import save_transfusion  # noqa: E402

__all__ += ["save_transfusion"]
