"""Read-only admin for the audit trail, signatures and recompute runs (no clinical writes)."""

from django.contrib import admin

from trialsite.records.models import AuditEvent, RecomputeRun, Signature


class ReadOnlyAdmin(admin.ModelAdmin):
    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


@admin.register(AuditEvent)
class AuditEventAdmin(ReadOnlyAdmin):
    list_display = ("occurred_at", "study", "object_repr", "action", "actor_username", "reason")
    list_filter = ("study", "action")
    search_fields = ("object_repr", "actor_username", "reason")
    list_select_related = ("study",)


@admin.register(Signature)
class SignatureAdmin(ReadOnlyAdmin):
    list_display = ("signed_at", "study", "signer_name", "meaning", "record_version")
    list_select_related = ("study",)


@admin.register(RecomputeRun)
class RecomputeRunAdmin(ReadOnlyAdmin):
    list_display = ("finished_at", "study", "data_version")
    list_select_related = ("study",)
