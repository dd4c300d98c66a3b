"""Reads about studies for pages and the API, with fixed query counts."""

from __future__ import annotations

from django.db.models import Count, Prefetch, Q, QuerySet

from trialsite.studies.models import Membership, Site, Study
from trialsite.studies.permissions import studies_for


def study_overview(study: Study) -> Study:
    """The study with its sites and active members loaded (two extra queries, fixed)."""
    return (
        Study.objects.filter(pk=study.pk)
        .prefetch_related(
            Prefetch("sites", queryset=Site.objects.order_by("code")),
            Prefetch(
                "memberships",
                queryset=Membership.objects.filter(is_active=True)
                .select_related("user", "site")
                .order_by("role", "user__username"),
            ),
        )
        .get()
    )


def site_staff(site: Site, roles) -> QuerySet:
    """Active users holding one of ``roles`` at ``site`` (or study-wide), by name.

    The one query behind "who may obtain consent here", "which investigators to notify", and
    the staff pickers of the forms.
    """
    from django.contrib.auth import get_user_model

    member_ids = Membership.objects.filter(
        Q(site=site) | Q(site__isnull=True),
        study_id=site.study_id,
        is_active=True,
        role__in=list(roles),
    ).values("user_id")
    return (
        get_user_model()
        .objects.filter(pk__in=member_ids, is_active=True)
        .order_by("last_name", "first_name", "username")
    )


def studies_for_user(user) -> QuerySet[Study]:
    """The user's studies with their site counts, for the switcher and the API."""
    return (
        studies_for(user)
        .annotate(site_count=Count("sites", filter=Q(sites__is_active=True), distinct=True))
        .order_by("protocol_number")
    )
