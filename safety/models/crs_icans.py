"""Daily CRS and ICANS assessments graded by ASTCT 2019, and the episodes they roll up into.

Source: Lee DW et al., ASTCT consensus grading for cytokine release syndrome and neurologic
toxicity associated with immune effector cells, Biol Blood Marrow Transplant 2019;25:625-638
(RULES.md §2.1-2.2; docs/rules/safety.md "Daily CRS and ICANS CRFs").

Every choice on these forms IS the vocabulary of ``safety.rules`` (``OXYGEN_DEVICES``,
``VASOPRESSORS``, ``CONSCIOUSNESS_LEVELS``, ``SEIZURE_TYPES``, ``MOTOR_FINDINGS``,
``RAISED_ICP_FINDINGS``): the module asserts it at import, so a rule vocabulary and its form
cannot drift apart. The grade, the deciding parameter, the fever flag and the ICE score are
derived by the service (``safety.services.crs_icans``) from the rules, never typed.

Episodes (``CRSEpisode``, ``ICANSEpisode``) are derived records (``audit_derived``): the
assessment service rebuilds them from the daily grades in the saving transaction and keeps each
as an adverse event (``AESource.CRS_EPISODE`` / ``ICANS_EPISODE``).
"""

from __future__ import annotations

from decimal import Decimal

from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.urls import reverse
from django.utils.translation import gettext_lazy as _

from enrollment.models import SubjectRecord
from safety import rules
from trialsite.records.edit_checks import range_check


class OxygenDevice(models.TextChoices):
    ROOM_AIR = "room_air", _("Room air (no supplemental oxygen)")
    NASAL_CANNULA = "nasal_cannula", _("Nasal cannula")
    BLOW_BY = "blow_by", _("Blow-by")
    SIMPLE_FACE_MASK = "simple_face_mask", _("Simple face mask")
    VENTURI_MASK = "venturi_mask", _("Venturi mask")
    NON_REBREATHER = "non_rebreather", _("Non-rebreather mask")
    HIGH_FLOW_NASAL_CANNULA = "high_flow_nasal_cannula", _("High-flow nasal cannula")
    CPAP = "cpap", _("CPAP")
    BIPAP = "bipap", _("BiPAP")
    MECHANICAL_VENTILATION = "mechanical_ventilation", _("Intubation / mechanical ventilation")


assert set(OxygenDevice.values) == set(rules.OXYGEN_DEVICES)


class Vasopressor(models.TextChoices):
    NOREPINEPHRINE = "norepinephrine", _("Norepinephrine")
    EPINEPHRINE = "epinephrine", _("Epinephrine")
    PHENYLEPHRINE = "phenylephrine", _("Phenylephrine")
    DOPAMINE = "dopamine", _("Dopamine")
    VASOPRESSIN = "vasopressin", _("Vasopressin")
    ANGIOTENSIN_II = "angiotensin_ii", _("Angiotensin II")


assert tuple(Vasopressor.values) == rules.VASOPRESSORS

#: The dose field of each vasopressor, its unit and a plausible range (not in ASTCT; a dose
#: outside it is a typing error: vasopressin is dosed in units/min, angiotensin II in ng/kg/min).
VASOPRESSOR_DOSES: dict[str, tuple[str, str, Decimal, Decimal]] = {
    "norepinephrine": ("norepinephrine_ug_kg_min", "µg/kg/min", Decimal("0.001"), Decimal("5")),
    "epinephrine": ("epinephrine_ug_kg_min", "µg/kg/min", Decimal("0.001"), Decimal("5")),
    "phenylephrine": ("phenylephrine_ug_kg_min", "µg/kg/min", Decimal("0.01"), Decimal("20")),
    "dopamine": ("dopamine_ug_kg_min", "µg/kg/min", Decimal("0.5"), Decimal("50")),
    "vasopressin": ("vasopressin_u_min", "units/min", Decimal("0.001"), Decimal("0.1")),
    "angiotensin_ii": ("angiotensin_ii_ng_kg_min", "ng/kg/min", Decimal("1"), Decimal("100")),
}


class Consciousness(models.TextChoices):
    AWAKE = "awake", _("Awake, alert")
    SPONTANEOUS = "awakens_spontaneously", _("Depressed: awakens spontaneously")
    VOICE = "awakens_to_voice", _("Depressed: awakens to voice")
    TOUCH = "awakens_to_touch", _("Depressed: awakens only to tactile stimulus")
    UNAROUSABLE = (
        "unarousable",
        _("Unarousable, or needs vigorous or repeated stimuli; stupor, coma"),
    )


