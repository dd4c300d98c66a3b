"""Efficacy CRFs: response assessments, follow-up and disease events (issue #13)."""

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
from efficacy.models.snapshot import EndpointSnapshot

__all__ = [
    "DiseaseEvent",
    "DiseaseEventType",
    "DiseaseStatus",
    "EndpointSnapshot",
    "FollowUp",
    "MarrowAdequacy",
    "ResponseAssessment",
    "ResponseDecision",
    "ResponseTimepoint",
    "SurvivalStatus",
]
