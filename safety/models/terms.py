"""CTCAE v5.0 terms as reference data (NCI CTCAE v5.0, 27 Nov 2017).

A term is what a coordinator picks on the AE form: its MedDRA code and system organ class (SOC),
the definition, and the text of each grade. A grade the term does not have (many terms stop at
grade 3; CTCAE prints "-") is an empty text, so ``max_grade`` is the highest grade the term
allows and the AE form refuses a higher one. ``code_to_verify`` marks a MedDRA code that was not
sourced from NCI's file (blank codes are never invented): data managers see the flag until the
complete spreadsheet is loaded (``manage.py load_ctcae``).

Terms are not clinical records (they are a dictionary, identical for every study); loading or
replacing them is audited by the loading command.
"""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _

from safety import rules


class DLTCategory(models.TextChoices):
    """How the DLT criteria treat an event (``safety.rules.AE_CATEGORIES``)."""

    CRS = "crs", _("CRS")
    ICANS = "icans", _("ICANS")
    HEMATOLOGIC = "hematologic", _("Hematologic")
    NON_HEMATOLOGIC = "non_hematologic", _("Non-hematologic")


assert {c.value for c in DLTCategory} == set(rules.AE_CATEGORIES)


class GradingScale(models.TextChoices):
    """Which scale the grade texts come from. CTCAE v5.0 has no ICANS term and grades CRS its own
    way; this study grades both by ASTCT 2019 (Lee et al., BBMT 2019;25:625-638; RULES.md §2)."""

    CTCAE_V5 = "ctcae_v5", _("CTCAE v5.0")
    ASTCT_2019 = "astct_2019", _("ASTCT 2019 consensus grading")


class CTCAETerm(models.Model):
    term = models.CharField(_("CTCAE term"), max_length=200, unique=True)
    soc = models.CharField(_("system organ class"), max_length=120)
    meddra_code = models.PositiveIntegerField(_("MedDRA code"), null=True, blank=True)
    code_to_verify = models.BooleanField(
        _("MedDRA code to verify"),
        default=False,
        help_text=_("The code was not read from NCI's CTCAE v5.0 file: verify it before export."),
    )
    definition = models.TextField(_("definition"), blank=True)
    grade_1 = models.TextField(_("grade 1"), blank=True)
    grade_2 = models.TextField(_("grade 2"), blank=True)
    grade_3 = models.TextField(_("grade 3"), blank=True)
    grade_4 = models.TextField(_("grade 4"), blank=True)
    grade_5 = models.TextField(_("grade 5"), blank=True)
    dlt_category = models.CharField(
        _("DLT category"),
        max_length=16,
        choices=DLTCategory.choices,
        default=DLTCategory.NON_HEMATOLOGIC,
    )
    other_specify = models.BooleanField(
        _("'Other, specify' term"),
        default=False,
        help_text=_("The coordinator must name the event in the verbatim term."),
    )
    source = models.CharField(_("source"), max_length=40, default="shipped subset")
    grading_scale = models.CharField(
        _("graded by"),
        max_length=12,
        choices=GradingScale.choices,
        default=GradingScale.CTCAE_V5,
    )

    class Meta:
        ordering = ["soc", "term"]
        verbose_name = _("CTCAE term")
        verbose_name_plural = _("CTCAE terms")

    def __str__(self) -> str:
        return self.term

    def grade_text(self, grade: int) -> str:
        return getattr(self, f"grade_{grade}", "") if 1 <= grade <= 5 else ""

    @property
    def grades(self) -> list[tuple[int, str]]:
        """(grade, text) for every grade the term defines, 1 upwards."""
        return [(g, self.grade_text(g)) for g in range(1, 6) if self.grade_text(g)]

    @property
    def max_grade(self) -> int:
        """The highest grade CTCAE defines for this term (5 when the term defines none)."""
        defined = [g for g, _text in self.grades]
        return max(defined) if defined else 5


class CTCAELoad(models.Model):
    """One load of the term dictionary: who, when, which file (SHA-256) and what changed.

    Terms belong to no study, so a load is not a study's audit event: like the settings history
    and ``MembershipChange`` it is kept in its own append-only table (rows are only inserted, by
    ``safety.services.terms``), shown on the terms page and in the admin.
    """

    class Source(models.TextChoices):
        SHIPPED = "shipped", _("The subset shipped with trialsite")
        NCI_FILE = "nci_file", _("NCI's CTCAE v5.0 spreadsheet")

    loaded_at = models.DateTimeField(_("loaded at"))
    loaded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("loaded by"),
    )
    source = models.CharField(_("source"), max_length=10, choices=Source.choices)
    file_name = models.CharField(_("file"), max_length=255)
    sha256 = models.CharField(_("SHA-256 of the file"), max_length=64)
    created = models.PositiveIntegerField(_("terms added"), default=0)
    updated = models.PositiveIntegerField(_("terms changed"), default=0)
    unchanged = models.PositiveIntegerField(_("terms unchanged"), default=0)
    removed = models.PositiveIntegerField(_("terms removed"), default=0)
    kept_in_use = models.PositiveIntegerField(_("terms kept (in use, not in the file)"), default=0)
    total = models.PositiveIntegerField(_("terms after the load"), default=0)

    class Meta:
        ordering = ["-loaded_at", "-pk"]
        verbose_name = _("CTCAE term load")
        verbose_name_plural = _("CTCAE term loads")

    def __str__(self) -> str:
        return f"{self.get_source_display()} {self.file_name} ({self.loaded_at:%Y-%m-%d %H:%M})"
