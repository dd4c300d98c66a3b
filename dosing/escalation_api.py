"""Escalation API: the stored state and the signed decisions, and the decision POST.

``GET /api/v1/studies/<id>/escalation/`` is the dashboard's data (the same selector, so the
same fixed query count and the same subject labels: IDs only for readers of the subject's
site). ``POST`` records and signs a decision through ``dosing.decisions.record_decision``
(investigators only; body as the dashboard form: ``accepted``, ``state_data_version``,
``password``, and for an override ``action``, ``dose_level``, ``open_slots``, ``rationale``);
refusals are 400 with field errors and codes.
"""

from __future__ import annotations

from django.core.exceptions import ValidationError
from django.shortcuts import get_object_or_404
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema
from rest_framework import serializers, status
from rest_framework.exceptions import PermissionDenied
from rest_framework.generics import GenericAPIView
from rest_framework.response import Response

from dosing import decisions, escalation_selectors, what_if
from dosing.models import DecisionAction, EscalationDecision
from trialsite.studies import permissions
from trialsite.studies.roles import Action

STATE_FIELDS = (
    "data_version",
    "computed_at",
    "action",
    "dose_level",
    "mtd",
    "phase",
    "open_slots",
    "code",
    "reason",
    "sentence",
    "current_level",
    "levels",
    "trace",
    "deviations",
)


class DecisionInput(serializers.Serializer):
    accepted = serializers.BooleanField()
    state_data_version = serializers.IntegerField(required=False, allow_null=True)
    password = serializers.CharField(trim_whitespace=False)
    action = serializers.ChoiceField(DecisionAction.choices, required=False, allow_null=True)
    dose_level = serializers.IntegerField(required=False, allow_null=True, min_value=0)
    open_slots = serializers.IntegerField(required=False, allow_null=True, min_value=1, max_value=6)
    rationale = serializers.CharField(required=False, allow_blank=True, default="")


def _decision(decision: EscalationDecision, signature) -> dict:
    return {
        "id": decision.pk,
        "accepted": decision.accepted,
        "action": decision.action,
        "dose_level": decision.dose_level.level if decision.dose_level else None,
        "open_slots": decision.open_slots,
        "phase": decision.phase,
        "rationale": decision.rationale,
        "recommendation": decision.recommendation,
        "state_data_version": decision.state_data_version,
        "signed_at": signature.signed_at.isoformat() if signature else None,
        "meaning": signature.meaning if signature else None,
    }


class EscalationApi(GenericAPIView):
    queryset = EscalationDecision.objects.none()  # for the schema
    serializer_class = DecisionInput  # what OPTIONS describes: the decision a POST records

    def _study(self, request, study_id: int):
        study = get_object_or_404(permissions.studies_for(request.user), pk=study_id)
        permissions.require(request.user, Action.VIEW_DEIDENTIFIED, study=study)
        return study

    @extend_schema(operation_id="escalation_retrieve", responses=OpenApiTypes.OBJECT)
    def get(self, request, study_id: int):
        study = self._study(request, study_id)
        board = escalation_selectors.dashboard(study, request.user)
        state = board.state
        subjects = [
            {k: row[k] for k in ("number", "label", "dose_level", "phase", "status", "days_left")}
            for row in board.subjects
        ]
        return Response(
            {
                "data_version": board.data_version,
                "stale": board.stale,
                "state": {f: getattr(state, f) for f in STATE_FIELDS} if state else None,
                "subjects": subjects,
                "free_slots": board.free_slots,
                "decisions": [_decision(d, s) for d, s in board.decisions],
            }
        )

    @extend_schema(
        operation_id="escalation_decide", request=DecisionInput, responses=OpenApiTypes.OBJECT
    )
    def post(self, request, study_id: int):
        study = self._study(request, study_id)
        if not permissions.can(request.user, Action.CONFIRM_ESCALATION, study=study):
            raise PermissionDenied
        parser = DecisionInput(data=request.data)
        parser.is_valid(raise_exception=True)
        data = dict(parser.validated_data)
        if data["accepted"]:
            for name in ("action", "dose_level", "open_slots"):
                data.pop(name, None)
        decision = decisions.record_decision(study, actor=request.user, **data)
        body = _decision(decision, None) | {"status": decision.status}
        return Response(body, status=status.HTTP_201_CREATED)


class WhatIfInput(serializers.Serializer):
    outcomes = serializers.DictField(
        child=serializers.CharField(),
        required=False,
        default=dict,
        help_text='{"<subject label or ID>": "dlt" | "no_dlt" | "not_evaluable"}',
    )


def _pending(subject) -> dict:
    return {
        "number": subject.number,
        "label": subject.label,
        "dose_level": subject.dose_level,
        "infused_on": subject.infused_on,
        "days_left": subject.days_left,
    }


class EscalationWhatIfApi(GenericAPIView):
    """POST hypothetical outcomes of pending subjects → the engine's recommendation under them.

    Every reader of the dashboard may ask (nothing is written: ``dosing.what_if``); subjects
    are named as the dashboard names them for the caller (sponsors: "Subject n"). A subject
    that is unknown or not pending, or an outcome other than dlt / no_dlt / not_evaluable, is a
    400 with the field ``outcomes.<subject>`` and its code.
    """

    queryset = EscalationDecision.objects.none()  # for the schema
    serializer_class = WhatIfInput

    @extend_schema(
        operation_id="escalation_what_if", request=WhatIfInput, responses=OpenApiTypes.OBJECT
    )
    def post(self, request, study_id: int):
        study = get_object_or_404(permissions.studies_for(request.user), pk=study_id)
        permissions.require(request.user, Action.VIEW_DEIDENTIFIED, study=study)
        parser = WhatIfInput(data=request.data)
        parser.is_valid(raise_exception=True)
        panel = what_if.what_if(study, request.user, parser.validated_data["outcomes"])
        if panel.error:
            raise ValidationError({"outcomes": ValidationError(panel.error, code="no_design")})
        return Response(
            {
                "data_version": panel.data_version,
                "pending": [_pending(s) for s in panel.pending],
                **panel.answer.as_dict(),
                "combinations": [a.as_dict() for a in panel.combinations],
            }
        )
