"""SAE API: reports with their clocks (read; site-scoped, de-identified for sponsors) and a
recorded submission of one clock (write, through ``safety.services.sae.record_submission``).

A sponsor reads every site's reports with no date or initials: the onset and the awareness as
days relative to informed consent (enrollment/deidentify.py) and each clock as its status and
the hours left, which is what a sponsor's safety desk needs to chase a report.
"""

from __future__ import annotations

from django.http import Http404
from django.shortcuts import get_object_or_404
from django.urls import path
from django.utils import timezone
from drf_spectacular.utils import extend_schema
from rest_framework import serializers
from rest_framework.exceptions import PermissionDenied
from rest_framework.generics import GenericAPIView
from rest_framework.response import Response

from enrollment import deidentify
from enrollment.schedule import study_day
from safety import sae_selectors
from safety.models import SAEClock, SAEReport
from safety.services import sae as sae_services
from trialsite import clock
from trialsite.studies import permissions
from trialsite.studies.roles import Action


def _access(user, study, site_id=None) -> str | None:
    level = permissions.access_level(user, study, site_id)
    if level in (permissions.WRITE, permissions.READ):
        return "identified"
    return level


class ClockOutput(serializers.Serializer):
    id = serializers.IntegerField()
    kind = serializers.CharField()
    required = serializers.BooleanField()
    status = serializers.CharField()
    hours_left = serializers.FloatField(help_text="Negative once overdue; null once submitted.")
    reference = serializers.CharField()
    submitted = serializers.BooleanField()
    version = serializers.IntegerField()


class IdentifiedClockOutput(ClockOutput):
    starts_at = serializers.DateTimeField()
    due_at = serializers.DateTimeField()
    submitted_at = serializers.DateTimeField(allow_null=True)


class ReportOutput(serializers.Serializer):
    id = serializers.IntegerField()
    subject = serializers.CharField()
    site = serializers.CharField()
    term = serializers.CharField()
    grade = serializers.IntegerField()
    seriousness_criteria = serializers.ListField(child=serializers.CharField())
    still_serious = serializers.BooleanField()
    susar = serializers.CharField()
    onset_study_day = serializers.IntegerField(allow_null=True)
    version = serializers.IntegerField()


class IdentifiedReportOutput(ReportOutput):
    aware_at = serializers.DateTimeField()
    onset_date = serializers.DateField()
    clocks = IdentifiedClockOutput(many=True)


class DeidentifiedReportOutput(ReportOutput):
    aware_days_from_consent = serializers.IntegerField(allow_null=True)
    onset_days_from_consent = serializers.IntegerField(allow_null=True)
    clocks = ClockOutput(many=True)


def _clock_data(state, now) -> dict:
    c = state.clock
    return {
        "id": c.pk,
        "kind": c.kind,
        "required": c.required,
        "status": state.status,
        "hours_left": None if c.submitted_at else round((c.due_at - now).total_seconds() / 3600, 2),
        "reference": c.reference,
        "submitted": c.submitted_at is not None,
        "version": c.version,
        "starts_at": c.starts_at,
        "due_at": c.due_at,
        "submitted_at": c.submitted_at,
    }


def _report_data(report: SAEReport, access: str, *, now, due_soon_hours) -> dict:
    event = report.event
    states = sae_selectors.clock_states(report, now=now, due_soon_hours=due_soon_hours)
    data = {
        "id": report.pk,
        "subject": str(report.subject),
        "site": report.subject.site.code,
        "term": event.display_term,
        "grade": event.grade,
        "seriousness_criteria": list(event.seriousness_criteria),
        "still_serious": report.still_serious,
        "susar": report.susar,
        "onset_study_day": study_day(event.onset_date, report.subject.day0),
        "version": report.version,
        "clocks": [_clock_data(s, now) for s in states],
    }
    if access == "identified":
        return IdentifiedReportOutput(
            {**data, "aware_at": report.aware_at, "onset_date": event.onset_date}
        ).data
    consent = report.first_consent_at
    anchor = timezone.localtime(consent).date() if consent else None
    return DeidentifiedReportOutput(
        {
            **data,
            "aware_days_from_consent": deidentify.days_from(
                anchor, timezone.localtime(report.aware_at).date()
            ),
            "onset_days_from_consent": deidentify.days_from(anchor, event.onset_date),
        }
    ).data


