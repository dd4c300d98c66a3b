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
from trialsite.studies.models import (
    Membership,
    MembershipChange,
    Site,
    Study,
    StudySettingsVersion,
)
from trialsite.studies.roles import Role

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


def _state(membership: Membership) -> dict:
    return {
        "role": membership.role,
        "site": membership.site.code if membership.site_id else None,
        "is_active": membership.is_active,
    }


def _record_change(membership: Membership, *, kind, before: dict, actor, reason: str) -> None:
    MembershipChange.objects.create(
        study_id=membership.study_id,
        membership=membership,
        member_id=membership.user_id,
        kind=kind,
        before=before,
        after=_state(membership),
        changed_by=actor,
        changed_at=clock.now(),
        reason=reason.strip(),
    )


def _check_site(study: Study, site: Site | None) -> None:
    if site is not None and site.study_id != study.pk:
        raise ValidationError(
            {"site": ValidationError(_("The site belongs to another study."), code="site_study")}
        )


def _check_unique(membership: Membership) -> None:
    duplicate = Membership.objects.filter(
        user_id=membership.user_id,
        study_id=membership.study_id,
        site=membership.site,
        role=membership.role,
    ).exclude(pk=membership.pk)
    if duplicate.exists():
        raise ValidationError(
            {
                "role": ValidationError(
                    _("This person already holds this role there."), code="duplicate_membership"
                )
            }
        )


def _lock(membership: Membership) -> Membership:
    # Two administrators changing one membership queue here and the second sees the first.
    return Membership.objects.select_for_update(of=("self",)).get(pk=membership.pk)


def _need_reason(reason: str) -> None:
    if not reason.strip():
        raise ValidationError(
            {"reason": ValidationError(_("Give a reason for this change."), code="reason_required")}
        )


def grant_role(
    *, user, study: Study, role: str, site: Site | None = None, actor=None, reason: str = ""
) -> Membership:
    """Give a user a role on a study (at one site, or study-wide when ``site`` is None).

    Granting a role the user already holds there is a no-op; granting one that was deactivated
    reactivates it. Every grant is kept in ``MembershipChange`` (``actor`` None: the system,
    e.g. the demo seed).
    """
    _check_site(study, site)
    if role not in Role.values:
        raise ValidationError({"role": ValidationError(_("Not a study role."), code="bad_role")})
    with transaction.atomic():
        membership, created = Membership.objects.select_for_update(of=("self",)).get_or_create(
            user=user, study=study, site=site, role=role, defaults={"is_active": True}
        )
        if created:
            _record_change(
                membership,
                kind=MembershipChange.Kind.GRANTED,
                before={},
                actor=actor,
                reason=reason,
            )
        elif not membership.is_active:
            before = _state(membership)
            membership.is_active = True
            membership.save(update_fields=["is_active"])
            _record_change(
                membership,
                kind=MembershipChange.Kind.REACTIVATED,
                before=before,
                actor=actor,
                reason=reason,
            )
    return membership


def change_membership(
    membership: Membership, *, actor, role: str, site: Site | None, reason: str
) -> Membership:
    """Move a membership to another role or site (a reason is required); audited."""
    _need_reason(reason)
    _check_site(membership.study, site)
    with transaction.atomic():
        current = _lock(membership)
        before = _state(current)
        current.role, current.site = role, site
        if _state(current) == before:
            return current
        current.full_clean(exclude=["user", "study"], validate_unique=False)
        _check_unique(current)
        current.save(update_fields=["role", "site"])
        _record_change(
            current, kind=MembershipChange.Kind.CHANGED, before=before, actor=actor, reason=reason
        )
    return current


def deactivate_membership(membership: Membership, *, actor, reason: str) -> Membership:
    """End a membership (its rows and history stay); a reason is required; audited."""
    _need_reason(reason)
    with transaction.atomic():
        current = _lock(membership)
        if not current.is_active:
            return current
        before = _state(current)
        current.is_active = False
        current.save(update_fields=["is_active"])
        _record_change(
            current,
            kind=MembershipChange.Kind.DEACTIVATED,
            before=before,
            actor=actor,
            reason=reason,
        )
    return current
