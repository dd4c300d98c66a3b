"""The six study roles and what each may do (one table, read by `permissions`)."""

from __future__ import annotations

from django.db import models
from django.utils.translation import gettext_lazy as _


class Role(models.TextChoices):
    COORDINATOR = "coordinator", _("Site coordinator")
    INVESTIGATOR = "investigator", _("Investigator")
    MONITOR = "monitor", _("Monitor")
    DATA_MANAGER = "data_manager", _("Data manager")
    SPONSOR = "sponsor", _("Sponsor")
    ADMIN = "admin", _("Study administrator")


class Action(models.TextChoices):
    """Things a user may do on a study or site; views and the API ask only about these."""

    VIEW_CLINICAL = "view_clinical", _("View identified clinical data")
    ENTER_DATA = "enter_data", _("Enter and correct CRF data")
    SIGN = "sign", _("Sign records and confirm eligibility")
    ADJUDICATE_DLT = "adjudicate_dlt", _("Adjudicate dose-limiting toxicities")
    CONFIRM_ESCALATION = "confirm_escalation", _("Confirm escalation decisions")
    RAISE_QUERY = "raise_query", _("Raise and close data queries")
    VERIFY_SOURCE = "verify_source", _("Verify source data")
    LOCK_DATA = "lock_data", _("Lock and unlock data")
    VIEW_AUDIT = "view_audit", _("Read the audit trail")
    VIEW_DEIDENTIFIED = "view_deidentified", _("Read de-identified data and exports")
    MANAGE_STUDY = "manage_study", _("Manage study settings, sites and members")
    VIEW_SETTINGS = "view_settings", _("Read the study settings and their history")


ROLE_ACTIONS: dict[str, frozenset[str]] = {
    # The audit trail is read with the site's records: a site's staff read their site's history
    # (a membership scopes VIEW_AUDIT to its site, like every action).
    Role.COORDINATOR: frozenset(
        {Action.VIEW_CLINICAL, Action.ENTER_DATA, Action.VIEW_AUDIT, Action.VIEW_DEIDENTIFIED}
    ),
    Role.INVESTIGATOR: frozenset(
        {
            Action.VIEW_CLINICAL,
            Action.ENTER_DATA,
            Action.SIGN,
            Action.ADJUDICATE_DLT,
            Action.CONFIRM_ESCALATION,
            Action.VIEW_AUDIT,
            Action.VIEW_DEIDENTIFIED,
        }
    ),
    Role.MONITOR: frozenset(
        {
            Action.VIEW_CLINICAL,
            Action.RAISE_QUERY,
            Action.VERIFY_SOURCE,
            Action.VIEW_AUDIT,
            Action.VIEW_DEIDENTIFIED,
        }
    ),
    Role.DATA_MANAGER: frozenset(
        {
            Action.VIEW_CLINICAL,
            Action.RAISE_QUERY,
            Action.LOCK_DATA,
            Action.VIEW_AUDIT,
            Action.VIEW_DEIDENTIFIED,
            Action.VIEW_SETTINGS,
        }
    ),
    Role.SPONSOR: frozenset({Action.VIEW_DEIDENTIFIED}),
    # Configuration, not clinical data: the administrator reads no subject record and no clinical
    # audit trail (which carries initials and birth dates); the settings keep their own history.
    Role.ADMIN: frozenset({Action.MANAGE_STUDY, Action.VIEW_SETTINGS, Action.VIEW_DEIDENTIFIED}),
}


def actions_for_roles(roles: set[str] | frozenset[str]) -> frozenset[str]:
    """The union of what the given roles allow."""
    allowed: set[str] = set()
    for role in roles:
        allowed |= ROLE_ACTIONS.get(role, frozenset())
    return frozenset(allowed)
