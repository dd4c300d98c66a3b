"""The screening CRFs: one record of each per subject, fields named after the eligibility facts.

Every field whose name is a key of ``enrollment.rules.FACT_KEYS`` feeds those criteria; the
forms show which. Units are in the names or in an explicit unit field (creatinine, bilirubin).
"""

from __future__ import annotations

from django.core.exceptions import ValidationError
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.utils.translation import gettext_lazy as _

from enrollment import missing_data
from enrollment.models.core import SubjectRecord, amount, pct, when, yes_no
from trialsite.records.edit_checks import hard, range_check


class ScreeningCRF(SubjectRecord):
    """Abstract: a screening CRF, one per subject.

    ``dated_answers`` pairs a yes/no question with the date it asks for when the answer is yes
    (``("prior_dli", "dli_last_date")``): the date is required after a yes and refused otherwise.
    Subclasses add their own checks in ``cross_field_errors()``.

    ``codable_fields`` are the results a site may be unable to give: instead of a value they
    carry a missing-data code (not done / unknown / not applicable) with a reason, stored in
    ``missing_codes`` as ``{field: {"code": "not_done", "reason": "..."}}``
    (``enrollment.missing_data``). One JSON column rather than two columns per result keeps the
    CRF tables narrow and the code next to the value it replaces in the audit trail.
    """

    crf_code: str = ""
    crf_title = ""
    dated_answers: tuple[tuple[str, str], ...] = ()
    # For completeness: fields never required, fields asked only after a given answer, and
    # pairs of which one answer is enough.
    optional_fields: tuple[str, ...] = ()
    asked_if: dict[str, tuple[str, object]] = {}
    alternatives: tuple[tuple[str, str], ...] = ()
    codable_fields: tuple[str, ...] = ()

    missing_codes = models.JSONField(_("missing-data codes"), default=dict, blank=True)

    class Meta:
        abstract = True
        constraints = []

    def __str__(self) -> str:
        return f"{self.subject} — {self.crf_title}"

    def get_absolute_url(self) -> str:
        from django.urls import reverse

        return reverse("enrollment:crf", args=[self.subject_id, self.crf_code])

    def clean(self):
        errors = {}
        for flag, date_field in self.dated_answers:
            answered_yes = getattr(self, flag) is True
            has_date = getattr(self, date_field) is not None
            if answered_yes and not has_date:
                errors[date_field] = ValidationError(_("Give the date."), code="required_if")
            elif has_date and not answered_yes:
                errors[date_field] = ValidationError(
                    _("A date is only recorded when the answer is yes."), code="not_applicable"
                )
        errors.update(self.cross_field_errors())
        errors.update(self.missing_code_errors())
        if errors:
            raise ValidationError(errors)

    def missing_code_errors(self) -> dict:
        values = {name: getattr(self, name) for name in self.codable_fields}
        found = missing_data.problems(
            self.missing_codes, codable=self.codable_fields, values=values
        )
        return {
            name or "missing_codes": ValidationError(message, code="missing_code")
            for name, message in found.items()
        }

    def coded(self) -> dict[str, missing_data.Coded]:
        """The fields that carry a missing-data code instead of a value."""
        return missing_data.parse(self.missing_codes)

    def cross_field_errors(self) -> dict:
        """CRF-specific cross-field checks: ``{field: ValidationError}``."""
        return {}

    @classmethod
    def answer_fields(cls) -> list[str]:
        return [
            f.name
            for f in cls.content_fields()
            if f.name not in ("subject", "visit", "missing_codes")
        ]

    def applicable_fields(self) -> list[str]:
        """The fields this record should have answered, given its other answers."""
        asked_if = {**self.asked_if, **{d: (flag, True) for flag, d in self.dated_answers}}
        fields = []
        for name in self.answer_fields():
            if name in self.optional_fields:
                continue
            condition = asked_if.get(name)
            if condition and getattr(self, condition[0]) != condition[1]:
                continue
            fields.append(name)
        for first, second in self.alternatives:
            drop = second if getattr(self, second) in (None, "") else first
            if drop in fields and getattr(self, drop) in (None, ""):
                fields.remove(drop)
        return fields


def one_per_subject(name: str) -> list:
    return [models.UniqueConstraint(fields=["subject"], name=f"{name}_one_per_subject")]


class ChemistryUnit(models.TextChoices):
    MG_DL = "mg/dL", "mg/dL"
    UMOL_L = "umol/L", "µmol/L"


class Race(models.TextChoices):
    """FDA/NIH race categories (FDA guidance "Collection of Race and Ethnicity Data in Clinical
    Trials", 2016), plus the answers a site may need to give instead."""

    ASIAN = "asian", _("Asian")
    BLACK = "black", _("Black or African American")
    AMERICAN_INDIAN = "american_indian", _("American Indian or Alaska Native")
    PACIFIC_ISLANDER = "pacific_islander", _("Native Hawaiian or Other Pacific Islander")
    WHITE = "white", _("White")
    MULTIPLE = "multiple", _("More than one race")
    NOT_REPORTED = "not_reported", _("Not reported")
    NOT_COLLECTED = "not_collected", _("Not collected (local rules)")


