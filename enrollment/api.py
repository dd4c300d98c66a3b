"""Enrollment API: subjects, their eligibility, and screening CRF entry (thin over services).

Sponsors (de-identified access only) get subjects without initials or birth data. Writes take
the record ``version`` they were based on and answer 409 when it is stale, 400 with field-level
messages for bad values (the same messages as the forms).
"""

from __future__ import annotations

import datetime as dt

from django.http import Http404
from django.shortcuts import get_object_or_404
from django.utils import timezone
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import serializers, status
from rest_framework.exceptions import PermissionDenied, ValidationError
from rest_framework.generics import GenericAPIView
from rest_framework.response import Response

from enrollment import deidentify, rules, selectors, services
from enrollment.forms import SCREENING_FORMS
from enrollment.models import EligibilityAssessment, Subject, SubjectStatus
from trialsite.records.selectors import signature_state
from trialsite.studies import permissions
from trialsite.studies.roles import Action


class SubjectOutput(serializers.Serializer):
    id = serializers.IntegerField()
    screening_number = serializers.CharField()
    subject_number = serializers.CharField(allow_null=True)
    site = serializers.CharField(source="site.code")
    sex = serializers.CharField()
    enrollment_status = serializers.CharField()
    version = serializers.IntegerField()


class IdentifiedSubjectOutput(SubjectOutput):
    initials = serializers.CharField()
    birth_date = serializers.DateField(allow_null=True)
    birth_year = serializers.IntegerField(allow_null=True)
    screening_date = serializers.DateField()
    day0 = serializers.DateField(allow_null=True)


class DeidentifiedSubjectOutput(SubjectOutput):
    """The sponsor's view: days relative to consent instead of dates, age at consent only."""

    age_at_consent = serializers.SerializerMethodField()
    screening_days_from_consent = serializers.SerializerMethodField()
    day0_days_from_consent = serializers.SerializerMethodField()

    def _consent_date(self, subject):
        signed = getattr(subject, "first_consent_at", None)
        return timezone.localtime(signed).date() if signed else None

    def get_age_at_consent(self, subject) -> int | None:
        consent = self._consent_date(subject)
        if consent is None:
            return None
        if subject.birth_date:
            return rules.age_in_years(subject.birth_date, consent)
        if subject.birth_year:
            ages = {
                rules.age_in_years(dt.date(subject.birth_year, month, day), consent)
                for month, day in ((1, 1), (12, 31))
            }
            return ages.pop() if len(ages) == 1 else None
        return None

    def get_screening_days_from_consent(self, subject) -> int | None:
        return deidentify.days_from(self._consent_date(subject), subject.screening_date)

    def get_day0_days_from_consent(self, subject) -> int | None:
        return deidentify.days_from(self._consent_date(subject), subject.day0)


def _can_read(user, study, site_id=None) -> str | None:
    """'identified', 'deidentified' or None for the user's access to the study (or site)."""
    level = permissions.access_level(user, study, site_id)
    if level in (permissions.WRITE, permissions.READ):
        return "identified"
    return level


class SubjectListApi(GenericAPIView):
    """Subjects of a study the caller may see, newest screening first."""

    serializer_class = IdentifiedSubjectOutput
    queryset = Subject.objects.none()

    @extend_schema(
        operation_id="subjects_list",
        responses=IdentifiedSubjectOutput(many=True),
        parameters=[
            OpenApiParameter(
                "enrollment_status",
                str,
                enum=SubjectStatus.values,
                description="Only subjects with this enrollment status.",
            )
        ],
    )
    def get(self, request, study_id: int):
        study = get_object_or_404(permissions.studies_for(request.user), pk=study_id)
        access = _can_read(request.user, study)
        if access is None:
            raise Http404
        status_filter = request.query_params.get("enrollment_status") or None
        if status_filter is not None and status_filter not in SubjectStatus.values:
            raise ValidationError(
                {"enrollment_status": [f"Not a status; one of {', '.join(SubjectStatus.values)}."]}
            )
        if access == "identified":
            subjects = selectors.screening_log(study, request.user, status=status_filter)
            output = IdentifiedSubjectOutput
        else:
            subjects = Subject.objects.filter(study=study).select_related("site")
            if status_filter:
                subjects = subjects.filter(enrollment_status=status_filter)
            subjects = selectors.with_first_consent(subjects).order_by("-screening_sequence", "-id")
            output = DeidentifiedSubjectOutput
        page = self.paginate_queryset(subjects)
        return self.get_paginated_response(output(page, many=True).data)


