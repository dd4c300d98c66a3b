"""Read-only admin, scoped by role: every change goes through the services and their audit."""

from django.contrib import admin

from enrollment.models import (
    SCREENING_CRFS,
    Consent,
    EligibilityAssessment,
    PriorRegimen,
    SteroidCourse,
    Subject,
)
from trialsite.records.admin import ClinicalAdmin


@admin.register(Subject)
class SubjectAdmin(ClinicalAdmin):
    site_lookup = "site"
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
class ConsentAdmin(ClinicalAdmin):
    site_lookup = "subject__site"
    list_display = ("subject", "icf_version", "signed_at", "withdrawn_at")
    list_select_related = ("subject",)


@admin.register(EligibilityAssessment)
class EligibilityAdmin(ClinicalAdmin):
    site_lookup = "subject__site"
    list_display = ("subject", "eligible", "status", "data_version")
    list_select_related = ("subject",)


for model in (*SCREENING_CRFS, SteroidCourse, PriorRegimen):
    admin.site.register(
        model,
        type(
            f"{model.__name__}Admin",
            (ClinicalAdmin,),
            {
                "site_lookup": "subject__site",
                "list_display": ("subject", "status", "version", "updated_at"),
                "list_select_related": ("subject",),
            },
        ),
    )