class Ethnicity(models.TextChoices):
    HISPANIC = "hispanic", _("Hispanic or Latino")
    NOT_HISPANIC = "not_hispanic", _("Not Hispanic or Latino")
    NOT_REPORTED = "not_reported", _("Not reported")
    NOT_COLLECTED = "not_collected", _("Not collected (local rules)")


class ScreeningVitals(ScreeningCRF):
    """Demographics (race and ethnicity are optional where local rules forbid asking them) and
    vital signs. The body surface area is derived, never stored: ``bsa_m2`` (Mosteller) from the
    height and weight, so a corrected height or weight can never leave a stale BSA behind."""

    crf_code = "vitals"
    crf_title = _("Demographics and vital signs")
    optional_fields = ("race", "ethnicity", "height_cm", "systolic_bp_3", "diastolic_bp_3")
    codable_fields = ("spo2_room_air_pct",)

    assessment_date = models.DateField(_("assessment date"))
    race = models.CharField(_("race"), max_length=20, choices=Race.choices, blank=True)
    ethnicity = models.CharField(
        _("ethnicity"), max_length=20, choices=Ethnicity.choices, blank=True
    )
    height_cm = models.DecimalField(
        _("height (cm)"),
        max_digits=5,
        decimal_places=1,
        null=True,
        blank=True,
        validators=[MinValueValidator(50), MaxValueValidator(250)],
    )
    weight_kg = models.DecimalField(
        _("weight (kg)"),
        max_digits=5,
        decimal_places=1,
        validators=[MinValueValidator(20), MaxValueValidator(300)],
    )
    systolic_bp_1 = models.PositiveSmallIntegerField(
        _("systolic BP, reading 1 (mmHg)"),
        validators=[MinValueValidator(50), MaxValueValidator(300)],
    )
    diastolic_bp_1 = models.PositiveSmallIntegerField(
        _("diastolic BP, reading 1 (mmHg)"),
        validators=[MinValueValidator(20), MaxValueValidator(200)],
    )
    systolic_bp_2 = models.PositiveSmallIntegerField(
        _("systolic BP, reading 2 (mmHg)"),
        validators=[MinValueValidator(50), MaxValueValidator(300)],
    )
    diastolic_bp_2 = models.PositiveSmallIntegerField(
        _("diastolic BP, reading 2 (mmHg)"),
        validators=[MinValueValidator(20), MaxValueValidator(200)],
    )
    systolic_bp_3 = models.PositiveSmallIntegerField(
        _("systolic BP, reading 3 (mmHg)"),
        null=True,
        blank=True,
        validators=[MinValueValidator(50), MaxValueValidator(300)],
    )
    diastolic_bp_3 = models.PositiveSmallIntegerField(
        _("diastolic BP, reading 3 (mmHg)"),
        null=True,
        blank=True,
        validators=[MinValueValidator(20), MaxValueValidator(200)],
    )
    temperature_c = models.DecimalField(
        _("temperature (°C)"),
        max_digits=3,
        decimal_places=1,
        null=True,
        blank=True,
        validators=[MinValueValidator(30), MaxValueValidator(43)],
    )
    # Not "heart_rate_bpm": that fact key is the ECG heart rate of the QTcF (EX10.3).
    pulse_bpm = models.PositiveSmallIntegerField(
        _("heart rate (pulse, bpm)"),
        null=True,
        blank=True,
        validators=[MinValueValidator(20), MaxValueValidator(250)],
    )
    spo2_room_air_pct = models.PositiveSmallIntegerField(
        _("SpO₂ on room air (%)"),
        null=True,
        blank=True,
        validators=[MinValueValidator(50), MaxValueValidator(100)],
    )
    ecog = models.PositiveSmallIntegerField(
        _("ECOG performance status"),
        null=True,
        blank=True,
        choices=[(n, str(n)) for n in range(6)],
    )

    class Meta:
        constraints = one_per_subject("vitals")
        verbose_name = _("screening vital signs")
        verbose_name_plural = _("screening vital signs")

    def cross_field_errors(self) -> dict:
        errors = {}
        for n in (1, 2, 3):
            sbp, dbp = getattr(self, f"systolic_bp_{n}"), getattr(self, f"diastolic_bp_{n}")
            if (sbp is None) != (dbp is None):
                errors[f"diastolic_bp_{n}"] = ValidationError(
                    _("Give both systolic and diastolic pressure of reading %(n)s.") % {"n": n},
                    code="pair",
                )
            elif sbp is not None and dbp >= sbp:
                errors[f"diastolic_bp_{n}"] = ValidationError(
                    _("Diastolic pressure must be below systolic."), code="order"
                )
        return errors

    @property
    def bsa_m2(self):
        """Body surface area (m²), Mosteller: √(height cm × weight kg / 3600), 2 decimals.

        Mosteller RD, N Engl J Med 1987;317:1098. None without both height and weight.
        """
        from enrollment import baseline

        return baseline.bsa_mosteller(self.height_cm, self.weight_kg)

    def blood_pressure_readings(self) -> list[tuple[int, int]]:
        return [
            (getattr(self, f"systolic_bp_{n}"), getattr(self, f"diastolic_bp_{n}"))
            for n in (1, 2, 3)
            if getattr(self, f"systolic_bp_{n}") is not None
        ]