def _subject_for(request, pk: int) -> tuple[Subject, str]:
    subject = get_object_or_404(Subject.objects.select_related("site", "study"), pk=pk)
    access = _can_read(request.user, subject.study, subject.site_id)
    if access is None:
        raise Http404
    return subject, access


class EligibilityOutput(serializers.Serializer):
    subject = serializers.CharField()
    eligible = serializers.BooleanField(allow_null=True)
    criteria = serializers.DictField(child=serializers.CharField())
    details = serializers.DictField()
    data_version = serializers.IntegerField()
    settings_version = serializers.IntegerField(help_text="The study settings version it used.")
    version = serializers.IntegerField()
    confirmed = serializers.BooleanField()
    confirmation = serializers.CharField()


class EligibilityApi(GenericAPIView):
    """The stored eligibility result: the same computation the checklist page shows."""

    queryset = EligibilityAssessment.objects.none()

    serializer_class = EligibilityOutput

    def get(self, request, pk: int):
        subject, access = _subject_for(request, pk)
        assessment = get_object_or_404(EligibilityAssessment, subject=subject)
        state = signature_state(assessment)
        details = assessment.details
        if access != "identified":
            consent = selectors.first_consent_date(subject)
            details = deidentify.eligibility_details(details, consent)
        data = {
            "subject": str(subject),
            "eligible": assessment.eligible,
            "criteria": assessment.criteria,
            "details": details,
            "data_version": assessment.data_version,
            "settings_version": assessment.settings_version,
            "version": assessment.version,
            "confirmed": state.valid,
            "confirmation": state.message,
        }
        return Response(EligibilityOutput(data).data)


def crf_input_serializer(model) -> type[serializers.ModelSerializer]:
    """Parses and type-checks a CRF's fields; the service does every clinical check."""
    names = [f.name for f in model.content_fields() if f.name not in ("subject", "visit")]
    meta = type(
        "Meta",
        (),
        {
            "model": model,
            "fields": [*names, "version", "reason"],
            "extra_kwargs": {name: {"required": False, "validators": []} for name in names},
        },
    )
    attrs = {
        "Meta": meta,
        "version": serializers.IntegerField(required=False, allow_null=True),
        "reason": serializers.CharField(required=False, allow_blank=True, default=""),
    }
    return type(f"{model.__name__}Input", (serializers.ModelSerializer,), attrs)


class ScreeningCrfApi(GenericAPIView):
    """GET one screening CRF; PUT creates it (no version) or changes it (the version you read).

    A PUT on an existing record without ``version`` is refused with 428 Precondition Required;
    with a stale version, 409. Two first saves at once: one creates (201), the other gets 409.
    """

    queryset = Subject.objects.none()  # for OPTIONS and the schema; rows come from services

    def _resolve(self, request, pk: int, crf: str):
        try:
            model, _form = SCREENING_FORMS[crf]
        except KeyError:
            raise Http404 from None
        subject, access = _subject_for(request, pk)
        if access != "identified":
            raise PermissionDenied
        return subject, model

    @extend_schema(operation_id="screening_crf_retrieve", responses=OpenApiTypes.OBJECT)
    def get(self, request, pk: int, crf: str):
        subject, model = self._resolve(request, pk, crf)
        record = get_object_or_404(model, subject=subject)
        data = {**record.content_values(), "version": record.version, "status": record.status}
        data.pop("subject", None)
        return Response(data)

    @extend_schema(
        operation_id="screening_crf_save",
        request=OpenApiTypes.OBJECT,
        responses=OpenApiTypes.OBJECT,
    )
    def put(self, request, pk: int, crf: str):
        subject, model = self._resolve(request, pk, crf)
        action = Action.SIGN if crf == "attestation" else Action.ENTER_DATA
        if not permissions.can(request.user, action, study=subject.study, site=subject.site_id):
            raise PermissionDenied
        parser = crf_input_serializer(model)(data=request.data, partial=True)
        parser.is_valid(raise_exception=True)
        values = dict(parser.validated_data)
        version = values.pop("version", None)
        reason = values.pop("reason", "")
        # The service reads the existing record under the subject's lock (no read here).
        record = services.save_screening_crf(
            subject,
            model,
            actor=request.user,
            values=values,
            expected_version=version,
            reason=reason,
        )
        body = {**record.content_values(), "version": record.version, "status": record.status}
        body.pop("subject", None)
        body.pop("visit", None)
        return Response(body, status=status.HTTP_201_CREATED if version is None else 200)
