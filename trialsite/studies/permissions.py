"""The one place that answers "may this user do X on this study, site or record".

Views and the API call only these functions. A user's rights come from active memberships;
a membership without a site covers every site of its study. A user with no membership sees
nothing clinical. Superusers are not special here: clinical access always needs a membership,
so every access to trial data is attributable to a role.
"""

from __future__ import annotations

from django.core.exceptions import PermissionDenied
from django.db.models import Q, QuerySet
from django.http import Http404

from trialsite.studies.models import Membership, Site, Study
from trialsite.studies.roles import actions_for_roles


def _memberships(user, study: Study | int) -> list[Membership]:
    if not getattr(user, "is_authenticated", False) or not user.is_active:
        return []
    study_id = study.pk if isinstance(study, Study) else study
    cache = user.__dict__.setdefault("_trialsite_memberships", {})
    if study_id not in cache:
        cache[study_id] = list(
            Membership.objects.filter(user=user, study_id=study_id, is_active=True).only(
                "role", "site_id", "study_id"
            )
        )
    return cache[study_id]


def roles(user, study: Study | int) -> frozenset[str]:
    """Every role the user holds on the study (at any site)."""
    return frozenset(m.role for m in _memberships(user, study))


def can(user, action: str, *, study: Study | int, site: Site | int | None = None) -> bool:
    """True when one of the user's memberships allows ``action`` on the study (and site)."""
    site_id = site.pk if isinstance(site, Site) else site
    for membership in _memberships(user, study):
        if action not in actions_for_roles({membership.role}):
            continue
        if site_id is None or membership.site_id is None or membership.site_id == site_id:
            return True
    return False


def require(user, action: str, *, study: Study | int, site: Site | int | None = None) -> None:
    """Raise 404 for users with no role on the study (it stays invisible), 403 otherwise."""
    if not _memberships(user, study):
        raise Http404("No such study.")
    if not can(user, action, study=study, site=site):
        raise PermissionDenied


def site_ids(user, action: str, *, study: Study | int) -> list[int] | None:
    """The sites where ``action`` is allowed: ``None`` means every site, ``[]`` none."""
    ids: set[int] = set()
    for membership in _memberships(user, study):
        if action in actions_for_roles({membership.role}):
            if membership.site_id is None:
                return None
            ids.add(membership.site_id)
    return sorted(ids)


def scope_by_site(
    queryset: QuerySet, user, action: str, *, study: Study | int, site_field: str = "site"
) -> QuerySet:
    """Narrow a queryset of one study's rows to the sites where the user may do ``action``."""
    allowed = site_ids(user, action, study=study)
    if allowed is None:
        return queryset
    if not allowed:
        return queryset.none()
    return queryset.filter(**{f"{site_field}__in": allowed})


def studies_for(user) -> QuerySet[Study]:
    """Studies where the user holds any active role."""
    if not getattr(user, "is_authenticated", False):
        return Study.objects.none()
    return Study.objects.filter(
        Q(memberships__user=user) & Q(memberships__is_active=True)
    ).distinct()


WRITE = "write"
READ = "read"
DEIDENTIFIED = "deidentified"


def access_level(
    user, study: Study | int, site: Site | int | None = None, *, write_action: str | None = None
) -> str | None:
    """How far the user may go with a site's clinical records: one answer for HTML and API.

    ``"write"`` (may enter data, or do ``write_action``), ``"read"`` (may read identified data,
    e.g. monitors and data managers), ``"deidentified"`` (sponsors) or None (no access: the
    caller answers 404 so the record's existence is not revealed).
    """
    from trialsite.studies.roles import Action, Role

    if can(user, write_action or Action.ENTER_DATA, study=study, site=site):
        return WRITE
    if can(user, Action.VIEW_CLINICAL, study=study, site=site):
        return READ
    # De-identified subject data is the sponsor's view; staff of another site and the study
    # administrator do not read other sites' subjects at all.
    if Role.SPONSOR in roles(user, study) and can(user, Action.VIEW_DEIDENTIFIED, study=study):
        return DEIDENTIFIED
    return None
