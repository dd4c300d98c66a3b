"""What every page needs: version, environment, the current study and the user's navigation."""

from __future__ import annotations

from django.conf import settings

from trialsite.navigation import navigation_for
from trialsite.studies.permissions import studies_for


def platform(request) -> dict:
    study = getattr(request, "study", None)
    user = getattr(request, "user", None)
    authenticated = bool(user and user.is_authenticated)
    return {
        "trialsite_version": settings.TRIALSITE_VERSION,
        "trialsite_env": settings.DJANGO_ENV,
        "current_study": study if authenticated else None,
        "nav_items": navigation_for(user, study) if authenticated and study else [],
        # A lazy queryset: evaluated only when the switcher is drawn.
        "switchable_studies": studies_for(user).order_by("protocol_number")
        if authenticated
        else [],
    }
