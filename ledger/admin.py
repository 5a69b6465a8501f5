"""The ledger in Django admin: read-only for everyone, superusers included.

Entries and postings are never updated or deleted (DOMAIN.md section 4, invariant 2); every
write goes through ``ledger.services``. So no admin here may add, change or delete: the
permission hooks return False, which makes Django answer 403 to any POST on the add, change
or delete views, and hides the buttons and bulk delete action.
"""

from django.contrib import admin
from django.urls import reverse
from django.utils.html import format_html

from ledger.models import Account, JournalEntry, Posting, ReserveTranche


class ReadOnlyAdminMixin:
    """No add, change or delete permission for anyone; viewing stays allowed."""

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


def _entry_link(entry_id):
    if not entry_id:
        return "—"
    return format_html('<a href="{}">#{}</a>', reverse("admin:ledger_journalentry_change", args=[entry_id]), entry_id)


@admin.register(Account)
class AccountAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    list_display = ("id", "owner", "kind", "currency", "normal_side", "balance", "posting_count")
    list_filter = ("kind", "currency", "normal_side", ("client", admin.EmptyFieldListFilter))
    search_fields = ("client__client_id", "client__name", "kind")
    list_select_related = ("client",)
    ordering = ("client__client_id", "kind", "currency")

    @admin.display(description="owner", ordering="client__client_id")
    def owner(self, obj):
        return obj.client.client_id if obj.client_id else "house"


class PostingInline(ReadOnlyAdminMixin, admin.TabularInline):
    model = Posting
    fields = ("id", "account", "side", "amount", "date", "balance_after")
    readonly_fields = fields
    extra = 0
    max_num = 0
    can_delete = False
    show_change_link = False

    def get_queryset(self, request):
        return super().get_queryset(request).select_related("account__client")


@admin.register(JournalEntry)
class JournalEntryAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    list_display = ("id", "date", "type", "currency", "client", "amount", "source_type", "source_key", "reverses_link")
    list_filter = ("type", "source_type", "currency", "date")
    search_fields = ("=id", "source_key", "client__client_id", "client__name", "transaction__txn_id", "description")
    list_select_related = ("client",)
    date_hierarchy = "date"
    ordering = ("-id",)
    inlines = [PostingInline]
    raw_id_fields = ("client", "transaction", "receivable", "reverses")
    show_full_result_count = False

    @admin.display(description="reverses")
    def reverses_link(self, obj):
        return _entry_link(obj.reverses_id)


@admin.register(Posting)
class PostingAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    list_display = ("id", "date", "entry_link", "account", "side", "amount", "balance_after")
    list_filter = ("side", "account__kind", "account__currency", "date")
    search_fields = ("=id", "=entry__id", "account__client__client_id", "entry__source_key")
    list_select_related = ("account__client", "entry")
    raw_id_fields = ("entry", "account")
    ordering = ("-id",)
    show_full_result_count = False

    @admin.display(description="entry", ordering="entry_id")
    def entry_link(self, obj):
        return _entry_link(obj.entry_id)


@admin.register(ReserveTranche)
class ReserveTrancheAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    list_display = ("id", "client", "amount", "currency", "created_on", "due_date", "released_on", "released_link")
    list_filter = ("currency", "due_date", ("released_on", admin.EmptyFieldListFilter))
    search_fields = ("=id", "client__client_id", "client__name", "transaction__txn_id")
    list_select_related = ("client",)
    raw_id_fields = ("client", "transaction", "released_entry")
    ordering = ("due_date", "id")

    @admin.display(description="released by")
    def released_link(self, obj):
        return _entry_link(obj.released_entry_id)