class DiseaseStatus(models.TextChoices):
    RELAPSED = "relapsed", _("Relapsed")
    REFRACTORY = "refractory", _("Refractory")


class Eln2022Risk(models.TextChoices):
    """ELN 2022 genetic risk (Döhner H et al., Blood 2022;140:1345–1377, table 6)."""

    FAVORABLE = "favorable", _("Favorable")
    INTERMEDIATE = "intermediate", _("Intermediate")
    ADVERSE = "adverse", _("Adverse")


class DonorType(models.TextChoices):
    MATCHED_SIBLING = "matched_sibling", _("Matched sibling")
    MATCHED_UNRELATED = "matched_unrelated", _("Matched unrelated")
    MISMATCHED_UNRELATED = "mismatched_unrelated", _("Mismatched unrelated")
    HAPLOIDENTICAL = "haploidentical", _("Haploidentical")
    CORD_BLOOD = "cord_blood", _("Umbilical cord blood")


class AmlHistory(ScreeningCRF):
    """Diagnosis, genetics and prior therapy. The molecular markers and the screening marrow
    blasts are baseline values for efficacy (MRD-LL eligibility for NPM1-mutant and CBF-AML);
    a marker that was not tested takes the missing-data code "not done". Prior regimens are
    repeating rows (``PriorRegimen``)."""

    crf_code = "aml_history"
    crf_title = _("AML history and prior therapy")
    optional_fields = ("disease_status_definition", "cytogenetics")
    codable_fields = (
        "eln2022_risk",
        "cbf_aml",
        "flt3_itd",
        "flt3_tkd",
        "npm1_mutated",
        "tp53_mutated",
        "idh1_mutated",
        "idh2_mutated",
        "cebpa_bzip_mutated",
        "marrow_blasts_pct",
    )
    asked_if = {
        "allo_hsct_count": ("prior_allo_hsct", True),
        "allo_hsct_donor_type": ("prior_allo_hsct", True),
    }

    assessment_date = models.DateField(_("assessment date"))
    diagnosis_date = when(_("date of AML diagnosis"))
    aml_who2022 = yes_no(_("AML by WHO 2022 criteria"))
    eln2022_risk = models.CharField(
        _("ELN 2022 genetic risk"), max_length=12, choices=Eln2022Risk.choices, blank=True
    )
    cytogenetics = models.CharField(
        _("karyotype (ISCN)"),
        max_length=300,
        blank=True,
        help_text=_("e.g. 46,XY,t(8;21)(q22;q22.1)[20]"),
    )
    cbf_aml = yes_no(_("core-binding factor AML (t(8;21), inv(16) or t(16;16))"))
    flt3_itd = yes_no(_("FLT3-ITD detected"))
    flt3_tkd = yes_no(_("FLT3-TKD detected"))
    npm1_mutated = yes_no(_("NPM1 mutation detected"))
    tp53_mutated = yes_no(_("TP53 mutation detected"))
    idh1_mutated = yes_no(_("IDH1 mutation detected"))
    idh2_mutated = yes_no(_("IDH2 mutation detected"))
    cebpa_bzip_mutated = yes_no(_("CEBPA bZIP in-frame mutation detected"))
    marrow_blasts_pct = pct(_("bone marrow blasts at screening (%)"))
    apl = yes_no(_("acute promyelocytic leukemia (APL)"))
    relapsed_refractory_aml = yes_no(_("meets r/r AML criteria (2023 Chinese guideline)"))
    disease_status = models.CharField(
        _("relapsed or refractory"), max_length=10, choices=DiseaseStatus.choices, blank=True
    )
    disease_status_date = when(_("date relapse/refractoriness was established"))
    disease_status_definition = models.CharField(
        _("definition applied"),
        max_length=300,
        blank=True,
        help_text=_("e.g. ≥ 5 % marrow blasts after CR; no CR after 2 induction courses"),
    )
    prior_lines = models.PositiveSmallIntegerField(
        _("prior lines of therapy"), null=True, blank=True, validators=[MaxValueValidator(20)]
    )
    last_antitumor_therapy_name = models.CharField(
        _("last systemic anti-leukemic therapy"), max_length=120, blank=True
    )
    last_antitumor_therapy_end_date = when(_("last dose of that therapy"))
    last_antitumor_therapy_half_life_days = amount(
        _("half-life of that therapy (days)"), digits=6, places=2
    )
    prior_car_t_or_gene_therapy = yes_no(_("prior CAR-T, CAR-NK or gene-modified cell therapy"))
    prior_allo_hsct = yes_no(_("prior allogeneic HSCT"))
    allo_hsct_last_date = when(_("date of the latest allo-HSCT"))
    allo_hsct_count = models.PositiveSmallIntegerField(
        _("number of allogeneic HSCTs"),
        null=True,
        blank=True,
        validators=[MinValueValidator(1), MaxValueValidator(5)],
    )
    allo_hsct_donor_type = models.CharField(
        _("donor of the latest allo-HSCT"), max_length=24, choices=DonorType.choices, blank=True
    )
    prior_dli = yes_no(_("prior donor lymphocyte infusion"))
    dli_last_date = when(_("date of the latest DLI"))
    prior_radiotherapy = yes_no(_("prior radiotherapy"))
    radiotherapy_last_date = when(_("date of the last radiotherapy"))
    cns_involvement = yes_no(_("active or past CNS involvement"))

    dated_answers = (
        ("prior_allo_hsct", "allo_hsct_last_date"),
        ("prior_dli", "dli_last_date"),
        ("prior_radiotherapy", "radiotherapy_last_date"),
    )

    class Meta:
        constraints = one_per_subject("aml_history")
        verbose_name = _("AML history")
        verbose_name_plural = _("AML histories")

    def cross_field_errors(self) -> dict:
        errors = {}
        if self.prior_allo_hsct is not True:
            for name in ("allo_hsct_count", "allo_hsct_donor_type"):
                if getattr(self, name) not in (None, ""):
                    errors[name] = ValidationError(
                        _("Only recorded after a prior allogeneic HSCT."), code="not_applicable"
                    )
        if (
            self.diagnosis_date
            and self.disease_status_date
            and self.disease_status_date < self.diagnosis_date
        ):
            errors["disease_status_date"] = ValidationError(
                _("Relapse or refractoriness cannot precede the diagnosis."), code="order"
            )
        if (
            self.last_antitumor_therapy_end_date
            and self.last_antitumor_therapy_half_life_days is None
        ):
            errors["last_antitumor_therapy_half_life_days"] = ValidationError(
                _(
                    "Give the half-life: the washout is 14 days or 5 half-lives, "
                    "whichever is shorter."
                ),
                code="required_if",
            )
        return errors


