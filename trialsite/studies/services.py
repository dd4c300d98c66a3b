"""Writes to studies, sites, memberships and the settings document (docs/architecture.md §3)."""

from __future__ import annotations

from collections.abc import Mapping

from django.contrib.auth.models import AbstractBaseUser
from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from trialsite import clock
from trialsite.studies import study_settings
from trialsite.studies.models import Membership, Site, Study, StudySettingsVersion

STALE_SETTINGS = _(
    "The study settings were changed by {user} at {when} (version {version}); reload to see "
    "their change."
)
REASON_REQUIRED = _("Give a reason for changing the study settings.")


def create_study(
    *,
    actor: AbstractBaseUser | None,
    protocol_number: str,
    nct_id: str,
    title: str,
    short_title: str,
    phase: str,
    design: str,
    status: str = Study.Status.PLANNING,
    settings_document: Mapping | None = None,
) -> Study:
    """Create a study with a complete, validated settings document as version 1."""
    document = study_settings.validate_document(settings_document or {})
    with transaction.atomic():
        study = Study(
            protocol_number=protocol_number,
            nct_id=nct_id,
            title=title,
            short_title=short_title,
            phase=phase,
            design=design,
            status=status,
            settings=document,
            settings_version=1,
        )
        study.full_clean()
        study.save()
        StudySettingsVersion.objects.create(
            study=study,
            version=1,
            document=document,
            changed_by=actor,
            changed_at=clock.now(),
            reason="Study created with these settings.",
        )
    return study


def update_study_settings(
    study: Study,
    *,
    actor: AbstractBaseUser,
    document: Mapping,
    expected_version: int,
    reason: str,
) -> Study:
    """Replace the settings document with a new validated version; the old one is kept."""
    if not reason.strip():
        raise ValidationError({"reason": ValidationError(REASON_REQUIRED, code="reason_required")})
    cleaned = study_settings.validate_document(document)
    with transaction.atomic():
        # Lock the study row so two administrators cannot both create version n+1.
        current = Study.objects.select_for_update().get(pk=study.pk)
        if current.settings_version != expected_version:
            last = current.settings_versions.select_related("changed_by").first()
            raise ValidationError(
                STALE_SETTINGS.format(
                    user=last.changed_by if last and last.changed_by else "the system",
                    when=timezone.localtime(last.changed_at).strftime("%Y-%m-%d %H:%M")
                    if last
                    else "?",
                    version=current.settings_version,
                ),
                code="stale_version",
            )
        if cleaned == current.settings:
            return current
        current.settings = cleaned
        current.settings_version += 1
        current.save(update_fields=["settings", "settings_version"])
        StudySettingsVersion.objects.create(
            study=current,
            version=current.settings_version,
            document=cleaned,
            changed_by=actor,
            changed_at=clock.now(),
            reason=reason.strip(),
        )
        recompute_reason = f"Study settings version {current.settings_version}: {reason.strip()}"
        for hook in study_settings.change_hooks():
            transaction.on_commit(
                lambda hook=hook: hook(current, actor=actor, reason=recompute_reason)
            )
    return current


def add_site(study: Study, *, code: str, name: str, **fields) -> Site:
    site = Site(study=study, code=code, name=name, **fields)
    site.full_clean()
    site.save()
    return site


def grant_role(*, user, study: Study, role: str, site: Site | None = None) -> Membership:
    """Give a user a role on a study (at one site, or study-wide when ``site`` is None)."""
    if site is not None and site.study_id != study.pk:
        raise ValidationError(
            {"site": ValidationError(_("The site belongs to another study."), code="site_study")}
        )
    membership, _created = Membership.objects.get_or_create(
        user=user, study=study, site=site, role=role, defaults={"is_active": True}
    )
    if not membership.is_active:
        membership.is_active = True
        membership.save(update_fields=["is_active"])
    return membership
