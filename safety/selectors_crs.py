"""Reads of the daily CRS/ICANS assessments and their episodes, with fixed query counts."""

from __future__ import annotations

from enrollment.models import Subject
from safety.models import AdverseEvent, CRSAssessment, CRSEpisode, ICANSAssessment, ICANSEpisode

EPISODES = {CRSAssessment: CRSEpisode, ICANSAssessment: ICANSEpisode}
PREFIX = {CRSAssessment: "crs", ICANSAssessment: "icans"}


def daily_assessments(subject: Subject, model) -> list:
    """The subject's daily assessments, oldest first: one query (the subject is passed in and
    set on each row, so the study day costs none)."""
    rows = list(model.objects.filter(subject=subject).order_by("assessment_date"))
    for row in rows:
        row.subject = subject
    return rows


def episodes_with_events(subject: Subject, model) -> list[tuple[object, AdverseEvent | None]]:
    """(episode, its AE) for each episode of the subject: two queries whatever their number."""
    episodes = list(EPISODES[model].objects.filter(subject=subject).order_by("onset_date"))
    for episode in episodes:
        episode.subject = subject
    keys = {f"{PREFIX[model]}-{e.pk}": e for e in episodes}
    events = {
        event.source_key: event
        for event in AdverseEvent.objects.filter(subject=subject, source_key__in=list(keys))
        .select_related("term")
        .only(
            "pk",
            "subject_id",
            "source_key",
            "grade",
            "worst_grade",
            "ongoing",
            "outcome",
            "term__term",
        )
    }
    return [(e, events.get(key)) for key, e in keys.items()]