class AntigenExpression(ScreeningCRF):
    crf_code = "antigens"
    assessment_date_field = "sample_date"
    crf_title = _("CLL1 and CD38 expression on blasts")
    codable_fields = ("cll1_positive_blasts_pct", "cd38_positive_blasts_pct")

    sample_date = models.DateField(_("sample date"))
    cll1_positive_blasts_pct = pct(_("CLL1-positive blasts (%)"))
    cd38_positive_blasts_pct = pct(_("CD38-positive blasts (%)"))

    class Meta:
        constraints = one_per_subject("antigens")
        verbose_name = _("antigen expression")
        verbose_name_plural = _("antigen expression results")


IMPLAUSIBLE = _("%(value)s is not a possible value here (plausible: %(low)s–%(high)s%(unit)s).")
# Plausible ranges by unit (mg/dL; µmol/L = mg/dL × 17.1 for bilirubin, × 88.4 for creatinine).
BILIRUBIN_RANGES = {
    "mg/dL": {
        "total_bilirubin": (0, 80),
        "total_bilirubin_uln": (0.1, 5),
        "direct_bilirubin": (0, 60),
        "direct_bilirubin_uln": (0.05, 3),
    },
    "umol/L": {
        "total_bilirubin": (0, 1368),
        "total_bilirubin_uln": (1.7, 85),
        "direct_bilirubin": (0, 1026),
        "direct_bilirubin_uln": (0.85, 51),
    },
}
CREATININE_RANGES = {"mg/dL": {"creatinine": (0.1, 25)}, "umol/L": {"creatinine": (8.8, 2210)}}


