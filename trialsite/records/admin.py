"""Read-only admin for the audit trail, signatures and recompute runs (no clinical writes).

The Django admin is for platform operators. It never shows identified clinical data to someone
without the clinical right: clinical models (``ClinicalAdmin``) list only the studies and sites
where the user's own memberships allow reading them — a superuser without a study role sees none
of them (docs/roles.md).
"""

from django.contrib import admin
from django.db.models import Q

from trialsite.records.models import AuditEvent, DataQuery, RecomputeRun, Signature
from trialsite.studies import permissions
from trialsite.studies.models import Membership
from trialsite.studies.roles import Action


class ReadOnlyAdmin(admin.ModelAdmin):
    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


class ClinicalAdmin(ReadOnlyAdmin):
    """Read-only, and scoped to the studies (and sites) the user may read through a role."""

    clinical_action = Action.VIEW_CLINICAL
    site_lookup: str | None = None  # e.g. "site" or "subject__site"; None: study-level scope

    def _scope(self, request) -> Q | None:
        study_ids = set(
            Membership.objects.filter(user=request.user, is_active=True).values_list(
                "study_id", flat=True
            )
        )
        clauses = Q(pk__in=[])
        allowed = False
        for study_id in study_ids:
            sites = permissions.site_ids(request.user, self.clinical_action, study=study_id)
            if sites is None:
                clauses |= Q(study_id=study_id)
                allowed = True
            elif sites and self.site_lookup:
                clauses |= Q(study_id=study_id, **{f"{self.site_lookup}__in": sites})
                allowed = True
        return clauses if allowed else None

    def has_view_permission(self, request, obj=None):
        if not request.user.is_active or not request.user.is_staff:
            return False
        scope = self._scope(request)
        if scope is None:
            return False
        return obj is None or type(obj)._default_manager.filter(scope, pk=obj.pk).exists()

    def has_module_permission(self, request):
        return self.has_view_permission(request)

    def get_queryset(self, request):
        scope = self._scope(request)
        queryset = super().get_queryset(request)
        return queryset.filter(scope) if scope is not None else queryset.none()


@admin.register(AuditEvent)
class AuditEventAdmin(ClinicalAdmin):
    clinical_action = Action.VIEW_AUDIT
    site_lookup = "site"

    list_display = ("occurred_at", "study", "object_repr", "action", "actor_username", "reason")
    list_filter = ("study", "action")
    search_fields = ("object_repr", "actor_username", "reason")
    list_select_related = ("study",)


@admin.register(Signature)
class SignatureAdmin(ClinicalAdmin):
    clinical_action = Action.VIEW_AUDIT

    list_display = ("signed_at", "study", "signer_name", "meaning", "record_version")
    list_select_related = ("study",)


@admin.register(RecomputeRun)
class RecomputeRunAdmin(ReadOnlyAdmin):
    list_display = ("finished_at", "study", "data_version")
    list_select_related = ("study",)


@admin.register(DataQuery)
class DataQueryAdmin(ClinicalAdmin):
    site_lookup = "site"
    list_display = ("opened_at", "subject_label", "form_label", "field_label", "status", "origin")
    list_filter = ("status", "origin")
