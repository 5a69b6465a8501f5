from django.contrib import admin

from portfolio.models import Loan
from portfolio.services import refresh_schedules


@admin.register(Loan)
class LoanAdmin(admin.ModelAdmin):
    list_display = (
        "loan_id",
        "client",
        "method",
        "day_count",
        "principal",
        "currency",
        "annual_rate",
        "start_date",
        "term_months",
    )
    list_filter = ("method", "day_count", "currency", "start_date")
    search_fields = ("loan_id", "client__client_id", "client__name")
    list_select_related = ("client",)
    raw_id_fields = ("client", "import_batch")
    date_hierarchy = "start_date"
    readonly_fields = ("import_batch", "source_sheet", "source_row")

    def save_model(self, request, obj, form, change):
        super().save_model(request, obj, form, change)
        refresh_schedules(loans=[obj.pk])  # store the schedule of the new or changed terms now