class ScreeningLabs(ScreeningCRF):
    crf_code = "labs"
    assessment_date_field = "lab_date"
    crf_title = _("Screening laboratory values")
    codable_fields = (
        "alt_u_l",
        "alt_uln_u_l",
        "ast_u_l",
        "ast_uln_u_l",
        "total_bilirubin",
        "total_bilirubin_uln",
        "direct_bilirubin",
        "direct_bilirubin_uln",
        "creatinine",
        "wbc_10e9_l",
        "anc_10e9_l",
        "hemoglobin_g_dl",
        "platelets_10e9_l",
        "pb_blasts_pct",
    )

    lab_date = models.DateField(_("sample date"))
    alt_u_l = amount(_("ALT (U/L)"), digits=7)
    alt_uln_u_l = amount(_("ALT upper limit of normal (U/L)"), digits=7)
    ast_u_l = amount(_("AST (U/L)"), digits=7)
    ast_uln_u_l = amount(_("AST upper limit of normal (U/L)"), digits=7)
    bilirubin_unit = models.CharField(
        _("bilirubin unit"),
        max_length=6,
        choices=ChemistryUnit.choices,
        default=ChemistryUnit.MG_DL,
    )
    total_bilirubin = amount(_("total bilirubin"), digits=7, places=3)
    total_bilirubin_uln = amount(_("total bilirubin ULN"), digits=7, places=3)
    direct_bilirubin = amount(_("direct bilirubin"), digits=7, places=3)
    direct_bilirubin_uln = amount(_("direct bilirubin ULN"), digits=7, places=3)
    congenital_hyperbilirubinemia = yes_no(_("Gilbert's syndrome or congenital hyperbilirubinemia"))
    creatinine_unit = models.CharField(
        _("creatinine unit"),
        max_length=6,
        choices=ChemistryUnit.choices,
        default=ChemistryUnit.MG_DL,
    )
    creatinine = amount(_("serum creatinine"), digits=7, places=3)
    wbc_10e9_l = amount(_("WBC (×10⁹/L)"), digits=7, places=2)
    anc_10e9_l = amount(_("ANC (×10⁹/L)"), digits=7, places=2)
    hemoglobin_g_dl = amount(_("hemoglobin (g/dL)"), digits=5, places=1)
    platelets_10e9_l = amount(_("platelets (×10⁹/L)"), digits=7, places=1)
    pb_blasts_pct = pct(_("peripheral blood blasts (%)"))

    # Values no living patient can have are refused (hard), in the unit chosen on the form.
    edit_checks = (
        range_check("LB-ALT", "alt_u_l", 0, 20000, "U/L"),
        range_check("LB-ALT-ULN", "alt_uln_u_l", 5, 200, "U/L"),
        range_check("LB-AST", "ast_u_l", 0, 30000, "U/L"),
        range_check("LB-AST-ULN", "ast_uln_u_l", 5, 200, "U/L"),
        hard("LB-BILI", "", lambda r: r.chemistry_out_of_range(BILIRUBIN_RANGES, "bilirubin_unit")),
        hard(
            "LB-CREAT", "", lambda r: r.chemistry_out_of_range(CREATININE_RANGES, "creatinine_unit")
        ),
        range_check("LB-WBC", "wbc_10e9_l", 0, 1000, "×10⁹/L"),
        range_check("LB-ANC", "anc_10e9_l", 0, 500, "×10⁹/L"),
        range_check("LB-HGB", "hemoglobin_g_dl", 1, 25, "g/dL"),
        range_check("LB-PLT", "platelets_10e9_l", 0, 3000, "×10⁹/L"),
        hard("LB-DBILI-TBILI", "direct_bilirubin", lambda r: r.direct_above_total()),
    )
    # Results flagged against the normal range entered with them (shown on the form).
    normal_ranges = {
        "alt_u_l": "alt_uln_u_l",
        "ast_u_l": "ast_uln_u_l",
        "total_bilirubin": "total_bilirubin_uln",
        "direct_bilirubin": "direct_bilirubin_uln",
    }

    class Meta:
        constraints = one_per_subject("labs")
        verbose_name = _("screening labs")
        verbose_name_plural = _("screening labs")

    def chemistry_out_of_range(self, ranges: dict, unit_field: str) -> dict:
        """{field: message} for bilirubin or creatinine values outside the plausible range."""
        unit = getattr(self, unit_field)
        problems = {}
        for name, (low, high) in ranges[unit].items():
            value = getattr(self, name)
            if value is not None and not low <= value <= high:
                problems[name] = IMPLAUSIBLE % {
                    "value": value,
                    "low": low,
                    "high": high,
                    "unit": f" {ChemistryUnit(unit).label}",
                }
        return problems

    def direct_above_total(self) -> str | None:
        if (
            self.direct_bilirubin is not None
            and self.total_bilirubin is not None
            and self.direct_bilirubin > self.total_bilirubin
        ):
            return str(_("Direct bilirubin cannot exceed total bilirubin."))
        return None

    def flags(self) -> dict[str, str]:
        """H for a result above the upper limit of normal entered with it."""
        found = {}
        for name, uln_name in self.normal_ranges.items():
            value, uln = getattr(self, name), getattr(self, uln_name)
            if value is not None and uln is not None and value > uln:
                found[name] = "H"
        return found


class LvefMethod(models.TextChoices):
    ECHO = "echo", _("Echocardiography")
    MUGA = "muga", _("MUGA scan")