class Seizure(models.TextChoices):
    NONE = "none", _("None")
    RAPID = (
        "resolved_rapidly",
        _(
            "Clinical seizure resolving rapidly, or non-convulsive seizures on EEG resolving with "
            "intervention"
        ),
    )
    PROLONGED = (
        "prolonged_or_repetitive",
        _(
            "Life-threatening prolonged seizure (> 5 min), or repetitive seizures without "
            "return to baseline in between"
        ),
    )


class MotorFinding(models.TextChoices):
    NONE = "none", _("None (tremor and myoclonus are graded with CTCAE, not ICANS)")
    DEEP_FOCAL_WEAKNESS = (
        "deep_focal_weakness",
        _("Deep focal motor weakness (hemiparesis, paraparesis)"),
    )


class RaisedICP(models.TextChoices):
    NONE = "none", _("None")
    FOCAL = "focal_edema", _("Focal or local oedema on neuroimaging")
    DIFFUSE = (
        "diffuse_edema",
        _(
            "Diffuse cerebral oedema on neuroimaging; decerebrate or decorticate posturing; "
            "cranial nerve VI palsy; papilloedema; Cushing's triad"
        ),
    )


assert set(Consciousness.values) == set(rules.CONSCIOUSNESS_LEVELS)
assert set(Seizure.values) == set(rules.SEIZURE_TYPES)
assert set(MotorFinding.values) == set(rules.MOTOR_FINDINGS)
assert set(RaisedICP.values) == set(rules.RAISED_ICP_FINDINGS)


class CorticosteroidDrug(models.TextChoices):
    DEXAMETHASONE = "dexamethasone", _("Dexamethasone")
    METHYLPREDNISOLONE = "methylprednisolone", _("Methylprednisolone")
    HYDROCORTISONE = "hydrocortisone", _("Hydrocortisone")
    PREDNISONE = "prednisone", _("Prednisone / prednisolone")


def _dose_range_checks():
    checks = []
    for drug, (field, unit, low, high) in VASOPRESSOR_DOSES.items():
        checks.append(range_check(f"CRS-{drug.upper()}-RANGE", field, low, high, unit))
    return tuple(checks)


