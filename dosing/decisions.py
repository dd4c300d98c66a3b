"""The safety-review decision: accept or override the engine's recommendation, e-signed.

``record_decision`` is the only writer of ``EscalationDecision`` (DESIGN.md §3). The decision
cites the stored ``EscalationState`` the investigator read (its data version and the
recommendation, copied onto the decision) and is refused when that state is no longer the
current one, so nobody signs a recommendation the data has moved past. It is created through
``trialsite.records.services.create_record`` (audit, edit checks: an override needs its
rationale) and signed through ``sign_record`` (password re-entered, 21 CFR 11.200) in one
transaction: a wrong password leaves nothing saved.
"""

from __future__ import annotations

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.utils.translation import gettext_lazy as _

from dosing import escalation
from dosing.models import DecisionAction, DoseLevel, EscalationDecision
from dosing.services import dose_levels
from trialsite.records import services as records
from trialsite.records.exceptions import BAD_PASSWORD, field_error
from trialsite.records.models import RecordStatus
from trialsite.studies import permissions
from trialsite.studies.roles import Action

DECISION_MEANING = _(
    "I record the safety review committee's escalation decision on the data shown and sign it."
)
NOT_INVESTIGATOR = _("Only an investigator records and signs the safety-review decision.")
STALE_STATE = _(
    "The recommendation has changed since you opened the page (data version %(read)s, now "
    "%(now)s): review the new recommendation before you decide."
)
NO_STATE = _("The escalation state has not been computed yet: wait for it and reload the page.")
NO_SUCH_LEVEL = _("DL%(level)s is not a configured dose level of this study.")


def record_decision(
    study,
    *,
    actor,
    password: str,
    accepted: bool,
    state_data_version: int | None,
    action: str | None = None,
    dose_level: int | None = None,
    open_slots: int | None = None,
    rationale: str = "",
) -> EscalationDecision:
    """Record and sign the decision on the current escalation state.

    ``accepted``: the recommendation as it stands (action, level, slots, phase from the state);
    otherwise an override with ``action``, ``dose_level`` (the level number), ``open_slots``
    and a ``rationale``. Refusals are field errors with codes: ``password`` / ``bad_password``,
    ``state_data_version`` / ``stale_state`` or ``no_state``, ``dose_level`` / ``no_such_level``,
    and the model's hard checks (``ESC-OVERRIDE-RATIONALE``, ``ESC-ENROLL-LEVEL``,
    ``ESC-ENROLL-SLOTS``).
    """
    if not permissions.can(actor, Action.CONFIRM_ESCALATION, study=study):
        raise PermissionDenied(str(NOT_INVESTIGATOR))
    if not password or not actor.check_password(password):
        raise field_error("password", BAD_PASSWORD, "bad_password")
    with transaction.atomic():
        state = escalation.current_state(study)
        if state is None:
            raise field_error("state_data_version", NO_STATE, "no_state")
        if state_data_version is not None and state_data_version != state.data_version:
            raise field_error(
                "state_data_version",
                STALE_STATE % {"read": state_data_version, "now": state.data_version},
                "stale_state",
            )
        if accepted:
            action, dose_level, open_slots = state.action, state.dose_level, state.open_slots
            phase = state.phase
        else:
            phase = state.phase if dose_level == state.dose_level else "3+3"
        level = None
        if dose_level is not None and action == DecisionAction.ENROLL:
            dose_levels(study)
            level = DoseLevel.objects.filter(study=study, level=dose_level, is_active=True).first()
            if level is None:
                raise field_error(
                    "dose_level", NO_SUCH_LEVEL % {"level": dose_level}, "no_such_level"
                )
        if action not in DecisionAction.values:
            raise ValidationError({"action": ValidationError(_("Choose a decision."), "required")})
        decision = records.create_record(
            EscalationDecision,
            actor=actor,
            study=study,
            status=RecordStatus.SUBMITTED,
            values={
                "recommended_action": state.action,
                "recommended_level": state.dose_level,
                "recommended_slots": state.open_slots,
                "recommendation": state.sentence,
                "state_data_version": state.data_version,
                "accepted": bool(accepted),
                "action": action,
                "dose_level": level,
                "open_slots": (open_slots or 0) if action == DecisionAction.ENROLL else 0,
                "phase": phase if action == DecisionAction.ENROLL else "",
                "rationale": (rationale or "").strip(),
            },
        )
        records.sign_record(
            decision,
            actor=actor,
            password=password,
            meaning=str(DECISION_MEANING),
            expected_version=decision.version,
        )
        decision.refresh_from_db()
    return decision