class CardiacAssessment(ScreeningCRF):
    crf_code = "cardiac"
    crf_title = _("Cardiac assessment (echo and ECG)")
    alternatives = (("heart_rate_bpm", "rr_ms"),)
    codable_fields = ("lvef_pct", "qt_ms", "heart_rate_bpm", "rr_ms")

    assessment_date = models.DateField(_("assessment date"))
    lvef_pct = pct(_("LVEF (%)"))
    lvef_method = models.CharField(
        _("LVEF method"), max_length=4, choices=LvefMethod.choices, blank=True
    )
    qt_ms = models.PositiveSmallIntegerField(
        _("QT interval (ms)"),
        null=True,
        blank=True,
        validators=[MinValueValidator(200), MaxValueValidator(800)],
    )
    heart_rate_bpm = models.PositiveSmallIntegerField(
        _("heart rate (bpm)"),
        null=True,
        blank=True,
        validators=[MinValueValidator(20), MaxValueValidator(250)],
    )
    rr_ms = models.PositiveSmallIntegerField(
        _("RR interval (ms)"),
        null=True,
        blank=True,
        validators=[MinValueValidator(200), MaxValueValidator(3000)],
        help_text=_("Give the heart rate or the RR interval, not both."),
    )
    nyha_class = models.PositiveSmallIntegerField(
        _("NYHA class"),
        null=True,
        blank=True,
        choices=[(0, _("No heart failure")), (1, "I"), (2, "II"), (3, "III"), (4, "IV")],
    )
    prior_mi_or_cabg = yes_no(_("history of myocardial infarction or CABG"))
    mi_or_cabg_last_date = when(_("date of the latest MI or CABG"))
    severe_arrhythmia = yes_no(_("severe rhythm or conduction abnormality"))
    av_block_2nd_or_3rd_degree = yes_no(_("AV block degree II–III"))
    severe_nonischemic_cardiomyopathy = yes_no(_("severe non-ischemic cardiomyopathy"))
    symptomatic_cardiac_disease_within_6_months = yes_no(
        _("other symptomatic cardiac disease within 6 months")
    )

    dated_answers = (("prior_mi_or_cabg", "mi_or_cabg_last_date"),)

    class Meta:
        constraints = one_per_subject("cardiac")
        verbose_name = _("cardiac assessment")
        verbose_name_plural = _("cardiac assessments")

    def cross_field_errors(self) -> dict:
        if self.heart_rate_bpm is not None and self.rr_ms is not None:
            return {
                "rr_ms": ValidationError(
                    _("Give the heart rate or the RR interval, not both."), code="exclusive"
                )
            }
        return {}


class Virology(ScreeningCRF):
    crf_code = "virology"
    assessment_date_field = "sample_date"
    crf_title = _("Virology")
    codable_fields = (
        "hiv_antibody_positive",
        "hbsag_positive",
        "anti_hbc_positive",
        "hbv_dna",
        "hbv_dna_llod",
        "anti_hcv_positive",
        "hcv_rna",
        "hcv_rna_llod",
        "tppa_positive",
    )

    sample_date = models.DateField(_("sample date"))
    hiv_antibody_positive = yes_no(_("HIV antibody positive"))
    hbsag_positive = yes_no(_("HBsAg positive"))
    anti_hbc_positive = yes_no(_("anti-HBc positive"))
    hbv_dna = amount(_("HBV DNA (IU/mL; 0 = not detected)"), digits=12)
    hbv_dna_llod = amount(_("HBV DNA lower limit of detection (IU/mL)"), digits=12)
    anti_hcv_positive = yes_no(_("anti-HCV positive"))
    hcv_rna = amount(_("HCV RNA (IU/mL; 0 = not detected)"), digits=12)
    hcv_rna_llod = amount(_("HCV RNA lower limit of detection (IU/mL)"), digits=12)
    tppa_positive = yes_no(_("TPPA (syphilis) antibody positive"))

    # (antibody, viral load): the load is asked for only after a positive antibody, and its
    # lower limit of detection only once a detected load is entered (protocol EX12.2, EX12.3).
    viral_loads = (("anti_hbc_positive", "hbv_dna"), ("anti_hcv_positive", "hcv_rna"))

    class Meta:
        constraints = one_per_subject("virology")
        verbose_name = _("virology")
        verbose_name_plural = _("virology results")

    def applicable_fields(self) -> list[str]:
        fields = super().applicable_fields()
        for antibody, load in self.viral_loads:
            level = getattr(self, load)
            if getattr(self, antibody) is not True:
                fields = [f for f in fields if f not in (load, f"{load}_llod")]
            elif level is None or level == 0:
                fields = [f for f in fields if f != f"{load}_llod"]
        return fields