class CRSAssessment(SubjectRecord):
    """One day's CRS assessment (the day's worst values), one per subject per date."""

    crf_code = "CRS"
    crf_title = _("Daily CRS assessment")
    assessment_date_field = "assessment_date"
    edit_checks = (
        range_check("CRS-TMAX-RANGE", "max_temperature_c", 25, 45, "°C"),
        range_check("CRS-O2-FLOW-RANGE", "oxygen_flow_l_min", 0, 80, "L/min"),
        range_check("CRS-FIO2-RANGE", "fio2_percent", 21, 100, "%"),
        *_dose_range_checks(),
    )

    assessment_date = models.DateField(_("assessment date"))
    max_temperature_c = models.DecimalField(
        _("maximum temperature (°C)"), max_digits=4, decimal_places=1
    )
    fever = models.BooleanField(_("fever (≥ 38.0 °C)"), default=False, editable=False)
    hypotension = models.BooleanField(
        _("hypotension"),
        default=False,
        help_text=_("By the protocol's definition (systolic pressure below the study's cut-off)."),
    )
    lowest_sbp_mmhg = models.PositiveSmallIntegerField(
        _("lowest systolic blood pressure (mmHg)"),
        null=True,
        blank=True,
        validators=[MinValueValidator(30), MaxValueValidator(300)],
    )
    fluid_bolus = models.BooleanField(_("fluid bolus given"), default=False)
    vasopressors = models.JSONField(
        _("vasopressors given"),
        default=list,
        blank=True,
        help_text=_("Tick each vasopressor given and give its highest dose of the day."),
    )
    norepinephrine_ug_kg_min = models.DecimalField(
        _("norepinephrine (µg/kg/min)"), max_digits=6, decimal_places=3, null=True, blank=True
    )
    epinephrine_ug_kg_min = models.DecimalField(
        _("epinephrine (µg/kg/min)"), max_digits=6, decimal_places=3, null=True, blank=True
    )
    phenylephrine_ug_kg_min = models.DecimalField(
        _("phenylephrine (µg/kg/min)"), max_digits=6, decimal_places=3, null=True, blank=True
    )
    dopamine_ug_kg_min = models.DecimalField(
        _("dopamine (µg/kg/min)"), max_digits=6, decimal_places=2, null=True, blank=True
    )
    vasopressin_u_min = models.DecimalField(
        _("vasopressin (units/min)"), max_digits=6, decimal_places=3, null=True, blank=True
    )
    angiotensin_ii_ng_kg_min = models.DecimalField(
        _("angiotensin II (ng/kg/min)"), max_digits=6, decimal_places=1, null=True, blank=True
    )
    oxygen_device = models.CharField(
        _("oxygen device"),
        max_length=24,
        choices=OxygenDevice.choices,
        default=OxygenDevice.ROOM_AIR,
    )
    oxygen_flow_l_min = models.DecimalField(
        _("oxygen flow (L/min)"),
        max_digits=4,
        decimal_places=1,
        null=True,
        blank=True,
        help_text=_("Required for a nasal cannula: above 6 L/min is high flow."),
    )
    fio2_percent = models.DecimalField(
        _("FiO₂ (%)"),
        max_digits=4,
        decimal_places=1,
        null=True,
        blank=True,
        help_text=_("Needed only when the study grades CRS with CTCAE v5.0."),
    )
    antipyretic_given = models.BooleanField(_("antipyretic given"), default=False)
    tocilizumab_given = models.BooleanField(_("tocilizumab given"), default=False)
    tocilizumab_dose_mg = models.DecimalField(
        _("tocilizumab dose (mg)"), max_digits=6, decimal_places=1, null=True, blank=True
    )
    corticosteroid_given = models.BooleanField(_("corticosteroid given"), default=False)
    corticosteroid_drug = models.CharField(
        _("corticosteroid"), max_length=20, choices=CorticosteroidDrug.choices, blank=True
    )
    corticosteroid_dose_mg = models.DecimalField(
        _("corticosteroid daily dose (mg)"), max_digits=6, decimal_places=1, null=True, blank=True
    )
    episode_resolved = models.BooleanField(
        _("CRS resolved (investigator)"),
        default=False,
        help_text=_(
            "A treated CRS stays grade 1 without fever until the investigator closes it: tick on "
            "the first day with no sign of CRS left."
        ),
    )
    grade = models.PositiveSmallIntegerField(_("ASTCT grade"), null=True, editable=False)
    deciding = models.CharField(_("deciding parameter"), max_length=80, blank=True, editable=False)
    needs_review = models.BooleanField(
        _("signs without fever (investigator review)"), default=False, editable=False
    )

    class Meta:
        ordering = ["subject", "assessment_date"]
        constraints = [
            models.UniqueConstraint(
                fields=["subject", "assessment_date"], name="crs_one_assessment_per_day"
            )
        ]

    def __str__(self) -> str:
        return f"{self.subject} CRS {self.assessment_date}"

    def get_absolute_url(self) -> str:
        return reverse("safety:crs-edit", args=[self.subject_id, self.pk])

    @property
    def vasopressor_doses(self) -> list[tuple[str, Decimal | None, str]]:
        """(label, dose, unit) of each vasopressor given."""
        shown = []
        for drug in self.vasopressors or []:
            field, unit, _low, _high = VASOPRESSOR_DOSES.get(drug, ("", "", 0, 0))
            shown.append((Vasopressor(drug).label, getattr(self, field, None), unit))
        return shown

    @property
    def treatments(self) -> list[str]:
        """The CRS treatments of the day, as ``safety.models.Treatment`` values."""
        given = []
        if self.tocilizumab_given:
            given.append("tocilizumab")
        if self.corticosteroid_given:
            given.append("corticosteroids")
        return given


