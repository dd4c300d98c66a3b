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


def studies_for_user(user) -> QuerySet[Study]:
    """The user's studies with their site counts, for the switcher and the API."""
    return (
        studies_for(user)
        .annotate(site_count=Count("sites", filter=Q(sites__is_active=True), distinct=True))
        .order_by("protocol_number")
    )