class PregnancyAssessment(ScreeningCRF):
    crf_code = "pregnancy"
    crf_title = _("Pregnancy and contraception")
    asked_if = {
        "hcg_screening_positive": ("childbearing_potential", True),
        "hcg_baseline_positive": ("childbearing_potential", True),
        "agrees_to_stop_breastfeeding": ("breastfeeding", True),
    }

    def applicable_fields(self) -> list[str]:
        # Only women are asked about childbearing potential and breastfeeding.
        return super().applicable_fields() if self.subject.sex == "F" else []

    assessment_date = models.DateField(_("assessment date"))
    childbearing_potential = yes_no(_("woman of childbearing potential"))
    hcg_screening_positive = yes_no(_("HCG positive at screening"))
    hcg_baseline_positive = yes_no(_("HCG positive at baseline"))
    breastfeeding = yes_no(_("breastfeeding"))
    agrees_to_stop_breastfeeding = yes_no(_("agrees to give up breastfeeding"))

    class Meta:
        constraints = one_per_subject("pregnancy")
        verbose_name = _("pregnancy assessment")
        verbose_name_plural = _("pregnancy assessments")


class MedicationHistory(ScreeningCRF):
    crf_code = "medications"
    crf_title = _("Corticosteroids, vaccines and surgery")

    assessment_date = models.DateField(_("assessment date"))
    steroids_before_apheresis = yes_no(
        _("systemic corticosteroids in the 7 days before apheresis"),
        help_text=_("If yes, record each course below with drug, daily dose and dates."),
    )
    prior_live_vaccine = yes_no(_("live attenuated vaccine ever received"))
    live_vaccine_last_date = when(_("date of the latest live vaccine"))
    prior_major_surgery = yes_no(_("major surgery ever (a diagnostic biopsy is not)"))
    major_surgery_last_date = when(_("date of the latest major surgery"))
    surgery_planned = yes_no(_("surgery planned during the study"))

    dated_answers = (
        ("prior_live_vaccine", "live_vaccine_last_date"),
        ("prior_major_surgery", "major_surgery_last_date"),
    )

    class Meta:
        constraints = one_per_subject("medications")
        verbose_name = _("medication history")
        verbose_name_plural = _("medication histories")


class Steroid(models.TextChoices):
    PREDNISONE = "prednisone", _("Prednisone")
    PREDNISOLONE = "prednisolone", _("Prednisolone")
    METHYLPREDNISOLONE = "methylprednisolone", _("Methylprednisolone")
    DEXAMETHASONE = "dexamethasone", _("Dexamethasone")
    HYDROCORTISONE = "hydrocortisone", _("Hydrocortisone")
    CORTISONE = "cortisone", _("Cortisone")
    TRIAMCINOLONE = "triamcinolone", _("Triamcinolone")
    BETAMETHASONE = "betamethasone", _("Betamethasone")


class SteroidCourse(SubjectRecord):
    """One systemic corticosteroid course before apheresis (a repeating CRF row)."""

    drug = models.CharField(_("drug"), max_length=20, choices=Steroid.choices)
    daily_dose_mg = models.DecimalField(
        _("daily dose (mg)"),
        max_digits=7,
        decimal_places=2,
        validators=[MinValueValidator(0)],
    )
    start_date = models.DateField(_("start date"))
    end_date = models.DateField(_("end date"), null=True, blank=True)
    ongoing = models.BooleanField(_("ongoing"), default=False)

    assessment_date_field = "start_date"
    future_dates_allowed = ("end_date",)  # a course may be planned to end after today

    class Meta:
        ordering = ["subject", "start_date"]
        verbose_name = _("steroid course")
        verbose_name_plural = _("steroid courses")

    def __str__(self) -> str:
        return f"{self.subject} {self.get_drug_display()} {self.daily_dose_mg} mg/day"

    def get_absolute_url(self) -> str:
        from django.urls import reverse

        return reverse("enrollment:steroid-edit", args=[self.subject_id, self.pk])

    def clean(self):
        errors = {}
        if self.daily_dose_mg is not None and self.daily_dose_mg <= 0:
            errors["daily_dose_mg"] = ValidationError(
                _("The dose must be above 0 mg."), code="min_value"
            )
        if self.end_date and self.start_date and self.end_date < self.start_date:
            errors["end_date"] = ValidationError(
                _("The course cannot end before it starts."), code="order"
            )
        if self.end_date is None and not self.ongoing:
            errors["end_date"] = ValidationError(
                _("Give the end date, or tick “ongoing”."), code="required_if"
            )
        if self.end_date and self.ongoing:
            errors["ongoing"] = ValidationError(
                _("An ongoing course has no end date."), code="exclusive"
            )
        if errors:
            raise ValidationError(errors)


