"""Realistic screening data for an eligible subject, entered through the services.

``screen_eligible_subject`` registers a 51-year-old man, records consent and enters every
screening CRF with values that pass every criterion; tests change one value to make a criterion
fail. Dates are relative to today so the data never ages into a washout window.
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

from django.utils import timezone

from enrollment import services
from enrollment.models import (
    AmlHistory,
    AntigenExpression,
    CardiacAssessment,
    InvestigatorAttestation,
    MedicalConditions,
    MedicationHistory,
    PregnancyAssessment,
    ScreeningLabs,
    ScreeningVitals,
    Virology,
)


def screening_values(screening_date: dt.date) -> dict:
    """CRF model -> values that pass every criterion (a man, 70 kg, creatinine 0.9 mg/dL)."""
    return {
        ScreeningVitals: {
            "assessment_date": screening_date,
            "height_cm": Decimal("172.0"),
            "weight_kg": Decimal("70.0"),
            "systolic_bp_1": 128,
            "diastolic_bp_1": 82,
            "systolic_bp_2": 126,
            "diastolic_bp_2": 80,
            "spo2_room_air_pct": 97,
            "ecog": 1,
        },
        AmlHistory: {
            "aml_who2022": True,
            "apl": False,
            "relapsed_refractory_aml": True,
            "disease_status": "relapsed",
            "disease_status_date": screening_date - dt.timedelta(days=30),
            "prior_lines": 2,
            "last_antitumor_therapy_name": "Venetoclax + azacitidine",
            "last_antitumor_therapy_end_date": screening_date - dt.timedelta(days=30),
            "last_antitumor_therapy_half_life_days": Decimal("1.0"),
            "prior_car_t_or_gene_therapy": False,
            "prior_allo_hsct": False,
            "prior_dli": False,
            "prior_radiotherapy": False,
            "cns_involvement": False,
        },
        AntigenExpression: {
            "sample_date": screening_date,
            "cll1_positive_blasts_pct": Decimal("65.0"),
            "cd38_positive_blasts_pct": Decimal("48.0"),
        },
        ScreeningLabs: {
            "lab_date": screening_date,
            "alt_u_l": Decimal("30"),
            "alt_uln_u_l": Decimal("40"),
            "ast_u_l": Decimal("28"),
            "ast_uln_u_l": Decimal("40"),
            "bilirubin_unit": "mg/dL",
            "total_bilirubin": Decimal("0.8"),
            "total_bilirubin_uln": Decimal("1.2"),
            "direct_bilirubin": Decimal("0.2"),
            "direct_bilirubin_uln": Decimal("0.3"),
            "congenital_hyperbilirubinemia": False,
            "creatinine_unit": "mg/dL",
            "creatinine": Decimal("0.9"),
            "wbc_10e9_l": Decimal("3.2"),
            "anc_10e9_l": Decimal("1.1"),
            "hemoglobin_g_dl": Decimal("9.1"),
            "platelets_10e9_l": Decimal("62"),
            "pb_blasts_pct": Decimal("12"),
        },
        CardiacAssessment: {
            "assessment_date": screening_date,
            "lvef_pct": Decimal("60"),
            "lvef_method": "echo",
            "qt_ms": 400,
            "heart_rate_bpm": 70,
            "nyha_class": 0,
            "prior_mi_or_cabg": False,
            "severe_arrhythmia": False,
            "av_block_2nd_or_3rd_degree": False,
            "severe_nonischemic_cardiomyopathy": False,
            "symptomatic_cardiac_disease_within_6_months": False,
        },
        Virology: {
            "sample_date": screening_date,
            "hiv_antibody_positive": False,
            "hbsag_positive": False,
            "anti_hbc_positive": False,
            "hbv_dna": Decimal("0"),
            "hbv_dna_llod": Decimal("20"),
            "anti_hcv_positive": False,
            "hcv_rna": Decimal("0"),
            "hcv_rna_llod": Decimal("15"),
            "tppa_positive": False,
        },
        PregnancyAssessment: {
            "childbearing_potential": False,
            "breastfeeding": False,
        },
        MedicationHistory: {
            "steroids_before_apheresis": False,
            "prior_live_vaccine": False,
            "prior_major_surgery": False,
            "surgery_planned": False,
        },
        MedicalConditions: {
            "study_drug_allergy": False,
            "active_gvhd": False,
            "gvhd_active_within_4_weeks": False,
            "gvhd_immunosuppressants": False,
            "active_infection_systemic_treatment": False,
            "other_malignancy": False,
            "prior_stroke_or_seizure": False,
            "pulmonary_fibrosis": False,
            "active_autoimmune_disease": False,
            "unresolved_prior_toxicity": False,
        },
        InvestigatorAttestation: {
            "estimated_survival_at_least_3_months": True,
            "allo_hsct_donor_confirmed": True,
            "able_to_stop_steroids": True,
            "contraception_agreed": True,
            "willing_to_follow_up": True,
            "steroids_needed_within_12_weeks": False,
            "plans_children_within_2_years": False,
            "investigator_judges_unsuitable": False,
        },
    }


def register_and_consent(site, coordinator, investigator, *, screening_date=None, **subject):
    screening_date = screening_date or timezone.localdate() - dt.timedelta(days=10)
    registered = services.register_subject(
        actor=coordinator,
        site=site,
        initials=subject.pop("initials", "WLX"),
        sex=subject.pop("sex", "M"),
        birth_date=subject.pop("birth_date", dt.date(1975, 3, 15)),
        screening_date=screening_date,
        planned_apheresis_date=subject.pop(
            "planned_apheresis_date", timezone.localdate() + dt.timedelta(days=7)
        ),
    )
    signed_at = timezone.make_aware(dt.datetime.combine(screening_date, dt.time(9, 0)))
    services.record_consent(
        registered,
        actor=coordinator,
        icf_version="v2.1 2025-04-01",
        signed_at=signed_at,
        obtained_by=investigator,
    )
    return registered


def screen_eligible_subject(site, coordinator, investigator, *, overrides=None, **subject):
    """A subject with every screening CRF entered; ``overrides`` {Model: {field: value}}."""
    registered = register_and_consent(site, coordinator, investigator, **subject)
    values = screening_values(registered.screening_date)
    for model, changes in (overrides or {}).items():
        values[model] = {**values[model], **changes}
    for model, crf_values in values.items():
        actor = investigator if model is InvestigatorAttestation else coordinator
        services.save_screening_crf(registered, model, actor=actor, values=crf_values)
    registered.refresh_from_db()
    return registered
