"""Safety tables: CTCAE v5.0 terms, adverse events with their grade history, and (added by the
CRS/ICANS, lab and DLT modules) the daily assessments, lab results and DLT evaluations.

One module per clinical area keeps each small; everything is re-exported here so
``from safety.models import AdverseEvent`` works and Django finds every model.
"""

from safety.models.adverse_events import (
    ActionTaken,
    AdverseEvent,
    AdverseEventGrade,
    AEOutcome,
    AESource,
    Expectedness,
    Relatedness,
    SeriousnessCriterion,
    Treatment,
)
from safety.models.dlt import DLTAdjudication, DLTEvaluation, DLTStatus
from safety.models.labs import LabAEProposal, LabFlag, LabPanel, LabResult, ProposalStatus, Specimen  # noqa: E501
from safety.models.sae import ClockKind, ClockStatus, SAEClock, SAEClockAlert, SAEReport, SUSARClass  # noqa: E501
from safety.models.terms import CTCAELoad, CTCAETerm, DLTCategory, GradingScale

__all__ = [
    "AEOutcome",
    "AESource",
    "ActionTaken",
    "AdverseEvent",
    "AdverseEventGrade",
    "CTCAELoad",
    "CTCAETerm",
    "DLTAdjudication",
    "DLTEvaluation",
    "DLTStatus",
    "ClockKind",
    "ClockStatus",
    "DLTCategory",
    "Expectedness",
    "LabAEProposal",
    "LabFlag",
    "LabPanel",
    "LabResult",
    "ProposalStatus",
    "Specimen",
    "GradingScale",
    "Relatedness",
    "SAEClock",
    "SAEClockAlert",
    "SAEReport",
    "SUSARClass",
    "SeriousnessCriterion",
    "Treatment",
]
from safety.models.crs_icans import (  # noqa: E402
    CRSAssessment,
    CRSEpisode,
    ICANSAssessment,
    ICANSEpisode,
)

__all__ += ["CRSAssessment", "CRSEpisode", "ICANSAssessment", "ICANSEpisode"]
from safety.models.transfusions import BloodProduct, Transfusion  # noqa: E402

__all__ += ["BloodProduct", "Transfusion"]