class BestResponse(models.TextChoices):
    """Best response to a regimen, ELN 2022 response categories (Döhner 2022, table 9)."""

    CR = "CR", _("CR — complete remission")
    CRH = "CRh", _("CRh — CR with partial hematologic recovery")
    CRI = "CRi", _("CRi — CR with incomplete hematologic recovery")
    MLFS = "MLFS", _("MLFS — morphologic leukemia-free state")
    PR = "PR", _("PR — partial remission")
    NR = "NR", _("No response (refractory)")
    PD = "PD", _("Progressive disease")
    NE = "NE", _("Not evaluable")
    UNKNOWN = "unknown", _("Unknown")


class PriorRegimen(SubjectRecord):
    """One prior anti-leukemic regimen (a repeating row of the AML history)."""

    regimen = models.CharField(
        _("regimen"), max_length=120, help_text=_("e.g. 7+3 (cytarabine + daunorubicin)")
    )
    start_date = models.DateField(_("start date"))
    end_date = models.DateField(_("end date"), null=True, blank=True)
    best_response = models.CharField(_("best response"), max_length=8, choices=BestResponse.choices)

    assessment_date_field = "start_date"

    class Meta:
        ordering = ["subject", "start_date"]

    def __str__(self) -> str:
        return f"{self.subject} {self.regimen} ({self.start_date})"

    def get_absolute_url(self) -> str:
        from django.urls import reverse

        return reverse("enrollment:regimen-edit", args=[self.subject_id, self.pk])

    def clean(self):
        if self.end_date and self.start_date and self.end_date < self.start_date:
            raise ValidationError(
                {
                    "end_date": ValidationError(
                        _("A regimen cannot end before it starts."), code="order"
                    )
                }
            )


class MedicalConditions(ScreeningCRF):
    crf_code = "conditions"
    crf_title = _("Medical conditions")
    asked_if = {
        "other_malignancy_exempt_type": ("other_malignancy", True),
        "other_malignancy_disease_free_years": ("other_malignancy", True),
        "unresolved_toxicity_no_safety_risk": ("unresolved_prior_toxicity", True),
    }

    assessment_date = models.DateField(_("assessment date"))
    study_drug_allergy = yes_no(_("allergy to any ingredient of the study drugs"))
    active_gvhd = yes_no(_("active GvHD at screening"))
    gvhd_active_within_4_weeks = yes_no(_("active GvHD within 4 weeks before enrollment"))
    gvhd_immunosuppressants = yes_no(_("needs immunosuppressants for GvHD"))
    active_infection_systemic_treatment = yes_no(_("active infection needing systemic treatment"))
    other_malignancy = yes_no(_("history of another malignancy"))
    other_malignancy_exempt_type = yes_no(
        _("that malignancy is an exempt type (non-melanoma skin, cervical CIS, bladder, breast)")
    )
    other_malignancy_disease_free_years = amount(
        _("disease-free years after curative treatment"), digits=5
    )
    prior_stroke_or_seizure = yes_no(_("stroke or seizure ever"))
    stroke_or_seizure_last_date = when(_("date of the latest stroke or seizure"))
    pulmonary_fibrosis = yes_no(_("pulmonary fibrosis"))
    active_autoimmune_disease = yes_no(_("active autoimmune disease"))
    unresolved_prior_toxicity = yes_no(_("acute toxicity of prior treatment not back to grade ≤ 1"))
    unresolved_toxicity_no_safety_risk = yes_no(
        _("investigator judges that toxicity to carry no safety risk (e.g. alopecia)")
    )

    dated_answers = (("prior_stroke_or_seizure", "stroke_or_seizure_last_date"),)

    class Meta:
        constraints = one_per_subject("conditions")
        verbose_name = _("medical conditions")
        verbose_name_plural = _("medical conditions")


class InvestigatorAttestation(ScreeningCRF):
    """The judgement items only the investigator may answer."""

    crf_code = "attestation"
    crf_title = _("Investigator attestations")

    assessment_date = models.DateField(_("assessment date"))
    estimated_survival_at_least_3_months = yes_no(_("estimated survival ≥ 3 months"))
    allo_hsct_donor_confirmed = yes_no(_("a donor for allogeneic HSCT is confirmed"))
    able_to_stop_steroids = yes_no(_("able to stop corticosteroids from Day −7 to Day +30"))
    contraception_agreed = yes_no(_("agrees to contraception and no sperm donation for 2 years"))
    willing_to_follow_up = yes_no(_("agrees to follow-up as the protocol requires"))
    steroids_needed_within_12_weeks = yes_no(
        _("a comorbidity will need systemic steroids/immunosuppressants within 12 weeks")
    )
    plans_children_within_2_years = yes_no(_("plans to have children within 2 years"))
    investigator_judges_unsuitable = yes_no(
        _("a condition makes participation unsuitable (investigator's judgement)")
    )

    class Meta:
        constraints = one_per_subject("attestation")
        verbose_name = _("investigator attestation")
        verbose_name_plural = _("investigator attestations")