class ICANSAssessment(SubjectRecord):
    """One day's ICANS assessment (adults): the ICE items and the four other domains."""

    crf_code = "ICANS"
    crf_title = _("Daily ICANS assessment")
    assessment_date_field = "assessment_date"

    assessment_date = models.DateField(_("assessment date"))
    ice_not_assessable = models.BooleanField(
        _("ICE not assessable"),
        default=False,
        help_text=_(
            "Intubated or sedated for another reason: the grade comes from the other domains. "
            "An unarousable patient is assessable and scores 0."
        ),
    )
    ice_orientation = models.PositiveSmallIntegerField(
        _("orientation (year, month, city, hospital; 0–4)"), null=True, blank=True
    )
    ice_naming = models.PositiveSmallIntegerField(
        _("names three objects (0–3)"), null=True, blank=True
    )
    ice_commands = models.PositiveSmallIntegerField(
        _("follows simple commands (0–1)"), null=True, blank=True
    )
    ice_writing = models.PositiveSmallIntegerField(
        _("writes a standard sentence (0–1)"), null=True, blank=True
    )
    ice_attention = models.PositiveSmallIntegerField(
        _("counts backwards from 100 by 10 (0–1)"), null=True, blank=True
    )
    ice_score = models.PositiveSmallIntegerField(_("ICE score"), null=True, editable=False)
    consciousness = models.CharField(
        _("level of consciousness"),
        max_length=24,
        choices=Consciousness.choices,
        default=Consciousness.AWAKE,
        help_text=_("Record 'awake' when depressed consciousness has another cause (sedation)."),
    )
    seizure = models.CharField(
        _("seizure"), max_length=24, choices=Seizure.choices, default=Seizure.NONE
    )
    motor = models.CharField(
        _("motor findings"), max_length=24, choices=MotorFinding.choices, default=MotorFinding.NONE
    )
    raised_icp = models.CharField(
        _("raised intracranial pressure / cerebral oedema"),
        max_length=16,
        choices=RaisedICP.choices,
        default=RaisedICP.NONE,
    )
    corticosteroid_given = models.BooleanField(_("corticosteroid given"), default=False)
    corticosteroid_drug = models.CharField(
        _("corticosteroid"), max_length=20, choices=CorticosteroidDrug.choices, blank=True
    )
    corticosteroid_dose_mg = models.DecimalField(
        _("corticosteroid daily dose (mg)"), max_digits=6, decimal_places=1, null=True, blank=True
    )
    grade = models.PositiveSmallIntegerField(_("ASTCT grade"), null=True, editable=False)
    deciding = models.CharField(_("deciding domain"), max_length=80, blank=True, editable=False)

    class Meta:
        ordering = ["subject", "assessment_date"]
        constraints = [
            models.UniqueConstraint(
                fields=["subject", "assessment_date"], name="icans_one_assessment_per_day"
            )
        ]

    def __str__(self) -> str:
        return f"{self.subject} ICANS {self.assessment_date}"

    def get_absolute_url(self) -> str:
        return reverse("safety:icans-edit", args=[self.subject_id, self.pk])

    @property
    def treatments(self) -> list[str]:
        return ["corticosteroids"] if self.corticosteroid_given else []


ICE_ITEMS: tuple[str, ...] = (
    "ice_orientation",
    "ice_naming",
    "ice_commands",
    "ice_writing",
    "ice_attention",
)


class EpisodeBase(SubjectRecord):
    """A run of assessed days with grade >= 1, derived from the daily assessments.

    Episode rule (docs/rules/safety.md "Episodes"): the episode starts on the first day graded
    >= 1; a day without an assessment does not end it; the first assessed day graded 0 ends it
    and is its resolution day. ``max_grade`` = ``crs_episode_grade`` of its daily grades.
    """

    audit_derived = True
    assessment_date_field = "onset_date"

    onset_date = models.DateField(_("onset"))
    last_day = models.DateField(_("last day with signs"))
    resolution_date = models.DateField(_("resolved on"), null=True, blank=True)
    max_grade = models.PositiveSmallIntegerField(_("maximum grade"))
    max_grade_date = models.DateField(_("maximum grade on"))
    current_grade = models.PositiveSmallIntegerField(_("grade on the last day"))
    duration_days = models.PositiveSmallIntegerField(
        _("duration (days)"),
        help_text=_("Onset to resolution (or to the last assessed day while ongoing)."),
    )
    treatments = models.JSONField(_("treatments given"), default=list, blank=True)
    daily_grades = models.JSONField(_("daily grades"), default=list, blank=True)

    class Meta:
        abstract = True

    @property
    def ongoing(self) -> bool:
        return self.resolution_date is None


class CRSEpisode(EpisodeBase):
    crf_code = "CRS-EP"
    crf_title = _("CRS episode")
    tocilizumab_doses = models.PositiveSmallIntegerField(_("tocilizumab doses"), default=0)

    class Meta:
        ordering = ["subject", "onset_date"]

    def __str__(self) -> str:
        return f"{self.subject} CRS episode from {self.onset_date}"

    def get_absolute_url(self) -> str:
        return reverse("safety:crs-list", args=[self.subject_id])


class ICANSEpisode(EpisodeBase):
    crf_code = "ICANS-EP"
    crf_title = _("ICANS episode")

    class Meta:
        ordering = ["subject", "onset_date"]

    def __str__(self) -> str:
        return f"{self.subject} ICANS episode from {self.onset_date}"

    def get_absolute_url(self) -> str:
        return reverse("safety:icans-list", args=[self.subject_id])
