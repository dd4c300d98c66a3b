"""Studies, their sites, who works on them, and the versioned study settings document."""

from __future__ import annotations

from django.conf import settings
from django.core.validators import RegexValidator
from django.db import models
from django.utils.translation import gettext_lazy as _

from trialsite.studies.roles import Role

nct_id_validator = RegexValidator(r"^NCT\d{8}$", _("An NCT ID is NCT followed by 8 digits."))
site_code_validator = RegexValidator(
    r"^[A-Z][A-Z0-9]{0,7}$", _("Use 1–8 capital letters or digits, starting with a letter.")
)


class Study(models.Model):
    class Phase(models.TextChoices):
        PHASE1 = "phase1", _("Phase I")
        PHASE1_2 = "phase1_2", _("Phase I/II")
        PHASE2 = "phase2", _("Phase II")

    class Status(models.TextChoices):
        PLANNING = "planning", _("Planning")
        RECRUITING = "recruiting", _("Recruiting")
        CLOSED_TO_ACCRUAL = "closed_to_accrual", _("Closed to accrual")
        FOLLOW_UP = "follow_up", _("Follow-up only")
        CLOSED = "closed", _("Closed")

    protocol_number = models.CharField(_("protocol number"), max_length=40, unique=True)
    nct_id = models.CharField(
        _("NCT ID"), max_length=11, unique=True, validators=[nct_id_validator]
    )
    title = models.CharField(_("title"), max_length=400)
    short_title = models.CharField(_("short title"), max_length=80)
    phase = models.CharField(_("phase"), max_length=12, choices=Phase.choices)
    design = models.CharField(_("design"), max_length=200)
    status = models.CharField(
        _("status"), max_length=20, choices=Status.choices, default=Status.PLANNING
    )
    # The current study settings document (a copy of the newest StudySettingsVersion).
    settings = models.JSONField(_("study settings"), default=dict)
    settings_version = models.PositiveIntegerField(_("settings version"), default=0)
    # Bumped in the same transaction as every clinical write; snapshots are stamped with it.
    data_version = models.PositiveBigIntegerField(_("data version"), default=0)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["protocol_number"]
        verbose_name_plural = "studies"

    def __str__(self) -> str:
        return f"{self.short_title} ({self.nct_id})"

    def rule_settings(self, section: str) -> dict:
        """The settings of one rules module, ready to pass as keyword arguments."""
        return dict(self.settings.get(section, {}))


class Site(models.Model):
    study = models.ForeignKey(Study, on_delete=models.PROTECT, related_name="sites")
    code = models.CharField(
        _("site code"),
        max_length=8,
        validators=[site_code_validator],
        help_text=_("Prefix of screening numbers, e.g. TJ gives TJ-S-0007."),
    )
    name = models.CharField(_("name"), max_length=200)
    city = models.CharField(_("city"), max_length=100, blank=True)
    country = models.CharField(_("country"), max_length=100, blank=True)
    time_zone = models.CharField(_("time zone"), max_length=64, default="Asia/Shanghai")
    # Sites that forbid full birth dates record the birth year only.
    birth_year_only = models.BooleanField(_("record birth year only"), default=False)
    is_active = models.BooleanField(default=True)

    class Meta:
        ordering = ["study", "code"]
        constraints = [
            models.UniqueConstraint(fields=["study", "code"], name="site_code_unique_in_study")
        ]

    def __str__(self) -> str:
        return f"{self.code} — {self.name}"


class Membership(models.Model):
    """One user's role on one study, at one site or (site empty) at every site of the study."""

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="memberships"
    )
    study = models.ForeignKey(Study, on_delete=models.CASCADE, related_name="memberships")
    site = models.ForeignKey(
        Site,
        on_delete=models.CASCADE,
        null=True,
        blank=True,
        related_name="memberships",
        help_text=_("Leave empty for a study-wide role (monitor, data manager, sponsor)."),
    )
    role = models.CharField(_("role"), max_length=20, choices=Role.choices)
    is_active = models.BooleanField(default=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["study", "user", "role"]
        constraints = [
            models.UniqueConstraint(
                fields=["user", "study", "site", "role"], name="membership_unique_at_site"
            ),
            models.UniqueConstraint(
                fields=["user", "study", "role"],
                condition=models.Q(site__isnull=True),
                name="membership_unique_study_wide",
            ),
        ]

    def __str__(self) -> str:
        where = self.site.code if self.site_id else "all sites"
        return f"{self.user} — {self.get_role_display()} ({where})"


class StudySettingsVersion(models.Model):
    """Every version of a study's settings document: never changed, only added to."""

    study = models.ForeignKey(Study, on_delete=models.PROTECT, related_name="settings_versions")
    version = models.PositiveIntegerField()
    document = models.JSONField()
    changed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, related_name="+"
    )
    changed_at = models.DateTimeField()
    reason = models.TextField()

    class Meta:
        ordering = ["study", "-version"]
        constraints = [
            models.UniqueConstraint(fields=["study", "version"], name="settings_version_unique")
        ]

    def __str__(self) -> str:
        return f"{self.study.short_title} settings v{self.version}"


class MembershipChange(models.Model):
    """Every change to who holds which role where: never changed, only added to.

    ``before`` and ``after`` hold ``{"role", "site", "is_active"}`` (``before`` is empty when the
    role was granted). Kept here, beside the memberships, as ``StudySettingsVersion`` keeps the
    settings history: the studies layer does not import the clinical audit trail.
    """

    class Kind(models.TextChoices):
        GRANTED = "granted", _("Role granted")
        CHANGED = "changed", _("Role or site changed")
        DEACTIVATED = "deactivated", _("Deactivated")
        REACTIVATED = "reactivated", _("Reactivated")

    study = models.ForeignKey(Study, on_delete=models.PROTECT, related_name="membership_changes")
    membership = models.ForeignKey(
        Membership, on_delete=models.PROTECT, related_name="changes", null=True
    )
    member = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    kind = models.CharField(_("change"), max_length=12, choices=Kind.choices)
    before = models.JSONField(default=dict, blank=True)
    after = models.JSONField(default=dict)
    changed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, related_name="+"
    )
    changed_at = models.DateTimeField(_("changed at"))
    reason = models.TextField(_("reason"), blank=True)

    class Meta:
        ordering = ["study", "-changed_at", "-id"]
        verbose_name = _("membership change")
        verbose_name_plural = _("membership changes")
        indexes = [models.Index(fields=["study", "-changed_at"], name="membership_change_time")]

    def __str__(self) -> str:
        return f"{self.member}: {self.get_kind_display()} ({self.changed_at:%Y-%m-%d})"
