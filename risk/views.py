"""Risk pages: overview, reserve validation, alerts, policy, limit changes, client terms, block/unblock.

Thin views: parse the form, call ``risk.services`` (or ``ledger.services.release_reserves``), show a
message, redirect. Every view declares its roles; every mutation is POST-only and its service
checks the role again.
"""

from __future__ import annotations

import datetime
from urllib.parse import urlencode

from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.core.paginator import Paginator
from django.db.models import Case, IntegerField, Value, When
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.http import require_POST
from django_tables2 import RequestConfig

from atlas.money import ZERO, fmt
from atlas.roles import ALL, CREDIT, OPS, RISK, check_role, has_role, require_roles
from atlas.tables import export_links, export_table, requested_export
from clients.models import Client
from risk import selectors, services
from risk.forms import AsOfForm, ClientTermsForm, PolicyForm, ReasonForm
from risk.models import Alert, LimitChange, RiskPolicy
from risk.tables import SHOW, RiskClientData, RiskClientTable

ALERTS_PER_PAGE = 50
RESERVES_PER_PAGE = 50  # clients needing attention (tranches due or a shortfall) come first


def _as_of(request) -> tuple[datetime.date, AsOfForm]:
    form = AsOfForm(request.GET or None)
    as_of = None
    if form.is_bound and form.is_valid():
        as_of = form.cleaned_data["as_of"]
    as_of = as_of or timezone.localdate()
    if not form.is_bound:
        form = AsOfForm(initial={"as_of": as_of})
    return as_of, form


def _with_as_of(url: str, as_of: datetime.date) -> str:
    return f"{url}?{urlencode({'as_of': as_of.isoformat()})}"


# ------------------------------------------------------------------------------- overview


@require_roles(*ALL)
def overview(request):
    """Portfolio totals, charts, bounded problem lists and the clients table (50 a page; ``?show=`` filters
    it, ``?export=csv|xlsx`` downloads every filtered client)."""
    as_of, form = _as_of(request)
    show = request.GET.get("show", "")
    show = show if show in SHOW else ""
    export = requested_export(request)
    pf = selectors.portfolio(as_of=as_of, top_debtors=0 if export else 10, breaches=not export or show == "breach")
    alert_pks = (
        set(Alert.objects.filter(status__in=Alert.ACTIVE_STATUSES).values_list("client_id", flat=True))
        if show == "alerts"
        else None
    )
    table = RiskClientTable(RiskClientData(pf, show=show, client_pks_with_alerts=alert_pks))
    RequestConfig(request, paginate={"per_page": RiskClientTable.Meta.per_page}).configure(table)
    if export:
        return export_table(table, export, f"risk-clients-{as_of:%Y-%m-%d}")
    shortfalls = pf.shortfalls
    return render(
        request,
        "risk/overview.html",
        {
            "pf": pf,
            "as_of": as_of,
            "as_of_form": form,
            "chart_data": pf.chart_data(),
            "open_alerts": Alert.objects.filter(status=Alert.Status.OPEN).count(),
            "table": table,
            "show": show,
            "show_choices": SHOW.items(),
            "export_links": export_links(request),
            "top": selectors.TOP_LIST,
            "shortfalls": shortfalls[: selectors.TOP_LIST],
            "shortfall_count": len(shortfalls),
            "breaches": pf.breaches(selectors.TOP_LIST),
            "breach_count": len(pf.breach_list),
        },
    )


# ------------------------------------------------------------------------------- reserves


@require_roles(*ALL)
def reserves(request):
    as_of, form = _as_of(request)
    rows = selectors.reserve_validation(as_of=as_of)
    page = Paginator(rows, RESERVES_PER_PAGE).get_page(request.GET.get("page"))
    params = request.GET.copy()
    params.pop("page", None)
    return render(
        request,
        "risk/reserves.html",
        {
            "rows": page.object_list,
            "page": page,
            "page_query": params.urlencode(),
            "as_of": as_of,
            "as_of_form": form,
            "can_release": has_role(request.user, OPS, RISK),
            "releasable_count": sum(len(r.releasable) for r in rows),
            "held_count": sum(len(r.held) for r in rows),
        },
    )


