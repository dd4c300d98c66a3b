"""Sections that apps above enrollment add to the subject page (docs/architecture.md §2).

Enrollment owns the subject page but may not import the apps above it; dosing (and later
safety and efficacy) register a section in ``AppConfig.ready()``: a template and a function
``context(request, subject) -> dict`` giving its data. Each context function runs a fixed
number of queries for its one subject.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass


@dataclass(frozen=True)
class SubjectSection:
    name: str
    template: str
    context: Callable[[object, object], dict]
    order: int = 100


_SECTIONS: dict[str, SubjectSection] = {}


def register(section: SubjectSection) -> None:
    _SECTIONS[section.name] = section


def sections_for(request, subject) -> list[dict]:
    """[{"template": ..., "context": {...}}] in order, for the subject page to include."""
    return [
        {"template": s.template, "context": s.context(request, subject)}
        for s in sorted(_SECTIONS.values(), key=lambda s: (s.order, s.name))
    ]
