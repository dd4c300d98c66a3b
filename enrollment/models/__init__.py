"""Enrollment models: subjects and consent (core), screening CRFs, the eligibility assessment."""

from enrollment.models.core import (
    Consent,
    ConsentSigner,
    FormExpectation,
    Sex,
    Subject,
    SubjectRecord,
    SubjectStatus,
    Visit,
)
from enrollment.models.eligibility import EligibilityAssessment
from enrollment.models.off_study import OffStudy, OffStudyReason
from enrollment.models.screen_failure import ScreenFailure, ScreenFailureCategory
from enrollment.models.screening import (
    AmlHistory,
    AntigenExpression,
    CardiacAssessment,
    ChemistryUnit,
    InvestigatorAttestation,
    MedicalConditions,
    MedicationHistory,
    PregnancyAssessment,
    PriorRegimen,
    ScreeningCRF,
    ScreeningLabs,
    ScreeningVitals,
    Steroid,
    SteroidCourse,
    Virology,
)

SCREENING_CRFS = (
    ScreeningVitals,
    AmlHistory,
    AntigenExpression,
    ScreeningLabs,
    CardiacAssessment,
    Virology,
    PregnancyAssessment,
    MedicationHistory,
    MedicalConditions,
    InvestigatorAttestation,
)

__all__ = [
    "SCREENING_CRFS",
    "AmlHistory",
    "AntigenExpression",
    "CardiacAssessment",
    "ChemistryUnit",
    "Consent",
    "ConsentSigner",
    "EligibilityAssessment",
    "FormExpectation",
    "InvestigatorAttestation",
    "MedicalConditions",
    "MedicationHistory",
    "OffStudy",
    "OffStudyReason",
    "PregnancyAssessment",
    "ScreenFailure",
    "ScreenFailureCategory",
    "ScreeningCRF",
    "ScreeningLabs",
    "ScreeningVitals",
    "Sex",
    "Steroid",
    "SteroidCourse",
    "PriorRegimen",
    "Subject",
    "SubjectRecord",
    "SubjectStatus",
    "Virology",
    "Visit",
]
