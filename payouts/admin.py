"""Payouts in Django admin (for the Administrator's mock data).

Status, approvals, checks, batch and execution fields are always read-only here: every transition goes through
``payouts.services`` (and the audit trail). The amount and reference stay editable only while a payout is
``ready``; payouts can't be deleted. Batches are read-only.
"""

from django.contrib import admin

from payouts.models import Payout, PayoutBatch, PayoutStatus

WORKFLOW_FIELDS = (
    "status",
    "requested_by",
    "requested_at",
    "approved_by",
    "approved_at",
    "override_reason",
    "override_codes",
    "status_reason",
    "batch",
    "executed_at",
    "returned_at",
    "end_to_end_id",
    "checks",
    "check_codes",
    "checked_at",
    "import_batch",
    "source_sheet",
    "source_row",
)


@admin.register(Payout)
class PayoutAdmin(admin.ModelAdmin):
    list_display = ("payout_id", "client", "amount", "currency", "status", "requested_by", "approved_by", "batch")
    list_filter = ("status", "currency")
    search_fields = ("payout_id", "client__client_id", "client__name", "end_to_end_id")
    list_select_related = ("client", "requested_by", "approved_by", "batch")
    raw_id_fields = ("client",)

    def get_readonly_fields(self, request, obj=None):
        if obj is None:
            return WORKFLOW_FIELDS
        if obj.status != PayoutStatus.READY:
            return (*WORKFLOW_FIELDS, "payout_id", "client", "amount", "currency", "reference")
        return (*WORKFLOW_FIELDS, "payout_id", "client", "currency")

    def has_delete_permission(self, request, obj=None):
        return False

    def get_actions(self, request):
        actions = super().get_actions(request)
        actions.pop("delete_selected", None)
        return actions


@admin.register(PayoutBatch)
class PayoutBatchAdmin(admin.ModelAdmin):
    list_display = ("id", "status", "created_at", "created_by", "execution_date", "executed_by")
    list_filter = ("status",)
    exclude = ("sepa_file",)

    def has_add_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False
