"""Admin for the risk models. The policy is edited through ``risk.services.update_policy`` so the
change is audited; alerts and limit changes are read-only here (they change only through their
services: evaluation, acknowledge, four-eyes approval)."""

from django.contrib import admin, messages

from atlas.roles import RISK, has_role
from risk import services
from risk.models import Alert, LimitChange, RiskPolicy


@admin.register(RiskPolicy)
class RiskPolicyAdmin(admin.ModelAdmin):
    list_display = (
        "__str__",
        "exposure_warning_level",
        "min_payout",
        "overdue_share_level",
        "default_concentration_limit",
    )
    fields = ("exposure_warning_level", "min_payout", "overdue_share_level", "default_concentration_limit")

    def has_add_permission(self, request):
        return not RiskPolicy.objects.exists()

    def has_delete_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return super().has_change_permission(request, obj) and has_role(request.user, RISK)

    def save_model(self, request, obj, form, change):
        values = {f: form.cleaned_data[f] for f in services.POLICY_FIELDS}
        try:
            services.update_policy(actor=request.user, reason="edited in admin", **values)
        except services.RiskError as exc:
            messages.error(request, exc.message)


class ReadOnlyAdmin(admin.ModelAdmin):
    def has_add_permission(self, request):
        return False

    def has_delete_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False


@admin.register(LimitChange)
class LimitChangeAdmin(ReadOnlyAdmin):
    list_display = ("client", "old_limit", "new_limit", "status", "requested_by", "requested_at", "decided_by")
    list_filter = ("status",)
    search_fields = ("client__client_id", "client__name")
    list_select_related = ("client", "requested_by", "decided_by")


@admin.register(Alert)
class AlertAdmin(ReadOnlyAdmin):
    list_display = ("client", "metric", "key", "severity", "value", "threshold", "status", "opened_at", "resolved_at")
    list_filter = ("status", "severity", "metric")
    search_fields = ("client__client_id", "key")
    list_select_related = ("client",)
