"""The ``escalation`` recompute hook (docs/architecture.md §5): after every save that changes
an input of the escalation engine (an assignment, an infusion, an AE or DLT adjudication through
the DLT evaluation it refreshes, a window closing), the worker recomputes the study's
``EscalationState`` from the data at the run's data version."""

from __future__ import annotations

from dosing import escalation


def escalation_hook(study, data_version: int) -> dict:
    return escalation.recompute(study, data_version)