class SAEReportListApi(GenericAPIView):
    """The study's SAE reports the caller may read, newest awareness first."""

    queryset = SAEReport.objects.none()
    serializer_class = IdentifiedReportOutput

    @extend_schema(operation_id="sae_reports_list", responses=IdentifiedReportOutput(many=True))
    def get(self, request, study_id: int):
        study = get_object_or_404(permissions.studies_for(request.user), pk=study_id)
        access = _access(request.user, study)
        if access is None:
            raise Http404
        action = Action.VIEW_CLINICAL if access == "identified" else Action.VIEW_DEIDENTIFIED
        reports = sae_selectors.sae_reports(study, request.user, action=action)
        page = self.paginate_queryset(reports)
        now = clock.now()
        due_soon = sae_services.reporting_settings(study).due_soon_hours
        return self.get_paginated_response(
            [_report_data(r, access, now=now, due_soon_hours=due_soon) for r in page]
        )


class SAEReportApi(GenericAPIView):
    """One SAE report with its clocks."""

    queryset = SAEReport.objects.none()
    serializer_class = IdentifiedReportOutput

    def get(self, request, pk: int):
        try:
            report = sae_selectors.sae_report(pk)
        except SAEReport.DoesNotExist:
            raise Http404 from None
        access = _access(request.user, report.study, report.subject.site_id)
        if access is None:
            raise Http404
        due_soon = sae_services.reporting_settings(report.study).due_soon_hours
        return Response(_report_data(report, access, now=clock.now(), due_soon_hours=due_soon))


class SubmissionInput(serializers.Serializer):
    submitted_at = serializers.DateTimeField()
    reference = serializers.CharField(max_length=80)
    version = serializers.IntegerField(required=False, allow_null=True)
    reason = serializers.CharField(required=False, allow_blank=True, default="")


class SAEClockSubmissionApi(GenericAPIView):
    """GET one clock (with the version to send back); PUT records (or corrects, with a reason)
    the submission of its report: the version you read is required (428 without, 409 stale)."""

    queryset = SAEClock.objects.none()
    serializer_class = SubmissionInput

    def _clock(self, request, pk: int) -> tuple[SAEClock, str]:
        sae_clock = get_object_or_404(
            SAEClock.objects.select_related("report__subject", "study"), pk=pk
        )
        access = _access(request.user, sae_clock.study, sae_clock.report.subject.site_id)
        if access is None:
            raise Http404
        return sae_clock, access

    @extend_schema(operation_id="sae_clock_retrieve", responses=IdentifiedClockOutput)
    def get(self, request, pk: int):
        sae_clock, access = self._clock(request, pk)
        now = clock.now()
        due_soon = sae_services.reporting_settings(sae_clock.study).due_soon_hours
        data = _clock_data(
            sae_selectors.clock_state(sae_clock, now=now, due_soon_hours=due_soon), now
        )
        output = IdentifiedClockOutput if access == "identified" else ClockOutput
        return Response(output(data).data)

    @extend_schema(
        operation_id="sae_clock_submission",
        request=SubmissionInput,
        responses=IdentifiedClockOutput,
    )
    def put(self, request, pk: int):
        sae_clock, _access_level = self._clock(request, pk)
        site_id = sae_clock.report.subject.site_id
        if not permissions.can(
            request.user, Action.ENTER_DATA, study=sae_clock.study, site=site_id
        ):
            raise PermissionDenied
        parser = SubmissionInput(data=request.data)
        parser.is_valid(raise_exception=True)
        values = parser.validated_data
        saved = sae_services.record_submission(
            sae_clock,
            actor=request.user,
            submitted_at=values["submitted_at"],
            reference=values["reference"],
            expected_version=values.get("version"),
            reason=values.get("reason", ""),
        )
        now = clock.now()
        return Response(
            IdentifiedClockOutput(_clock_data(sae_selectors.clock_state(saved, now=now), now)).data
        )


urlpatterns = [
    path(
        "v1/studies/<int:study_id>/sae-reports/",
        SAEReportListApi.as_view(),
        name="sae-report-list",
    ),
    path("v1/sae-reports/<int:pk>/", SAEReportApi.as_view(), name="sae-report-detail"),
    path(
        "v1/sae-clocks/<int:pk>/submission/",
        SAEClockSubmissionApi.as_view(),
        name="sae-clock-submission",
    ),
]
