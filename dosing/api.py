"""Dosing API: assignments and the four treatment CRFs (thin over selectors and services).

Reads: ``/api/v1/studies/<id>/dosing/<resource>/`` lists a study's records the caller may see
(site-scoped; sponsors get them de-identified: each date as days from informed consent, no
user names) in a fixed number of queries; ``/api/v1/subjects/<id>/dosing/<crf>/`` and
``/api/v1/subjects/<id>/assignment/`` read one subject's record (identified readers only).
Writes go through the same services as the pages: PUT a CRF without ``version`` to create it,
with the version you read to change it (none on an existing record: 428; stale: 409); POST an
assignment. Bad values: 400 with field errors and codes.
"""

from __future__ import annotations

from django.db import models
from django.http import Http404
from django.shortcuts import get_object_or_404
from django.utils import timezone
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema
from rest_framework import serializers, status
from rest_framework.exceptions import PermissionDenied
from rest_framework.generics import GenericAPIView
from rest_framework.response import Response

from dosing import assignments, selectors, services
from dosing.models import (
    Apheresis,
    CohortAssignment,
    DoseLevel,
    Infusion,
    Lymphodepletion,
    Phase,
    ProductRelease,
)
from enrollment import deidentify
from enrollment.api import _can_read, _subject_for, crf_input_serializer
from trialsite.records.exceptions import field_error
from trialsite.studies import permissions
from trialsite.studies.roles import Action

#: URL name of a resource -> its model (lists) ...
RESOURCES: dict[str, type] = {
    "assignments": CohortAssignment,
    "apheresis": Apheresis,
    "release": ProductRelease,
    "lymphodepletion": Lymphodepletion,
    "infusion": Infusion,
}
#: ... and the CRFs written with PUT, with their services.
CRF_SERVICES = {
    "apheresis": (Apheresis, services.save_apheresis),
    "release": (ProductRelease, services.save_product_release),
    "lymphodepletion": (Lymphodepletion, services.save_lymphodepletion),
    "infusion": (Infusion, services.record_infusion),
}
#: Who did it is not for sponsors (a name identifies the site's staff, not the subject, but
#: the sponsor API carries no user data at all).
_USER_FIELDS = {"assigned_by"}


def _derived(record) -> dict:
    if isinstance(record, Infusion):
        check = record.dose_check()
        return {
            "dose_cells_per_kg": check.dose_cells_per_kg if check else None,
            "dose_deviation_pct": round(check.deviation_pct, 2) if check else None,
        }
    if isinstance(record, Lymphodepletion):
        bsa = selectors.bsa_m2(record)
        return {"bsa_m2": round(bsa, 3) if bsa else None}
    if isinstance(record, CohortAssignment):
        return {
            "dose_level_label": record.dose_level.label,
            "dose_level_cells_per_kg": record.dose_level.dose_cells_per_kg,
        }
    return {}


def identified(record) -> dict:
    return {
        "id": record.pk,
        **record.content_values(),
        "subject": str(record.subject),
        "subject_id": record.subject_id,
        **_derived(record),
        "version": record.version,
        "status": record.status,
    }


def deidentified(record) -> dict:
    """Dates as days from the first informed consent (``enrollment.deidentify``)."""
    signed = getattr(record, "first_consent_at", None)
    anchor = timezone.localtime(signed).date() if signed else None
    body = {"id": record.pk, "subject": str(record.subject), "subject_id": record.subject_id}
    values = record.content_values()
    for field in type(record).content_fields():
        if field.name in _USER_FIELDS or field.name in ("subject", "visit"):
            continue
        value = getattr(record, field.attname)
        if isinstance(field, models.DateTimeField):
            day = timezone.localtime(value).date() if value else None
            body[f"{field.name}_days_from_consent"] = deidentify.days_from(anchor, day)
        elif isinstance(field, models.DateField):
            body[f"{field.name}_days_from_consent"] = deidentify.days_from(anchor, value)
        else:
            body[field.name] = values[field.name]
    return {**body, **_derived(record), "version": record.version, "status": record.status}


class DosingListApi(GenericAPIView):
    """A study's assignments or one treatment CRF, oldest subject first (site-scoped)."""

    queryset = CohortAssignment.objects.none()  # for the schema; rows come from the selector

    @extend_schema(operation_id="dosing_list", responses=OpenApiTypes.OBJECT)
    def get(self, request, study_id: int, crf: str):
        model = RESOURCES.get(crf)
        if model is None:
            raise Http404
        study = get_object_or_404(permissions.studies_for(request.user), pk=study_id)
        access = _can_read(request.user, study)
        if access is None:
            raise Http404
        rows = selectors.study_records(model, study, request.user)
        page = self.paginate_queryset(rows)
        shown = identified if access == "identified" else deidentified
        return self.get_paginated_response([shown(record) for record in page])


def _identified_subject(request, pk: int):
    subject, access = _subject_for(request, pk)
    if access != "identified":
        raise PermissionDenied
    return subject


