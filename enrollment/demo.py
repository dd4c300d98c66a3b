"""Synthetic screening subjects for the demo study (``manage.py seed_demo``).

Twenty-two subjects with realistic values, entered through the services (so they have an audit
trail): eligible and confirmed, eligible awaiting confirmation, one still incomplete, and screen
failures on creatinine clearance, QTcF, HBV DNA, steroids, ECOG, APL and LVEF. No real person:
initials are random letters. Idempotent: nothing is added once the site has subjects.
"""

from __future__ import annotations

import datetime as dt
import os
import random
from decimal import Decimal

from django.utils import timezone

from enrollment import services
from enrollment.models import (
    AmlHistory,
    AntigenExpression,
    CardiacAssessment,
    EligibilityAssessment,
    InvestigatorAttestation,
    MedicalConditions,
    MedicationHistory,
    PregnancyAssessment,
    ScreeningLabs,
    ScreeningVitals,
    Subject,
    SubjectStatus,
    Virology,
)
from trialsite import clock


def eligible_screening_values(screening_date: dt.date) -> dict:
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
            "temperature_c": Decimal("36.8"),
            "pulse_bpm": 78,
            "spo2_room_air_pct": 97,
            "ecog": 1,
        },
        AmlHistory: {
            "assessment_date": screening_date,
            "diagnosis_date": screening_date - dt.timedelta(days=400),
            "aml_who2022": True,
            "eln2022_risk": "intermediate",
            "cytogenetics": "46,XY[20]",
            "cbf_aml": False,
            "flt3_itd": False,
            "flt3_tkd": False,
            "npm1_mutated": True,
            "tp53_mutated": False,
            "idh1_mutated": False,
            "idh2_mutated": False,
            "cebpa_bzip_mutated": False,
            "marrow_blasts_pct": Decimal("34.0"),
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
            "assessment_date": screening_date,
            "childbearing_potential": False,
            "breastfeeding": False,
        },
        MedicationHistory: {
            "assessment_date": screening_date,
            "steroids_before_apheresis": False,
            "prior_live_vaccine": False,
            "prior_major_surgery": False,
            "surgery_planned": False,
        },
        MedicalConditions: {
            "assessment_date": screening_date,
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
            "assessment_date": screening_date,
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


# Screen failures: (label, sex, birth year, overrides that make one criterion fail)
FAILURES = [
    (
        "CrCl",
        "F",
        1956,
        {
            ScreeningVitals: {"weight_kg": Decimal("48.0")},
            ScreeningLabs: {"creatinine": Decimal("1.45")},
        },
    ),
    ("QTcF", "M", 1969, {CardiacAssessment: {"qt_ms": 480, "heart_rate_bpm": 60}}),
    ("HBV DNA", "M", 1979, {Virology: {"anti_hbc_positive": True, "hbv_dna": Decimal("150")}}),
    ("steroids", "F", 1984, {MedicationHistory: {"steroids_before_apheresis": True}}),
    ("ECOG", "M", 1961, {ScreeningVitals: {"ecog": 3}}),
    ("APL", "F", 1990, {AmlHistory: {"apl": True}}),
    ("LVEF", "M", 1958, {CardiacAssessment: {"lvef_pct": Decimal("40")}}),
]


def _initials(rng: random.Random) -> str:
    return "".join(rng.choice("ABCDEFGHJKLMNPQRSTWXYZ") for _ in range(rng.choice((2, 3))))


def _screen(site, coordinator, investigator, *, rng, sex, birth_year, days_ago, overrides=None):
    today = clock.today()
    screening_date = today - dt.timedelta(days=days_ago)
    subject = services.register_subject(
        actor=coordinator,
        site=site,
        initials=_initials(rng),
        sex=sex,
        birth_date=dt.date(birth_year, rng.randint(1, 12), rng.randint(1, 28)),
        screening_date=screening_date,
        planned_apheresis_date=today + dt.timedelta(days=rng.randint(3, 14)),
    )
    services.record_consent(
        subject,
        actor=coordinator,
        icf_version="v2.1 2025-04-01",
        signed_at=timezone.make_aware(dt.datetime.combine(screening_date, dt.time(9, 30))),
        obtained_by=investigator,
    )
    values = eligible_screening_values(screening_date)
    vitals = values[ScreeningVitals]
    vitals["weight_kg"] = Decimal(rng.randint(52, 88))
    vitals["height_cm"] = Decimal(rng.randint(152, 182))
    for model, changes in (overrides or {}).items():
        values[model] = {**values[model], **changes}
    for model, crf_values in values.items():
        actor = investigator if model is InvestigatorAttestation else coordinator
        services.save_screening_crf(
            subject, model, actor=actor, values=crf_values, expected_version=None
        )
    return subject


def seed(*, study, site, users, stdout) -> None:
    if Subject.objects.filter(site=site).exists():
        return
    rng = random.Random(6880354)
    coordinator, investigator = users["coordinator"], users["investigator"]
    password = os.environ.get("DEMO_PASSWORD", "trialsite-demo")
    sexes = ["M", "F"]
    for n in range(14):
        subject = _screen(
            site,
            coordinator,
            investigator,
            rng=rng,
            sex=sexes[n % 2],
            birth_year=rng.randint(1957, 1999),
            days_ago=60 - 3 * n,
        )
        if n < 10:
            services.confirm_eligibility(
                subject,
                actor=investigator,
                password=password,
                expected_version=EligibilityAssessment.objects.get(subject=subject).version,
            )
    for _label, sex, birth_year, overrides in FAILURES:
        subject = _screen(
            site,
            coordinator,
            investigator,
            rng=rng,
            sex=sex,
            birth_year=birth_year,
            days_ago=rng.randint(5, 50),
            overrides=overrides,
        )
        if _label == "steroids":
            apheresis = subject.planned_apheresis_date
            services.save_steroid_course(
                subject,
                actor=coordinator,
                values={
                    "drug": "dexamethasone",
                    "daily_dose_mg": Decimal("1.5"),
                    "start_date": apheresis - dt.timedelta(days=7),
                    "end_date": apheresis - dt.timedelta(days=1),
                },
            )
        subject.refresh_from_db()
        services.record_screen_failure(
            subject,
            actor=investigator,
            category="failed_criteria",
            password=password,
            expected_version=subject.version,
        )
    incomplete = _screen(
        site,
        coordinator,
        investigator,
        rng=rng,
        sex="F",
        birth_year=1972,
        days_ago=2,
    )
    virology = Virology.objects.get(subject=incomplete)
    services.save_screening_crf(
        incomplete,
        Virology,
        actor=coordinator,
        values={"hbv_dna": None, "hbv_dna_llod": None, "anti_hbc_positive": None},
        expected_version=virology.version,
        reason="Results not yet back from the lab",
    )
    counts = {
        status: Subject.objects.filter(site=site, enrollment_status=status).count()
        for status in (
            SubjectStatus.ELIGIBLE,
            SubjectStatus.SCREENING,
            SubjectStatus.SCREEN_FAILURE,
        )
    }
    stdout.write(
        f"Demo subjects: {counts[SubjectStatus.ELIGIBLE]} eligible (confirmed), "
        f"{counts[SubjectStatus.SCREENING]} in screening, "
        f"{counts[SubjectStatus.SCREEN_FAILURE]} screen failures"
    )
