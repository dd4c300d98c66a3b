"""Every efficacy write (docs/architecture.md §10 step 2, §13.1)."""

from efficacy.services.follow_up import save_disease_event, save_follow_up
from efficacy.services.response import (
    Classification,
    classify,
    confirm_response,
    save_response_assessment,
)

__all__ = [
    "Classification",
    "classify",
    "confirm_response",
    "save_disease_event",
    "save_follow_up",
    "save_response_assessment",
]
