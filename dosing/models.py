"""Dosing tables: the study's dose levels, cohort assignments and the four treatment CRFs.

Issue 12 (the CRF part): apheresis → manufacturing / product release → lymphodepletion →
infusion. The infusion sets Day 0 (``enrollment.services.anchor_schedule``). Derived values —
body-surface area, dose per kg, deviation from the planned dose — are formulas of stored values
(``dosing.rules``) and are not stored (docs/architecture.md §11), except the planned dose, which
is copied from the assigned level when the infusion is recorded: a later settings change of the
level must not rewrite what was planned for a subject already dosed.
"""

from __future__ import annotations

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.urls import reverse
from django.utils.translation import gettext_lazy as _

from dosing import rules
from enrollment.models import SubjectRecord
from enrollment.models.core import amount, pct, yes_no
from trialsite.records.edit_checks import hard, range_check, soft
from trialsite.records.models import ClinicalRecord, Snapshot
from trialsite.studies.models import Study


class DoseLevel(models.Model):
    """One dose level of a study, kept in step with the ``dose_levels`` settings.

    Configuration, not clinical data: written only by ``dosing.services.sync_dose_levels`` from
    the audited study settings (on a settings change and on first use). Level 0 is DL−1, present
    when the escalation setting ``dose_level_minus1`` is true. A level removed from the settings
    stays (assignments point at it) but is inactive.
    """

    study = models.ForeignKey(Study, on_delete=models.CASCADE, related_name="dose_levels")
    level = models.SmallIntegerField(_("level"))
    label = models.CharField(_("label"), max_length=20)
    dose_cells_per_kg = models.FloatField(_("dose (CAR-T cells/kg)"))
    is_active = models.BooleanField(_("configured"), default=True)
    settings_version = models.PositiveIntegerField(default=0)

    class Meta:
        ordering = ["study", "level"]
        constraints = [
            models.UniqueConstraint(fields=["study", "level"], name="dose_level_unique"),
        ]

    def __str__(self) -> str:
        return f"{self.label} ({self.dose_cells_per_kg:.3g} cells/kg)"


class Phase(models.TextChoices):
    ATD = "ATD", _("Accelerated titration (ATD)")
    THREE_PLUS_THREE = "3+3", _("3+3")


class DosingCRF(SubjectRecord):
    """Abstract: a dosing CRF, entered once per subject (one row per subject)."""

    crf_code: str = ""
    crf_title = ""
    url_name = ""
    visit_code = ""

    class Meta:
        abstract = True

    def __str__(self) -> str:
        return f"{self.subject} — {self.crf_title}"

    def get_absolute_url(self) -> str:
        return reverse(self.url_name, args=[self.subject_id])


class CohortAssignment(SubjectRecord):
    """A subject's dose level, phase and cohort: what the escalation gate will lock and count.

    One *active* assignment per subject (a constraint). An assignment is ended (``is_active``
    false, with the reason) rather than deleted, so the escalation engine and the audit trail
    keep the history. ``decision`` is the signed safety-review decision whose slot the subject
    took: the gate (``dosing.services.assign_subject``) counts the active assignments of the
    latest decision under its row lock (issue 12 item 3).
    """

    crf_code = "assignment"
    crf_title = _("Cohort assignment")

    dose_level = models.ForeignKey(
        DoseLevel,
        on_delete=models.PROTECT,
        related_name="assignments",
        verbose_name=_("dose level"),
    )
    phase = models.CharField(_("phase"), max_length=4, choices=Phase.choices)
    cohort_number = models.PositiveSmallIntegerField(
        _("cohort number at this level"), validators=[MinValueValidator(1), MaxValueValidator(20)]
    )
    assigned_at = models.DateTimeField(_("assigned at"), editable=False)
    assigned_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        related_name="+",
        editable=False,
        verbose_name=_("assigned by"),
    )
    is_active = models.BooleanField(_("active"), default=True, editable=False)
    ended_reason = models.CharField(_("reason ended"), max_length=200, blank=True, editable=False)
    decision = models.ForeignKey(
        "dosing.EscalationDecision",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="assignments",
        editable=False,
        verbose_name=_("safety-review decision that opened the slot"),
    )

    assessment_date_field = "assigned_at"

    class Meta:
        ordering = ["dose_level__level", "cohort_number", "assigned_at"]
        constraints = [
            models.UniqueConstraint(
                fields=["subject"],
                condition=models.Q(is_active=True),
                name="one_active_assignment",
            )
        ]

    def __str__(self) -> str:
        return (
            f"{self.subject} → {self.dose_level.label} ({self.phase}, cohort {self.cohort_number})"
        )

    def get_absolute_url(self) -> str:
        return reverse("dosing:assign", args=[self.subject_id])


