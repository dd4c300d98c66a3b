"""Read-only admin for data managers: every change goes through the services and their audit."""

from django.contrib import admin

from enrollment.models import SCREENING_CRFS, Consent, EligibilityAssessment, SteroidCourse, Subject
from trialsite.records.admin import ReadOnlyAdmin


@admin.register(Subject)
class SubjectAdmin(ReadOnlyAdmin):
    list_display = (
        "screening_number",
        "subject_number",
        "site",
        "enrollment_status",
        "screening_date",
    )
    list_filter = ("site", "enrollment_status")
    search_fields = ("screening_number", "subject_number")
    list_select_related = ("site",)


@admin.register(Consent)
class ConsentAdmin(ReadOnlyAdmin):
    list_display = ("subject", "icf_version", "signed_at", "withdrawn_at")
    list_select_related = ("subject",)


@admin.register(EligibilityAssessment)
class EligibilityAdmin(ReadOnlyAdmin):
    list_display = ("subject", "eligible", "status", "data_version")
    list_select_related = ("subject",)


for model in (*SCREENING_CRFS, SteroidCourse):
    admin.site.register(
        model,
        type(
            f"{model.__name__}Admin",
            (ReadOnlyAdmin,),
            {
                "list_display": ("subject", "status", "version", "updated_at"),
                "list_select_related": ("subject",),
            },
        ),
    )
