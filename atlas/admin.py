"""The audit trail in Django admin: read-only for everyone, superusers included.

Audit events are append-only (DOMAIN.md section 4 and ``atlas.models``): no add, change or
delete permission, so Django answers 403 to any POST on those views and hides the bulk delete.
"""

from django.contrib import admin

from atlas.models import AuditEvent


@admin.register(AuditEvent)
class AuditEventAdmin(admin.ModelAdmin):
    list_display = ("created_at", "actor", "action", "object_type", "object_id", "client")
    list_filter = ("action", "object_type")
    search_fields = ("=object_id", "action", "actor__username", "client__client_id", "reason")
    list_select_related = ("actor", "client")
    date_hierarchy = "created_at"
    readonly_fields = (
        "created_at",
        "actor",
        "action",
        "object_type",
        "object_id",
        "client",
        "before",
        "after",
        "reason",
    )
    show_full_result_count = False

    def has_add_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False

    def get_actions(self, request):
        actions = super().get_actions(request)
        actions.pop("delete_selected", None)
        return actions