class Apheresis(DosingCRF):
    """Leukapheresis: the collection the CAR-T product is manufactured from."""

    crf_code = "apheresis"
    crf_title = _("Apheresis")
    url_name = "dosing:apheresis"
    visit_code = "APH"

    apheresis_date = models.DateField(_("apheresis date"))
    centre = models.CharField(_("apheresis centre"), max_length=120)
    volume_processed_l = amount(_("blood volume processed (L)"), digits=5)
    wbc_collected_10e9 = amount(
        _("WBC collected (×10⁹)"), digits=7, help_text=_("Where the centre reports it.")
    )
    cd3_collected_10e9 = amount(
        _("CD3+ cells collected (×10⁹)"), digits=7, help_text=_("Where the centre reports it.")
    )
    product_shipped_date = models.DateField(
        _("date shipped to manufacturing"), null=True, blank=True
    )

    assessment_date_field = "apheresis_date"
    edit_checks = (
        range_check("APH-VOL-RANGE", "volume_processed_l", 0.5, 40, "L"),
        range_check("APH-WBC-RANGE", "wbc_collected_10e9", 0, 1000, "×10⁹"),
        range_check("APH-CD3-RANGE", "cd3_collected_10e9", 0, 500, "×10⁹"),
    )

    class Meta:
        verbose_name = _("apheresis")
        verbose_name_plural = _("apheresis")
        constraints = [models.UniqueConstraint(fields=["subject"], name="one_apheresis")]

    def clean(self):
        if (
            self.product_shipped_date
            and self.apheresis_date
            and self.product_shipped_date < self.apheresis_date
        ):
            raise ValidationError(
                {
                    "product_shipped_date": ValidationError(
                        _("The product cannot be shipped before the apheresis."), code="order"
                    )
                }
            )


class ReleaseResult(models.TextChoices):
    PASS = "pass", _("Pass: released")
    FAIL = "fail", _("Fail: not released")


class ReleaseTest(models.TextChoices):
    STERILITY = "sterility", _("Sterility")
    ENDOTOXIN = "endotoxin", _("Endotoxin")
    MYCOPLASMA = "mycoplasma", _("Mycoplasma")
    VIABILITY = "viability", _("Viability")
    CAR_EXPRESSION = "car_expression", _("CAR expression")
    IDENTITY = "identity", _("Identity")
    POTENCY = "potency", _("Potency")
    RCL = "rcl", _("Replication-competent lentivirus")
    CELL_DOSE = "cell_dose", _("Cell number (dose not reachable)")
    OTHER = "other", _("Other")


class ProductRelease(DosingCRF):
    """Manufacturing and the release of the CAR-T lot (the certificate of analysis)."""

    crf_code = "release"
    crf_title = _("Manufacturing and product release")
    url_name = "dosing:release"
    visit_code = "APH"

    lot_number = models.CharField(_("lot number"), max_length=40)
    release_date = models.DateField(_("release date"))
    viability_pct = pct(_("viability (%)"))
    car_positive_pct = pct(_("CAR+ cells (%)"))
    total_viable_car_t_cells_1e6 = amount(_("total viable CAR-T cells (×10⁶)"), digits=9, places=2)
    release_result = models.CharField(
        _("release result"), max_length=4, choices=ReleaseResult.choices
    )
    failed_test = models.CharField(
        _("failed test"), max_length=20, choices=ReleaseTest.choices, blank=True
    )
    failed_test_detail = models.CharField(_("failure detail"), max_length=200, blank=True)

    assessment_date_field = "release_date"

    class Meta:
        verbose_name = _("product release")
        constraints = [models.UniqueConstraint(fields=["subject"], name="one_product_release")]

    def clean(self):
        errors = {}
        if self.release_result == ReleaseResult.FAIL and not self.failed_test:
            errors["failed_test"] = ValidationError(
                _("Name the release test that failed."), code="failed_test_required"
            )
        if self.release_result == ReleaseResult.PASS and self.failed_test:
            errors["failed_test"] = ValidationError(
                _("A released lot has no failed test: clear it or record the release as failed."),
                code="failed_test_on_pass",
            )
        if self.failed_test == ReleaseTest.OTHER and not self.failed_test_detail.strip():
            errors["failed_test_detail"] = ValidationError(
                _("Say which test failed."), code="detail_required"
            )
        if errors:
            raise ValidationError(errors)