@require_roles(OPS, RISK)
def reserves_release(request):
    """GET: what a release run at D would release and hold (changes nothing). POST: run it."""
    from ledger.services import LedgerError, release_reserves

    if request.method == "POST":
        form = AsOfForm(request.POST)
        if not form.is_valid() or not form.cleaned_data["as_of"] or request.POST.get("confirm") != "yes":
            messages.error(request, "Confirm the release and give its as-of date.")
            return redirect("risk:reserves")
        as_of = form.cleaned_data["as_of"]
        if as_of > timezone.localdate():
            messages.error(request, "Reserves cannot be released at a future date.")
            return redirect(_with_as_of(reverse("risk:reserves"), as_of))
        try:
            result = release_reserves(as_of=as_of, actor=request.user)
        except LedgerError as exc:
            messages.error(request, exc.message)
            return redirect(_with_as_of(reverse("risk:reserves"), as_of))
        released = sum((t.amount for t in result.released), ZERO)
        messages.success(
            request,
            f"Released {len(result.released)} tranche(s) ({fmt(released)}) "
            f"at {as_of:%Y-%m-%d}; {len(result.held)} held by a shortfall.",
        )
        return redirect(_with_as_of(reverse("risk:reserves"), as_of))
    as_of, form = _as_of(request)
    rows = [r for r in selectors.reserve_validation(as_of=as_of) if r.due]
    return render(
        request,
        "risk/reserves_release.html",
        {"rows": rows, "as_of": as_of, "future": as_of > timezone.localdate()},
    )


# --------------------------------------------------------------------------------- alerts


@require_roles(*ALL)
def alerts(request):
    status = request.GET.get("status", "active")
    qs = Alert.objects.select_related("client", "acknowledged_by", "resolved_by")
    if status == "active":
        qs = qs.filter(status__in=Alert.ACTIVE_STATUSES)
    elif status in Alert.Status.values:
        qs = qs.filter(status=status)
    else:
        status = "all"
    metric = request.GET.get("metric", "")
    if metric in Alert.Metric.values:
        qs = qs.filter(metric=metric)
    else:
        metric = ""
    severity_rank = Case(
        When(severity=Alert.Severity.CRITICAL, then=Value(0)), default=Value(1), output_field=IntegerField()
    )
    page = Paginator(qs.order_by(severity_rank, "-opened_at", "-id"), ALERTS_PER_PAGE).get_page(request.GET.get("page"))
    params = request.GET.copy()
    params.pop("page", None)
    return render(
        request,
        "risk/alerts.html",
        {
            "alerts": page.object_list,
            "page": page,
            "page_query": params.urlencode(),
            "status": status,
            "metric": metric,
            "statuses": ["active", *Alert.Status.values, "all"],
            "metrics": Alert.Metric.choices,
            "can_acknowledge": has_role(request.user, RISK, CREDIT),
            "can_evaluate": has_role(request.user, RISK, OPS),
        },
    )


@require_roles(RISK, CREDIT)
@require_POST
def alert_acknowledge(request, pk: int):
    alert = get_object_or_404(Alert, pk=pk)
    try:
        services.acknowledge_alert(alert=alert, actor=request.user)
        messages.success(request, f"Alert on {alert.client.client_id} ({alert.get_metric_display()}) acknowledged.")
    except services.RiskError as exc:
        messages.error(request, exc.message)
    return redirect(request.POST.get("next") or reverse("risk:alerts"))


@require_roles(RISK, OPS)
@require_POST
def alerts_evaluate(request):
    result = services.evaluate_alerts()
    messages.success(
        request, f"Alerts evaluated: {result.opened} opened, {result.updated} updated, {result.resolved} resolved."
    )
    return redirect("risk:alerts")


# --------------------------------------------------------------------------------- policy


@require_roles(*ALL)
def policy(request):
    """Everyone reads the policy; ``risk`` edits it (POST, checked again by the service)."""
    current = RiskPolicy.get()
    can_edit = has_role(request.user, RISK)
    if request.method == "POST":
        check_role(request.user, RISK)
        form = PolicyForm(request.POST, policy=current)
        if form.is_valid():
            values = {f: form.cleaned_data[f] for f in services.POLICY_FIELDS}
            try:
                services.update_policy(actor=request.user, reason=form.cleaned_data["reason"], **values)
            except services.RiskError as exc:
                messages.error(request, exc.message)
            else:
                messages.success(request, "Risk policy saved.")
                return redirect("risk:policy")
    else:
        form = PolicyForm(policy=current)
    return render(request, "risk/policy.html", {"policy": current, "form": form, "can_edit": can_edit})


# ---------------------------------------------------------------------------- limit changes


