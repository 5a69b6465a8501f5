"""Clients pages: the filtered, sortable, exportable list and the per-client drilldown."""

from __future__ import annotations

from django.shortcuts import get_object_or_404, render
from django_tables2 import RequestConfig

from atlas.filters import as_of_param
from atlas.roles import ALL, require_roles
from atlas.tables import export_links, export_table, requested_export
from atlas.views import url_or_path
from clients.filters import ClientFilter
from clients.models import Client
from clients.selectors import SQL_SORTS, ClientPageData, client_list_rows
from clients.selectors import client_detail as select_client_detail
from clients.tables import ClientTable


@require_roles(*ALL)
def client_list(request):
    filterset = ClientFilter(request.GET or None, queryset=Client.objects.all())
    fmt_name = requested_export(request)
    sort = request.GET.get("sort", "")
    if filterset.selected_band or fmt_name or (sort and sort.lstrip("-") not in SQL_SORTS):
        # The band filter, a sort by a figure and an export need every filtered client's figures.
        rows = client_list_rows(filterset.qs, band=filterset.selected_band, as_of=as_of_param(request))
    else:
        rows = ClientPageData(filterset.qs, as_of=as_of_param(request))
    table = ClientTable(rows, request=request)
    RequestConfig(request, paginate={"per_page": 25}).configure(table)
    if fmt_name:
        return export_table(table, fmt_name, "clients")
    return render(
        request,
        "clients/client_list.html",
        {"filter": filterset, "table": table, "export_links": export_links(request), "row_count": len(rows)},
    )


@require_roles(*ALL)
def client_detail(request, client_id: str):
    client = get_object_or_404(Client.objects.select_related("partner"), client_id=client_id)
    data = select_client_detail(client, as_of=as_of_param(request))
    for card in data["cards"]:
        account = card["account"]
        card["url"] = (
            url_or_path("ledger:statement", [account.pk], f"/ledger/accounts/{account.pk}/") if account else None
        )
    statement = {card["kind"]: card["url"] for card in data["cards"]}
    for payout in data["payouts"]:
        payout.url = url_or_path("payouts:detail", [payout.pk], f"/payouts/{payout.pk}/")
    for loan in data["loans"]:
        loan.url = url_or_path("portfolio:loan", [loan.loan_id], f"/portfolio/loans/{loan.loan_id}/")
    return render(request, "clients/client_detail.html", {"client": client, "statement": statement, **data})
