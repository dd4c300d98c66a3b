"""Efficacy tables; one module per area, re-exported here so Django finds every model."""

from efficacy.models.follow_up import (
    DiseaseEvent,
    DiseaseEventType,
    DiseaseStatus,
    FollowUp,
    SurvivalStatus,
)
from efficacy.models.response import (
    MarrowAdequacy,
    ResponseAssessment,
    ResponseDecision,
    ResponseTimepoint,
)
from efficacy.models.samples import (
    AntiCARAntibody,
    AntiCARResult,
    AntiCARTimepoint,
    Clonality,
    Compartment,
    KineticsMethod,
    KineticsSample,
    KineticsTimepoint,
    RCLMethod,
    RCLResult,
    RCLTest,
    SampleImport,
)
from efficacy.models.snapshot import EndpointSnapshot

__all__ = [
    "AntiCARAntibody",
    "AntiCARResult",
    "AntiCARTimepoint",
    "Clonality",
    "Compartment",
    "DiseaseEvent",
    "DiseaseEventType",
    "DiseaseStatus",
    "EndpointSnapshot",
    "FollowUp",
    "KineticsMethod",
    "KineticsSample",
    "KineticsTimepoint",
    "MarrowAdequacy",
    "RCLMethod",
    "RCLResult",
    "RCLTest",
    "ResponseAssessment",
    "ResponseDecision",
    "ResponseTimepoint",
    "SampleImport",
    "SurvivalStatus",
]
