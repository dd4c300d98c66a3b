from django.contrib import admin

from trialsite.studies.models import (
    Membership,
    MembershipChange,
    Site,
    Study,
    StudySettingsVersion,
)


class SiteInline(admin.TabularInline):
    model = Site
    extra = 0


@admin.register(Study)
class StudyAdmin(admin.ModelAdmin):
    list_display = ("protocol_number", "nct_id", "short_title", "phase", "status", "data_version")
    readonly_fields = ("settings", "settings_version", "data_version")
    inlines = [SiteInline]


@admin.register(Membership)
class MembershipAdmin(admin.ModelAdmin):
    list_display = ("user", "study", "site", "role", "is_active")
    list_filter = ("study", "role", "is_active")
    list_select_related = ("user", "study", "site")


@admin.register(MembershipChange)
class MembershipChangeAdmin(admin.ModelAdmin):
    list_display = ("changed_at", "study", "member", "kind", "changed_by", "reason")
    list_filter = ("study", "kind")
    list_select_related = ("study", "member", "changed_by")

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


@admin.register(StudySettingsVersion)
class StudySettingsVersionAdmin(admin.ModelAdmin):
    list_display = ("study", "version", "changed_by", "changed_at", "reason")
    list_select_related = ("study", "changed_by")

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False
