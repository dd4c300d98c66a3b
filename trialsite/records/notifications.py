"""Notices for users: leave one, open it, dismiss it, clear it when its target is resolved.

A notice points at a record (``target``) and names the condition that resolves it
(``resolved_when``, e.g. "eligibility confirmed"); the service that brings that condition about
calls :func:`resolve`, so "Needs your attention" lists only what still needs it. Notices that
matter are also emailed (Django's email backend: the console in development, SMTP configured by
environment variables, README "Configuration"), after the transaction commits so a rolled-back
write sends nothing. SAE clocks use the same path.
"""

from __future__ import annotations

import logging

from django.conf import settings
from django.contrib.contenttypes.models import ContentType
from django.core.mail import EmailMessage, get_connection
from django.db import transaction
from django.db.models import Q, QuerySet

from trialsite import clock
from trialsite.records.models import Notification

log = logging.getLogger(__name__)


def pending(user, study) -> QuerySet[Notification]:
    """The user's notices that still need attention in the study, newest first (one query)."""
    return Notification.objects.filter(
        study=study,
        recipient=user,
        read_at__isnull=True,
        dismissed_at__isnull=True,
        resolved_at__isnull=True,
    )


def _target(record) -> tuple[ContentType | None, str]:
    if record is None:
        return None, ""
    return ContentType.objects.get_for_model(type(record)), str(record.pk)


def notify(
    study,
    recipients,
    *,
    message: str,
    url: str = "",
    target=None,
    resolved_when: str = "",
    email: bool = False,
) -> list[Notification]:
    """Leave a notice for each recipient; with ``email``, also mail it after commit.

    A recipient who already has a pending notice for the same target and condition is not
    given a second one (a checklist that is reopened twice before the investigator looks at it
    needs one notice, not two).
    """
    target_type, target_id = _target(target)
    recipients = list(recipients)
    if target_type is not None and resolved_when:
        already = set(
            Notification.objects.filter(
                target_type=target_type,
                target_id=target_id,
                resolved_when=resolved_when,
                recipient__in=recipients,
                read_at__isnull=True,
                dismissed_at__isnull=True,
                resolved_at__isnull=True,
            ).values_list("recipient_id", flat=True)
        )
        recipients = [user for user in recipients if user.pk not in already]
    now = clock.now()
    notes = Notification.objects.bulk_create(
        Notification(
            study=study,
            recipient=user,
            message=message[:300],
            url=url,
            target_type=target_type,
            target_id=target_id,
            resolved_when=resolved_when,
            created_at=now,
        )
        for user in recipients
    )
    if email and notes:
        ids = [note.pk for note in notes]
        transaction.on_commit(lambda: send_emails(ids))
    return notes


def send_emails(notification_ids: list[int]) -> int:
    """Mail each notice to its recipient (those with an address); returns how many were sent.

    A mail server that is down must not undo the clinical write that raised the notice: the
    failure is logged and ``emailed_at`` stays empty.
    """
    notes = list(
        Notification.objects.filter(pk__in=notification_ids, emailed_at__isnull=True)
        .exclude(recipient__email="")
        .select_related("recipient", "study")
    )
    messages = [
        EmailMessage(
            subject=f"[{note.study.short_title}] {note.message}"[:200],
            body=_body(note),
            from_email=settings.DEFAULT_FROM_EMAIL,
            to=[note.recipient.email],
        )
        for note in notes
    ]
    if not messages:
        return 0
    try:
        sent = get_connection().send_messages(messages) or 0
    except OSError:
        log.exception("Could not email %d notification(s)", len(messages))
        return 0
    Notification.objects.filter(pk__in=[n.pk for n in notes]).update(emailed_at=clock.now())
    return sent


def _body(note: Notification) -> str:
    link = f"\n\n{settings.SITE_URL.rstrip('/')}{note.url}" if note.url else ""
    return f"{note.message}{link}\n"


def mark_read(note: Notification) -> Notification:
    """The recipient opened the notice."""
    if note.read_at is None:
        note.read_at = clock.now()
        note.save(update_fields=["read_at"])
    return note


def dismiss(note: Notification) -> Notification:
    """The recipient does not need the notice any more."""
    if note.dismissed_at is None:
        note.dismissed_at = clock.now()
        note.save(update_fields=["dismissed_at"])
    return note


def resolve(target, *conditions: str) -> int:
    """Clear every pending notice about ``target`` that one of ``conditions`` resolves."""
    target_type, target_id = _target(target)
    return Notification.objects.filter(
        Q(resolved_when__in=conditions),
        target_type=target_type,
        target_id=target_id,
        resolved_at__isnull=True,
    ).update(resolved_at=clock.now())