@require_roles(*ALL)
def limits(request):
    pending = LimitChange.objects.filter(status=LimitChange.Status.PENDING).select_related("client", "requested_by")
    recent = (
        LimitChange.objects.exclude(status=LimitChange.Status.PENDING)
        .select_related("client", "requested_by", "decided_by")
        .order_by("-decided_at", "-id")[:50]
    )
    return render(
        request,
        "risk/limits.html",
        {
            "pending": pending,
            "recent": recent,
            "can_decide": has_role(request.user, CREDIT),
            "reject_form": ReasonForm(),
        },
    )


@require_roles(CREDIT)
@require_POST
def limit_approve(request, pk: int):
    change = get_object_or_404(LimitChange.objects.select_related("client"), pk=pk)
    try:
        services.approve_limit_change(change=change, actor=request.user, reason=request.POST.get("reason", ""))
        messages.success(request, f"Credit limit of {change.client.client_id} is now {fmt(change.new_limit)}.")
    except services.RiskError as exc:
        messages.error(request, exc.message)
    return redirect("risk:limits")


@require_roles(CREDIT)
@require_POST
def limit_reject(request, pk: int):
    change = get_object_or_404(LimitChange.objects.select_related("client"), pk=pk)
    try:
        services.reject_limit_change(change=change, actor=request.user, reason=request.POST.get("reason", ""))
        messages.success(request, f"Limit change for {change.client.client_id} rejected.")
    except services.RiskError as exc:
        messages.error(request, exc.message)
    return redirect("risk:limits")


@require_roles(*ALL)
def client_limits(request, client_id: str):
    """Everyone sees a client's terms and limit history; ``risk`` changes them (POST)."""
    client = get_object_or_404(Client, client_id=client_id)
    can_edit = has_role(request.user, RISK)
    if request.method == "POST":
        check_role(request.user, RISK)
        form = ClientTermsForm(request.POST, client=client)
        if form.is_valid():
            data = dict(form.cleaned_data)
            reason = data.pop("reason")
            credit_limit = data.pop("credit_limit")
            try:
                result = services.update_client_terms(
                    client=client, actor=request.user, reason=reason, credit_limit=credit_limit, **data
                )
            except services.RiskError as exc:
                messages.error(request, exc.message)
            else:
                change = result.limit_change
                if change and change.status == LimitChange.Status.PENDING:
                    messages.info(
                        request,
                        f"Limit increase to {fmt(change.new_limit)} is waiting for a Credit Manager's approval.",
                    )
                elif change:
                    messages.success(request, f"Credit limit lowered to {fmt(change.new_limit)}.")
                if result.changed_rates:
                    messages.success(request, f"Updated: {', '.join(result.changed_rates)}.")
                return redirect("risk:client_limits", client_id=client.client_id)
    else:
        form = ClientTermsForm(client=client)
    history = client.limit_changes.select_related("requested_by", "decided_by")[:20]
    return render(
        request, "risk/client_limits.html", {"client": client, "form": form, "history": history, "can_edit": can_edit}
    )


# ----------------------------------------------------------------------------- block/unblock


@require_roles(RISK, CREDIT)
def client_block(request, client_id: str):
    """GET: the block/unblock form; POST ``action=block`` (risk) or ``action=unblock`` (risk, credit)."""
    client = get_object_or_404(Client, client_id=client_id)
    if request.method == "POST":
        form = ReasonForm(request.POST)
        action = request.POST.get("action")
        if action not in {"block", "unblock"}:
            raise PermissionDenied("Unknown action.")
        if form.is_valid():
            service = services.block_client if action == "block" else services.unblock_client
            try:
                service(client=client, actor=request.user, reason=form.cleaned_data["reason"])
            except services.RiskError as exc:
                messages.error(request, exc.message)
            else:
                verb = "put on hold" if action == "block" else "active again"
                messages.success(request, f"{client.client_id} is {verb}.")
                return redirect("risk:client_block", client_id=client.client_id)
    else:
        form = ReasonForm()
    from atlas.models import AuditEvent

    history = AuditEvent.objects.filter(
        client=client, action__in=["risk.block_client", "risk.unblock_client"]
    ).select_related("actor")[:20]
    return render(
        request,
        "risk/client_block.html",
        {
            "client": client,
            "form": form,
            "history": history,
            "can_block": has_role(request.user, RISK),
            "can_unblock": has_role(request.user, RISK, CREDIT),
        },
    )