class SubjectDosingCrfApi(GenericAPIView):
    """GET one treatment CRF of a subject; PUT creates it (no version) or changes it."""

    queryset = Infusion.objects.none()

    def _resolve(self, request, pk: int, crf: str):
        if crf not in CRF_SERVICES:
            raise Http404
        return _identified_subject(request, pk), *CRF_SERVICES[crf]

    @extend_schema(operation_id="dosing_crf_retrieve", responses=OpenApiTypes.OBJECT)
    def get(self, request, pk: int, crf: str):
        subject, model, _service = self._resolve(request, pk, crf)
        record = get_object_or_404(model.objects.select_related("study"), subject=subject)
        return Response(identified(record))

    @extend_schema(
        operation_id="dosing_crf_save", request=OpenApiTypes.OBJECT, responses=OpenApiTypes.OBJECT
    )
    def put(self, request, pk: int, crf: str):
        subject, model, service = self._resolve(request, pk, crf)
        if not permissions.can(
            request.user, Action.ENTER_DATA, study=subject.study, site=subject.site_id
        ):
            raise PermissionDenied
        parser = crf_input_serializer(model)(data=request.data, partial=True)
        parser.is_valid(raise_exception=True)
        values = dict(parser.validated_data)
        version = values.pop("version", None)
        reason = values.pop("reason", "")
        # A PUT names the subject's one record: once it exists, the version read is required
        # (428 without it, 409 when stale). The service reads it again under the subject lock.
        existing = model.objects.filter(subject=subject).first()
        record = service(
            subject,
            actor=request.user,
            values=values,
            record=existing,
            expected_version=version,
            reason=reason,
        )
        record.refresh_from_db()
        return Response(
            identified(record), status=status.HTTP_201_CREATED if version is None else 200
        )


class AssignmentInput(serializers.Serializer):
    dose_level = serializers.IntegerField(
        min_value=0, max_value=50, help_text="The level number (1 = DL1, 0 = DL-1)."
    )
    phase = serializers.ChoiceField(choices=Phase.choices)
    cohort_number = serializers.IntegerField(min_value=1, max_value=20)


class SubjectAssignmentApi(GenericAPIView):
    """GET the subject's active assignment; POST assigns the subject (coordinators)."""

    queryset = CohortAssignment.objects.none()
    serializer_class = AssignmentInput

    @extend_schema(operation_id="dosing_assignment_retrieve", responses=OpenApiTypes.OBJECT)
    def get(self, request, pk: int):
        subject = _identified_subject(request, pk)
        assignment = selectors.active_assignment(subject)
        if assignment is None:
            raise Http404
        return Response(identified(assignment))

    @extend_schema(operation_id="dosing_assignment_create", responses=OpenApiTypes.OBJECT)
    def post(self, request, pk: int):
        subject = _identified_subject(request, pk)
        if not permissions.can(
            request.user, Action.ENTER_DATA, study=subject.study, site=subject.site_id
        ):
            raise PermissionDenied
        parser = AssignmentInput(data=request.data)
        parser.is_valid(raise_exception=True)
        data = parser.validated_data
        services.dose_levels(subject.study)
        level = DoseLevel.objects.filter(
            study=subject.study, level=data["dose_level"], is_active=True
        ).first()
        if level is None:
            raise field_error(
                "dose_level",
                services.NO_SUCH_LEVEL % {"level": f"DL{data['dose_level']}"},
                "no_such_level",
            )
        assignment = services.assign_subject(
            subject,
            actor=request.user,
            dose_level=level,
            phase=data["phase"],
            cohort_number=data["cohort_number"],
        )
        return Response(identified(assignment), status=status.HTTP_201_CREATED)


class EndAssignmentInput(serializers.Serializer):
    reason = serializers.CharField(max_length=200, help_text="Why the assignment ends.")
    version = serializers.IntegerField(
        required=False, allow_null=True, help_text="The assignment's version you read."
    )


class SubjectAssignmentEndApi(GenericAPIView):
    """GET the subject's ended assignments (with their reasons); POST ends the active one.

    POST ``{"reason": ..., "version": <the version read>}`` (coordinators and investigators of
    the site): 200 with the ended assignment; 428 without ``version``, 409 when stale; 400 with
    field errors (no reason, already infused: ``already_infused``); 404 with no active
    assignment. The slot it held is free again (``dosing.assignments.end_assignment``).
    """

    queryset = CohortAssignment.objects.none()
    serializer_class = EndAssignmentInput

    @extend_schema(operation_id="dosing_assignment_ended_list", responses=OpenApiTypes.OBJECT)
    def get(self, request, pk: int):
        subject = _identified_subject(request, pk)
        return Response([identified(a) for a in assignments.ended_assignments(subject)])

    @extend_schema(
        operation_id="dosing_assignment_end",
        request=EndAssignmentInput,
        responses=OpenApiTypes.OBJECT,
    )
    def post(self, request, pk: int):
        subject = _identified_subject(request, pk)
        if not permissions.can(
            request.user, Action.ENTER_DATA, study=subject.study, site=subject.site_id
        ):
            raise PermissionDenied
        parser = EndAssignmentInput(data=request.data)
        parser.is_valid(raise_exception=True)
        current = selectors.active_assignment(subject)
        if current is None:
            raise Http404
        ended = assignments.end_assignment(
            current,
            actor=request.user,
            reason=parser.validated_data["reason"],
            expected_version=parser.validated_data.get("version"),
        )
        ended.refresh_from_db()
        return Response(identified(ended))
