"""Admin for the CTCAE terms (read-mostly: loaded from files, never typed) and the adverse
events (read-only, scoped like every clinical model: ``trialsite.records.admin.ClinicalAdmin``).
"""

from django.contrib import admin

from safety.models import AdverseEvent, AdverseEventGrade, CTCAELoad, CTCAETerm
from trialsite.records.admin import ClinicalAdmin, ReadOnlyAdmin


class StaffReadOnlyAdmin(ReadOnlyAdmin):
    """Reference data any active staff user may read (terms are not patient data)."""

    def has_view_permission(self, request, obj=None):
        return request.user.is_active and request.user.is_staff

    def has_module_permission(self, request):
        return self.has_view_permission(request)


@admin.register(CTCAETerm)
class CTCAETermAdmin(StaffReadOnlyAdmin):
    """Terms change only through ``manage.py load_ctcae`` (audited), never by hand here."""

    list_display = (
        "term",
        "soc",
        "meddra_code",
        "code_to_verify",
        "max_grade",
        "dlt_category",
        "grading_scale",
        "source",
    )
    list_filter = ("code_to_verify", "soc", "dlt_category", "grading_scale", "other_specify")
    search_fields = ("term", "soc", "meddra_code")


@admin.register(CTCAELoad)
class CTCAELoadAdmin(StaffReadOnlyAdmin):
    list_display = (
        "loaded_at",
        "source",
        "file_name",
        "sha256",
        "loaded_by",
        "created",
        "updated",
        "removed",
        "kept_in_use",
        "total",
    )
    list_select_related = ("loaded_by",)


class GradeStepInline(admin.TabularInline):
    model = AdverseEventGrade
    fields = ("grade", "from_date", "recorded_at", "recorded_by")
    readonly_fields = fields
    extra = 0
    can_delete = False

    def has_add_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False


@admin.register(AdverseEvent)
class AdverseEventAdmin(ClinicalAdmin):
    site_lookup = "subject__site"
    list_display = (
        "subject",
        "term",
        "onset_date",
        "grade",
        "worst_grade",
        "serious",
        "outcome",
        "source",
    )
    list_filter = ("serious", "source", "outcome", "grade")
    search_fields = ("subject__screening_number", "term__term", "verbatim_term")
    list_select_related = ("subject", "term")
    inlines = [GradeStepInline]
