"""Payout pages. Thin: read through selectors, write through ``payouts.services``; mutations are POST-only.

- ``/payouts/`` queue: a tab per status with counts, filters, sorting, bulk request (ops) / approve (credit)
  / new batch (ops) with a confirmation step, and the "propose payouts" button (ops).
- ``/payouts/<pk>/``: checks, actions by role, audit trail, the trace back to the workbook.
- ``/payouts/batches/`` and ``/payouts/batches/<pk>/``: simulation, execute (confirmation), report, SEPA file.
"""

from __future__ import annotations

import datetime

from django.contrib import messages
from django.db.models import Count
from django.http import Http404, HttpResponse, JsonResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.views.decorators.http import require_GET, require_POST
from django_tables2 import RequestConfig

from atlas.money import fmt
from atlas.roles import ADMIN, ALL, CREDIT, FINANCE, OPS, check_role, has_role, require_roles
from atlas.tables import KnownCountPaginator, export_links, export_table, requested_export
from ledger.selectors import today
from payouts import selectors, services
from payouts.filters import PayoutFilter
from payouts.models import Payout, PayoutBatch, PayoutStatus
from payouts.services import Action, PayoutError
from payouts.tables import BatchTable, PayoutTable

STATUS_TABS = [s.value for s in PayoutStatus]
BULK_ACTIONS = {
    "request": ("Request", (OPS,), {PayoutStatus.READY}),
    "approve": ("Approve", (CREDIT,), {PayoutStatus.REQUESTED}),
    "batch": ("Put in a new batch", (OPS,), {PayoutStatus.APPROVED}),
}


def _parse_date(value, default: datetime.date) -> datetime.date:
    try:
        return datetime.date.fromisoformat(value) if value else default
    except ValueError:
        return default


# --------------------------------------------------------------------------------------------- queue


@require_roles(*ALL)
@require_GET
def queue(request):
    status = request.GET.get("status") or PayoutStatus.REQUESTED
    if status not in STATUS_TABS and status != "all":
        status = PayoutStatus.REQUESTED
    payout_filter = PayoutFilter(request.GET or None, queryset=Payout.objects.all())
    filtered = payout_filter.qs
    counts = dict(filtered.order_by().values_list("status").annotate(n=Count("pk")))
    rows = selectors.queue_payouts(filtered if status == "all" else filtered.filter(status=status))
    table = PayoutTable(rows)
    shown = sum(counts.values()) if status == "all" else counts.get(status, 0)  # the tab's count is the page's
    paginate = {"per_page": 50, "paginator_class": KnownCountPaginator, "count": shown}
    RequestConfig(request, paginate=paginate).configure(table)
    fmt_name = requested_export(request)
    if fmt_name:
        return export_table(table, fmt_name, exclude_columns=("select",))
    params = request.GET.copy()
    params.pop("page", None)
    tabs = []
    for s in [*STATUS_TABS, "all"]:
        params["status"] = s
        tabs.append(
            {
                "status": s,
                "count": sum(counts.values()) if s == "all" else counts.get(s, 0),
                "url": f"?{params.urlencode()}",
                "active": s == status,
            }
        )
    bulk = [
        (key, label)
        for key, (label, roles, states) in BULK_ACTIONS.items()
        if status in states and has_role(request.user, *roles)
    ]
    return render(
        request,
        "payouts/queue.html",
        {
            "filter": payout_filter,
            "table": table,
            "tabs": tabs,
            "status": status,
            "bulk_actions": bulk,
            "export_links": export_links(request),
            "can_propose": has_role(request.user, OPS),
            "today": today(),
        },
    )


