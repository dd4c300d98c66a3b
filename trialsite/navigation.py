"""The navigation menu by role: each entry shows only to users whose role allows its action.

Clinical apps add their pages with ``register`` in ``AppConfig.ready()``.
"""

from __future__ import annotations

from dataclasses import dataclass

from django.urls import reverse

from trialsite.studies import permissions
from trialsite.studies.roles import Action


@dataclass(frozen=True)
class NavItem:
    label: str
    url_name: str
    action: str
    order: int = 100


_ITEMS: list[NavItem] = [
    NavItem("Home", "home", Action.VIEW_DEIDENTIFIED, order=0),
    NavItem("Data queries", "records:queries", Action.VIEW_CLINICAL, order=800),
    NavItem("Study settings", "study-settings", Action.VIEW_SETTINGS, order=900),
    NavItem("Study members", "study-members", Action.MANAGE_STUDY, order=910),
    NavItem("Audit trail", "audit-trail", Action.VIEW_AUDIT, order=950),
]


def register(item: NavItem) -> None:
    if item not in _ITEMS:
        _ITEMS.append(item)


def navigation_for(user, study) -> list[dict]:
    items = sorted(_ITEMS, key=lambda i: i.order)
    return [
        {"label": i.label, "url": reverse(i.url_name)}
        for i in items
        if permissions.can(user, i.action, study=study)
    ]
