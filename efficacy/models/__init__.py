"""Efficacy tables; one module per area, re-exported here so Django finds every model."""

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

__all__ = [
    "AntiCARAntibody",
    "AntiCARResult",
    "AntiCARTimepoint",
    "Clonality",
    "Compartment",
    "KineticsMethod",
    "KineticsSample",
    "KineticsTimepoint",
    "RCLMethod",
    "RCLResult",
    "RCLTest",
    "SampleImport",
]