class Regimen(models.TextChoices):
    FLU_CY = "flu_cy", _("Fludarabine + cyclophosphamide")


def _ld_dose(label, high) -> models.DecimalField:
    return models.DecimalField(
        label,
        max_digits=6,
        decimal_places=1,
        null=True,
        blank=True,
        validators=[MinValueValidator(0), MaxValueValidator(high)],
        help_text=_("mg/m²; leave empty if not given that day."),
    )


class Lymphodepletion(DosingCRF):
    """Fludarabine / cyclophosphamide on Day −5 to −3 of the planned infusion, dosed by BSA.

    Per-day doses in mg/m² (empty = not given that day); the BSA is computed from the height and
    weight recorded here by the study's formula (``dosing_crf.bsa_formula``) and shown with the
    mg per day — derived, not stored. The planned days are the planned infusion date −5, −4, −3
    (``dosing.rules.lymphodepletion_dates``); a start on another day opens a data query.
    """

    crf_code = "lymphodepletion"
    crf_title = _("Lymphodepletion")
    url_name = "dosing:lymphodepletion"
    visit_code = "LD"
    DRUGS = ("fludarabine", "cyclophosphamide")

    planned_infusion_date = models.DateField(_("planned infusion date"))
    start_date = models.DateField(_("first day of lymphodepletion"))
    regimen = models.CharField(
        _("regimen"), max_length=10, choices=Regimen.choices, default=Regimen.FLU_CY
    )
    height_cm = models.DecimalField(
        _("height (cm)"),
        max_digits=5,
        decimal_places=1,
        validators=[MinValueValidator(50), MaxValueValidator(250)],
    )
    weight_kg = models.DecimalField(
        _("weight (kg)"),
        max_digits=5,
        decimal_places=1,
        validators=[MinValueValidator(20), MaxValueValidator(300)],
    )
    fludarabine_mg_m2_day_minus5 = _ld_dose(_("fludarabine, Day −5 (mg/m²)"), 60)
    fludarabine_mg_m2_day_minus4 = _ld_dose(_("fludarabine, Day −4 (mg/m²)"), 60)
    fludarabine_mg_m2_day_minus3 = _ld_dose(_("fludarabine, Day −3 (mg/m²)"), 60)
    cyclophosphamide_mg_m2_day_minus5 = _ld_dose(_("cyclophosphamide, Day −5 (mg/m²)"), 1500)
    cyclophosphamide_mg_m2_day_minus4 = _ld_dose(_("cyclophosphamide, Day −4 (mg/m²)"), 1500)
    cyclophosphamide_mg_m2_day_minus3 = _ld_dose(_("cyclophosphamide, Day −3 (mg/m²)"), 1500)

    assessment_date_field = "start_date"
    future_dates_allowed = ("planned_infusion_date",)
    edit_checks = (
        soft(
            "LD-DAY-5",
            "start_date",
            lambda r: r.starts_off_schedule(),
            _("Lymphodepletion did not start on Day −5 of the planned infusion: confirm it."),
        ),
    )

    class Meta:
        verbose_name = _("lymphodepletion")
        constraints = [models.UniqueConstraint(fields=["subject"], name="one_lymphodepletion")]

    def day_fields(self, drug: str) -> list[tuple[int, str]]:
        return [(day, f"{drug}_mg_m2_day_minus{-day}") for day in rules.LYMPHODEPLETION_DAYS]

    def planned_dates(self) -> dict[int, object]:
        if self.planned_infusion_date is None:
            return {}
        return rules.lymphodepletion_dates(self.planned_infusion_date)

    def starts_off_schedule(self) -> bool:
        planned = self.planned_dates()
        return bool(planned and self.start_date and self.start_date != planned[-5])

    def clean(self):
        errors = {}
        planned = self.planned_infusion_date
        if self.start_date and planned and self.start_date >= planned:
            errors["start_date"] = ValidationError(
                _("Lymphodepletion must start before the planned infusion date."),
                code="after_planned_infusion",
            )
        doses = [getattr(self, name) for drug in self.DRUGS for _day, name in self.day_fields(drug)]
        if all(value is None for value in doses):
            errors["fludarabine_mg_m2_day_minus5"] = ValidationError(
                _("Enter the dose of at least one day."), code="no_dose"
            )
        if errors:
            raise ValidationError(errors)


