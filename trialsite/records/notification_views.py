"""Opening and dismissing one's own notices (the home page's "Needs your attention")."""

from __future__ import annotations

from django.shortcuts import get_object_or_404, redirect
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.http import require_GET, require_POST

from trialsite.records import notifications
from trialsite.records.models import Notification


def _own(request, pk: int) -> Notification:
    # Someone else's notice is not revealed: 404, as for a record of a study one has no role on.
    return get_object_or_404(Notification, pk=pk, recipient=request.user)


def _safe(request, url: str) -> str:
    if url and url_has_allowed_host_and_scheme(url, allowed_hosts={request.get_host()}):
        return url
    return "/"


@require_GET
def open_notification(request, pk: int):
    """Mark the notice read and go to what it points at."""
    note = notifications.mark_read(_own(request, pk))
    return redirect(_safe(request, note.url))


@require_POST
def dismiss_notification(request, pk: int):
    """Take the notice off the list without opening it."""
    notifications.dismiss(_own(request, pk))
    return redirect("home")