@require_roles(OPS, CREDIT)
@require_POST
def bulk(request):
    """Step 1 (no ``confirm``): show what would happen. Step 2 (``confirm=1``): do it through the services."""
    action = request.POST.get("action", "")
    if action not in BULK_ACTIONS:
        messages.error(request, "Choose an action.")
        return redirect("payouts:queue")
    label, roles, states = BULK_ACTIONS[action]
    check_role(request.user, *roles)
    pks = sorted({int(pk) for pk in request.POST.getlist("payouts") if pk.isdigit()})
    payouts = list(Payout.objects.select_related("client").filter(pk__in=pks).order_by("pk"))
    back = reverse("payouts:queue") + "?status=" + next(iter(states))
    if not payouts:
        messages.error(request, "Select at least one payout.")
        return redirect(back)
    if request.POST.get("confirm") != "1":
        totals: dict[str, object] = {}
        for p in payouts:
            totals[p.currency] = totals.get(p.currency, 0) + p.amount
        return render(
            request,
            "payouts/bulk_confirm.html",
            {
                "action": action,
                "label": label,
                "payouts": payouts,
                "totals": {cur: fmt(v) for cur, v in sorted(totals.items())},
                "back": back,
            },
        )
    if action == "batch":
        try:
            batch = services.batch_create(payouts=payouts, actor=request.user)
        except PayoutError as exc:
            messages.error(request, exc.message)
            return redirect(back)
        messages.success(request, f"Batch {batch.pk} created with {len(payouts)} payouts: review its simulation.")
        return redirect("payouts:batch_detail", pk=batch.pk)
    done, failed = [], []
    for p in payouts:
        try:
            if action == "request":
                result = services.payout_request(payout=p, actor=request.user)
            else:
                result = services.payout_approve(payout=p, actor=request.user)
            done.append(result)
        except PayoutError as exc:
            failed.append(exc.message)
    blocked = [p for p in done if p.status == PayoutStatus.BLOCKED]
    ok = len(done) - len(blocked)
    if ok:
        messages.success(request, f"{label}: {ok} payout(s) done.")
    if blocked:
        messages.warning(
            request, f"{len(blocked)} payout(s) blocked by a check: " + ", ".join(p.payout_id for p in blocked)
        )
    for message in failed:
        messages.error(request, message)
    return redirect(back)


@require_roles(OPS)
@require_POST
def propose(request):
    as_of = _parse_date(request.POST.get("as_of"), today())
    result = services.propose_payouts(as_of=as_of, actor=request.user)
    messages.success(
        request,
        f"Proposed as of {as_of}: {len(result.created)} created, {len(result.updated)} updated, "
        f"{len(result.unchanged)} unchanged, {len(result.not_qualifying)} ready payout(s) whose client "
        "no longer qualifies were left as they are.",
    )
    return redirect(reverse("payouts:queue") + "?status=ready")


# --------------------------------------------------------------------------------------------- detail


@require_roles(*ALL)
@require_GET
def detail(request, pk):
    payout = get_object_or_404(
        Payout.objects.select_related("client", "requested_by", "approved_by", "batch", "import_batch"), pk=pk
    )
    return render(
        request,
        "payouts/detail.html",
        {
            "payout": payout,
            "actions": services.available_actions(payout, request.user),
            "audit": selectors.payout_audit(payout),
            "trace": selectors.payout_trace(payout),
            "today": today(),
        },
    )


ACTION_LABELS = {
    Action.REQUEST: "requested",
    Action.APPROVE: "approved",
    Action.REJECT: "rejected",
    Action.CANCEL: "cancelled",
    Action.OVERRIDE: "overridden and approved",
    Action.RECHECK: "re-checked",
    Action.RETURN: "marked returned",
}


@require_roles(OPS, CREDIT)
@require_POST
def act(request, pk, action):
    if action not in ACTION_LABELS:
        raise Http404("unknown action")
    payout = get_object_or_404(Payout, pk=pk)
    reason = request.POST.get("reason", "")
    user = request.user
    try:
        if action == Action.REQUEST:
            result = services.payout_request(payout=payout, actor=user, amount=request.POST.get("amount") or None)
        elif action == Action.APPROVE:
            result = services.payout_approve(payout=payout, actor=user)
        elif action == Action.REJECT:
            result = services.payout_reject(payout=payout, actor=user, reason=reason)
        elif action == Action.CANCEL:
            result = services.payout_cancel(payout=payout, actor=user, reason=reason)
        elif action == Action.OVERRIDE:
            result = services.payout_override(payout=payout, actor=user, reason=reason)
        elif action == Action.RECHECK:
            result = services.payout_recheck(payout=payout, actor=user)
        else:
            date = _parse_date(request.POST.get("date"), today())
            result = services.payout_mark_returned(payout=payout, actor=user, reason=reason, date=date)
    except PayoutError as exc:
        messages.error(request, exc.message)
        return redirect("payouts:detail", pk=pk)
    if result.status == PayoutStatus.BLOCKED:
        messages.warning(
            request, f"Payout {result.payout_id} is blocked: " + " ".join(c["message"] for c in result.blocking_checks)
        )
    else:
        messages.success(request, f"Payout {result.payout_id} {ACTION_LABELS[action]} ({result.status}).")
    return redirect("payouts:detail", pk=pk)