class Infusion(DosingCRF):
    """The CAR-T infusion: Day 0. Saved only through ``dosing.services.record_infusion``."""

    crf_code = "infusion"
    crf_title = _("CAR-T infusion")
    url_name = "dosing:infusion"
    visit_code = "D0"

    infusion_start = models.DateTimeField(_("infusion start (date and time)"))
    weight_kg = models.DecimalField(
        _("weight for dosing (kg)"),
        max_digits=5,
        decimal_places=1,
        null=True,
        blank=True,
        validators=[MinValueValidator(20), MaxValueValidator(300)],
    )
    planned_dose_cells_per_kg = models.FloatField(
        _("planned dose (CAR-T cells/kg)"), editable=False
    )
    total_car_t_cells_1e6 = models.DecimalField(
        _("total CAR-T cells infused (×10⁶)"),
        max_digits=9,
        decimal_places=2,
        validators=[MinValueValidator(0)],
    )
    number_of_bags = models.PositiveSmallIntegerField(
        _("number of bags"), validators=[MinValueValidator(1), MaxValueValidator(10)]
    )
    premedication_given = yes_no(_("premedication given"))
    premedication = models.CharField(
        _("premedication"),
        max_length=200,
        blank=True,
        help_text=_("e.g. paracetamol 650 mg PO, diphenhydramine 25 mg IV"),
    )
    infusion_reaction = yes_no(_("infusion reaction"))
    infusion_reaction_details = models.CharField(
        _("infusion reaction: signs, grade, treatment"), max_length=300, blank=True
    )

    assessment_date_field = "infusion_start"
    edit_checks = (
        hard("INF-DOSE-MAX", "total_car_t_cells_1e6", lambda r: r.dose_problem("refused")),
        soft("INF-DOSE-TOL", "total_car_t_cells_1e6", lambda r: r.dose_problem("query")),
    )

    class Meta:
        verbose_name = _("CAR-T infusion")
        constraints = [models.UniqueConstraint(fields=["subject"], name="one_infusion")]

    def dose_check(self) -> rules.DoseCheck | None:
        """Dose/kg, deviation and verdict under the study's ``dosing_crf`` settings (or None)."""
        if (
            not self.total_car_t_cells_1e6
            or not self.weight_kg
            or not self.planned_dose_cells_per_kg
        ):
            return None
        crf = rules.validate_dosing_crf_settings(self.study.settings.get("dosing_crf", {}))
        return rules.check_infused_dose(
            float(self.total_car_t_cells_1e6) * 1e6,
            float(self.weight_kg),
            self.planned_dose_cells_per_kg,
            tolerance_pct=crf["dose_tolerance_pct"],
            max_deviation_pct=crf["dose_max_deviation_pct"],
        )

    def dose_problem(self, verdict: str) -> str:
        check = self.dose_check()
        if check is None or check.verdict != verdict:
            return ""
        crf = rules.validate_dosing_crf_settings(self.study.settings.get("dosing_crf", {}))
        values = {
            "dose": f"{check.dose_cells_per_kg:.3g}",
            "planned": f"{self.planned_dose_cells_per_kg:.3g}",
            "deviation": f"{check.deviation_pct:+.1f}",
        }
        if verdict == rules.DOSE_REFUSED:
            return str(
                _(
                    "%(dose)s cells/kg is %(deviation)s%% from the planned %(planned)s cells/kg, "
                    "beyond the maximum of %(limit)s%%: check the cell count and the weight."
                )
                % {**values, "limit": crf["dose_max_deviation_pct"]}
            )
        return str(
            _(
                "%(dose)s cells/kg is %(deviation)s%% from the planned %(planned)s cells/kg "
                "(tolerance %(limit)s%%): confirm the dose or explain the deviation."
            )
            % {**values, "limit": crf["dose_tolerance_pct"]}
        )

    def clean(self):
        if self.total_car_t_cells_1e6 and not self.weight_kg:
            raise ValidationError(
                {
                    "weight_kg": ValidationError(
                        _("Give the weight the dose was calculated for (cells/kg)."),
                        code="weight_required",
                    )
                }
            )


