from django.contrib import admin

from reconciliation.models import Match, MatchRequest, MatchRequestAllocation, Statement, StatementLine


class ReadOnlyAdmin(admin.ModelAdmin):
    """Statements are bank facts and matches go through the services: the admin only reads."""

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


@admin.register(Statement)
class StatementAdmin(ReadOnlyAdmin):
    list_display = ("id", "file_name", "format", "account_iban", "line_count", "imported_at", "imported_by")
    search_fields = ("file_name", "sha256", "message_id", "statement_ids")
    list_filter = ("format",)


@admin.register(StatementLine)
class StatementLineAdmin(ReadOnlyAdmin):
    list_display = (
        "id",
        "statement",
        "entry_index",
        "tx_index",
        "booking_date",
        "direction",
        "amount",
        "currency",
        "end_to_end_id",
        "counterparty_iban",
        "bank_reference",
    )
    list_filter = ("direction", "currency", "is_reversal")
    search_fields = ("end_to_end_id", "bank_reference", "counterparty_name", "counterparty_iban", "remittance_info")
    list_select_related = ("statement",)


@admin.register(Match)
class MatchAdmin(ReadOnlyAdmin):
    list_display = (
        "id",
        "line",
        "kind",
        "rule",
        "payout",
        "receivable",
        "amount",
        "active",
        "created_by",
        "created_at",
    )
    list_filter = ("kind", "rule", "active")
    search_fields = ("payout__payout_id", "receivable__receivable_id", "receivable__invoice_number")
    list_select_related = ("line", "payout", "receivable", "created_by")


class MatchRequestAllocationInline(admin.TabularInline):
    model = MatchRequestAllocation
    fields = ("position", "receivable", "amount")
    readonly_fields = fields
    extra = 0
    can_delete = False

    def has_add_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False


@admin.register(MatchRequest)
class MatchRequestAdmin(ReadOnlyAdmin):
    """Four-eyes requests are decided on the reconciliation pages (the services), never here."""

    list_display = ("id", "kind", "line", "payout", "match", "status", "requested_by", "requested_at", "decided_by")
    list_filter = ("kind", "status")
    search_fields = ("payout__payout_id", "note", "decision_reason")
    list_select_related = ("line", "payout", "match", "requested_by", "decided_by")
    inlines = [MatchRequestAllocationInline]
