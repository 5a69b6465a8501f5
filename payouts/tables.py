"""Tables of the payout pages (django-tables2 on :class:`atlas.tables.AtlasTable`)."""

import django_tables2 as tables
from django.utils.html import format_html
from django.utils.safestring import SafeString

from atlas.tables import AtlasTable, CheckBoxColumn, DateColumn, DateTimeColumn, MoneyColumn, StatusColumn, _escape
from payouts.models import Payout, PayoutBatch


def check_badges(checks) -> str:
    """A badge per check: ``format_html_join(" ", '<span class="badge text-bg-{}" title="{}">{}</span>', …)``
    with each argument escaped as ``format_html`` escapes it (``conditional_escape``), without its per-call
    lazy wrappers (a page of 50 payouts calls this 50 times)."""
    return SafeString(
        " ".join(
            f'<span class="badge text-bg-{"danger" if c.get("severity") == "block" else "warning text-dark"}" '
            f'title="{_escape(c.get("message", ""))}">{_escape(c.get("code"))}</span>'
            for c in checks or []
        )
    )


class PayoutTable(AtlasTable):
    """Rows from :func:`payouts.selectors.queue_payouts` (the client's and users' columns are annotations)."""

    export_filename = "payouts"

    select = CheckBoxColumn(
        accessor="pk",
        attrs={
            "th__input": {"data-select-all": "payouts", "aria-label": "Select all"},
            "td__input": {"name": "payouts", "form": "bulk-form", "aria-label": "Select payout"},
        },
        exclude_from_export=True,
    )
    payout_id = tables.Column(verbose_name="Payout", linkify=("payouts:detail", {"pk": tables.A("pk")}))
    client = tables.Column(verbose_name="Client", accessor="client_code", order_by=("client__client_id",))
    client_name = tables.Column(verbose_name="Name", accessor="client_name", order_by=("client__name",))
    amount = MoneyColumn(verbose_name="Amount")
    currency = tables.Column(verbose_name="Cur.")
    status = StatusColumn(verbose_name="Status")
    checks = tables.Column(verbose_name="Checks", orderable=False, empty_values=())
    requested_by = tables.Column(verbose_name="Requested by", accessor="requested_by_name", orderable=False)
    approved_by = tables.Column(verbose_name="Approved by", accessor="approved_by_name", orderable=False)
    batch = tables.Column(verbose_name="Batch", accessor="batch_id")
    updated_at = DateTimeColumn(verbose_name="Updated", format="Y-m-d H:i")

    class Meta(AtlasTable.Meta):
        model = Payout
        fields = ()
        sequence = (
            "select",
            "payout_id",
            "client",
            "client_name",
            "amount",
            "currency",
            "status",
            "checks",
            "requested_by",
            "approved_by",
            "batch",
            "updated_at",
        )
        order_by = ("-updated_at",)
        empty_text = "No payouts match."

    def render_checks(self, record):
        return check_badges(record.checks)

    def value_checks(self, record):
        return " ".join(c.get("code", "") for c in record.checks or [])

    def render_batch(self, value):
        from django.urls import reverse

        return format_html('<a href="{}">#{}</a>', reverse("payouts:batch_detail", args=[value]), value)


class BatchTable(AtlasTable):
    export_filename = "payout-batches"

    id = tables.Column(verbose_name="Batch", linkify=("payouts:batch_detail", {"pk": tables.A("pk")}))
    status = StatusColumn(verbose_name="Status")
    created_at = DateTimeColumn(verbose_name="Created", format="Y-m-d H:i")
    created_by = tables.Column(verbose_name="Created by", accessor="created_by__username")
    n = tables.Column(verbose_name="Payouts", attrs={"td": {"class": "num"}, "th": {"class": "num"}})
    execution_date = DateColumn(verbose_name="Execution date", format="Y-m-d")
    executed_by = tables.Column(verbose_name="Executed by", accessor="executed_by__username")
    totals = tables.Column(verbose_name="Paid", accessor="report", orderable=False)

    class Meta(AtlasTable.Meta):
        model = PayoutBatch
        fields = ()
        sequence = ("id", "status", "created_at", "created_by", "n", "execution_date", "executed_by", "totals")
        order_by = ("-id",)
        empty_text = "No batches yet."

    def render_totals(self, value):
        totals = (value or {}).get("totals") or {}
        return ", ".join(f"{amount} {cur}" for cur, amount in totals.items()) or "—"