class EscalationState(Snapshot):
    """The escalation engine's answer for a study, computed from the data at ``data_version``.

    A keyed snapshot (one row per study, DESIGN.md §5) written only by the ``escalation``
    recompute hook (``dosing.recompute_hooks``) through ``store_snapshot``, so an older run never
    overwrites a newer one. Everything the dashboard shows is here: the recommendation, the
    per-level tallies, the trace after each subject and the subjects' DLT-window status, so the
    page reads one row.
    """

    action = models.CharField(_("recommended action"), max_length=10)
    dose_level = models.SmallIntegerField(_("recommended dose level"), null=True)
    mtd = models.SmallIntegerField(_("MTD"), null=True)
    phase = models.CharField(_("phase"), max_length=4)
    open_slots = models.PositiveSmallIntegerField(_("open slots"), default=0)
    code = models.CharField(_("rule code"), max_length=40)
    reason = models.TextField(_("reason"))
    sentence = models.TextField(_("recommendation"))
    current_level = models.SmallIntegerField(_("current dose level"), null=True)
    outcomes = models.TextField(_("outcomes (shorthand)"), blank=True)
    levels = models.JSONField(default=list)
    trace = models.JSONField(default=list)
    subjects = models.JSONField(default=list)
    deviations = models.JSONField(default=list)
    error = models.TextField(blank=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["study"], name="escalation_state_per_study"),
        ]

    def __str__(self) -> str:
        return f"{self.study_id} @ v{self.data_version}: {self.sentence}"


class DecisionAction(models.TextChoices):
    ENROLL = "enroll", _("Enroll at the decided level")
    WAIT = "wait", _("Wait (no new subject)")
    STOP = "stop", _("Stop escalation")


class EscalationDecision(ClinicalRecord):
    """The safety-review committee's decision, e-signed by an investigator (issue 12 §1, §3).

    It cites the state it was made on (``state_data_version`` and the engine's recommended
    action, level and slots as they were then, copied so a later recompute cannot rewrite what
    the committee saw), says whether it accepts or overrides the recommendation (an override
    needs its rationale) and opens ``open_slots`` at ``dose_level``. Only the latest signed
    decision opens slots (``dosing.services.assign_subject``). Study-level: no site.
    """

    recommended_action = models.CharField(_("recommended action"), max_length=10, blank=True)
    recommended_level = models.SmallIntegerField(_("recommended dose level"), null=True)
    recommended_slots = models.PositiveSmallIntegerField(_("recommended slots"), default=0)
    recommendation = models.TextField(_("recommendation cited"), blank=True)
    state_data_version = models.PositiveBigIntegerField(_("data version cited"), default=0)
    accepted = models.BooleanField(_("accepts the recommendation"))
    action = models.CharField(_("decision"), max_length=10, choices=DecisionAction.choices)
    dose_level = models.ForeignKey(
        DoseLevel,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="decisions",
        verbose_name=_("decided dose level"),
    )
    open_slots = models.PositiveSmallIntegerField(
        _("slots opened"), default=0, validators=[MaxValueValidator(6)]
    )
    phase = models.CharField(_("phase"), max_length=4, choices=Phase.choices, blank=True)
    rationale = models.TextField(_("rationale"), blank=True)

    edit_checks = (
        *ClinicalRecord.edit_checks,
        hard(
            "ESC-OVERRIDE-RATIONALE",
            "rationale",
            lambda d: not d.accepted and not (d.rationale or "").strip(),
            _("An override needs its rationale: say why the committee departs from the engine."),
        ),
        hard(
            "ESC-ENROLL-LEVEL",
            "dose_level",
            lambda d: d.action == DecisionAction.ENROLL and d.dose_level_id is None,
            _("Say at which dose level the slots open."),
        ),
        hard(
            "ESC-ENROLL-SLOTS",
            "open_slots",
            lambda d: d.action == DecisionAction.ENROLL and not d.open_slots,
            _("Say how many slots open (1 to 6)."),
        ),
    )

    class Meta:
        ordering = ["-id"]

    def __str__(self) -> str:
        if self.action == DecisionAction.ENROLL and self.dose_level_id:
            return f"{self.get_action_display()}: {self.open_slots} at {self.dose_level.label}"
        return str(self.get_action_display())

    def get_absolute_url(self) -> str:
        return reverse("escalation:dashboard")