# --------------------------------------------------------------------------------------------- batches


@require_roles(*ALL)
@require_GET
def batch_list(request):
    qs = PayoutBatch.objects.select_related("created_by", "executed_by").annotate(n=Count("payouts"))
    table = BatchTable(qs)
    RequestConfig(request, paginate={"per_page": 50}).configure(table)
    return render(request, "payouts/batch_list.html", {"table": table})


@require_roles(*ALL)
@require_GET
def batch_detail(request, pk):
    batch = get_object_or_404(PayoutBatch.objects.select_related("created_by", "executed_by"), pk=pk)
    context = {"batch": batch, "can_execute": has_role(request.user, OPS), "today": today()}
    if batch.status != PayoutBatch.Status.EXECUTED:
        as_of = _parse_date(request.GET.get("date"), batch.execution_date or today())
        context["simulation"] = services.batch_simulate(batch=batch, as_of=as_of)
        context["as_of"] = as_of
    else:
        context["payouts"] = list(
            Payout.objects.filter(pk__in=[row["pk"] for row in batch.report.get("executed", [])])
            .select_related("client")
            .order_by("pk")
        )
    context["audit"] = selectors.batch_audit(batch)
    return render(request, "payouts/batch_detail.html", context)


@require_roles(OPS)
@require_POST
def batch_execute(request, pk):
    batch = get_object_or_404(PayoutBatch, pk=pk)
    if request.POST.get("confirm") != "1":
        messages.error(request, "Tick the confirmation that you reviewed the simulation.")
        return redirect("payouts:batch_detail", pk=pk)
    execution_date = _parse_date(request.POST.get("execution_date"), today())
    try:
        if request.POST.get("background") == "1":
            batch = services.batch_enqueue(batch=batch, actor=request.user, execution_date=execution_date)
            messages.info(request, f"Batch {batch.pk} is executing in the background.")
            return redirect("payouts:batch_detail", pk=pk)
        batch = services.batch_execute(batch=batch, actor=request.user, execution_date=execution_date)
    except PayoutError as exc:
        messages.error(request, exc.message)
        return redirect("payouts:batch_detail", pk=pk)
    report = batch.report
    messages.success(
        request,
        f"Batch {batch.pk} executed on {batch.execution_date}: {len(report.get('executed', []))} paid, "
        f"{len(report.get('blocked', []))} blocked and left out.",
    )
    return redirect("payouts:batch_detail", pk=pk)


@require_roles(*ALL)
@require_GET
def batch_progress(request, pk):
    from payouts.tasks import read_progress

    batch = get_object_or_404(PayoutBatch, pk=pk)
    return JsonResponse(read_progress(batch))


@require_roles(OPS)
@require_POST
def batch_remove(request, pk, payout_pk):
    batch = get_object_or_404(PayoutBatch, pk=pk)
    payout = get_object_or_404(Payout, pk=payout_pk)
    try:
        services.batch_remove(batch=batch, payout=payout, actor=request.user)
    except PayoutError as exc:
        messages.error(request, exc.message)
    return redirect("payouts:batch_detail", pk=pk)


@require_roles(OPS, FINANCE, CREDIT, ADMIN)
@require_GET
def batch_sepa(request, pk):
    batch = get_object_or_404(PayoutBatch, pk=pk)
    if not batch.sepa_file:
        raise Http404("This batch has no SEPA file.")
    response = HttpResponse(bytes(batch.sepa_file), content_type="application/xml")
    response["Content-Disposition"] = f'attachment; filename="atlas-batch-{batch.pk}-pain.001.001.03.xml"'
    return response
