"""Django admin for the reference data (the Administrator edits mock data here).

Every clients model has useful list columns, search and filters; import batches are
read-only (they are the record of what was imported)."""

from django.contrib import admin

from clients.models import Client, Debtor, ImportBatch, Partner, Receivable, Transaction

PROVENANCE = ("import_batch", "source_sheet", "source_row")


@admin.register(ImportBatch)
class ImportBatchAdmin(admin.ModelAdmin):
    list_display = ("created_at", "file_name", "short_sha", "dry_run", "status", "user", "finished_at")
    list_filter = ("status", "dry_run")
    search_fields = ("file_name", "sha256", "user__username")
    date_hierarchy = "created_at"

    @admin.display(description="SHA-256")
    def short_sha(self, obj):
        return obj.sha256[:12]

    def get_readonly_fields(self, request, obj=None):
        return [f.name for f in self.model._meta.fields]

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


@admin.register(Partner)
class PartnerAdmin(admin.ModelAdmin):
    list_display = ("partner_id", "name", "source_sheet", "source_row")
    search_fields = ("partner_id", "name")
    readonly_fields = PROVENANCE


@admin.register(Client)
class ClientAdmin(admin.ModelAdmin):
    list_display = (
        "client_id",
        "name",
        "country",
        "currency",
        "status",
        "credit_limit",
        "advance_rate",
        "reserve_rate",
        "reserve_hold_days",
        "partner",
    )
    list_filter = ("status", "currency", "country", "partner")
    search_fields = ("client_id", "name", "iban")
    list_select_related = ("partner",)
    autocomplete_fields = ("partner",)
    readonly_fields = PROVENANCE


@admin.register(Debtor)
class DebtorAdmin(admin.ModelAdmin):
    list_display = ("debtor_id", "name", "country", "concentration_limit")
    list_filter = ("country",)
    search_fields = ("debtor_id", "name")
    readonly_fields = PROVENANCE


@admin.register(Receivable)
class ReceivableAdmin(admin.ModelAdmin):
    list_display = (
        "receivable_id",
        "client",
        "debtor",
        "invoice_number",
        "issue_date",
        "due_date",
        "currency",
        "face_value",
        "advanced",
        "collected",
    )
    list_filter = ("currency", "due_date")
    search_fields = ("receivable_id", "invoice_number", "client__client_id", "debtor__debtor_id")
    list_select_related = ("client", "debtor")
    raw_id_fields = ("client", "debtor")
    date_hierarchy = "due_date"
    # totals are maintained by the ledger booking service only
    readonly_fields = ("advanced", "reduced", "collected", "written_off", *PROVENANCE)


@admin.register(Transaction)
class TransactionAdmin(admin.ModelAdmin):
    """Booked transactions are ledger history: read-only here (corrections are new entries)."""

    list_display = ("txn_id", "date", "client", "type", "amount", "currency", "receivable", "source_row")
    list_filter = ("type", "currency", "date")
    search_fields = ("txn_id", "reference", "client__client_id", "receivable__receivable_id")
    list_select_related = ("client", "receivable")
    date_hierarchy = "date"

    def get_readonly_fields(self, request, obj=None):
        return [f.name for f in self.model._meta.fields]

    def has_add_permission(self, request):
        return False

    def has_delete_permission(self, request, obj=None):
        return False
