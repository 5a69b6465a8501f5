"""Reconciliation pages (issue 8): thin views over ``reconciliation.services`` and selectors.

Everyone with a role can look; importing, confirming and matching by hand are POST-only and
checked again in the services (finance; returns need ops, see docs/reconciliation.md).
"""

from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.http import require_GET, require_POST

from atlas.roles import ALL, FINANCE, has_role, require_roles
from reconciliation import selectors, services
from reconciliation.forms import ManualPayoutForm, ManualReceivablesForm, StatementUploadForm, UnmatchForm
from reconciliation.matching import unreconciled_payouts, window_days
from reconciliation.models import Direction, Match, Statement, StatementLine


def _can(request):
    return {
        "can_match": has_role(request.user, *services.MATCH_ROLES),
        "can_confirm": has_role(request.user, *services.CONFIRM_ROLES),
    }


@require_roles(*ALL)
@require_GET
def index(request):
    window = window_days()
    proposals = services.proposals_for(window=window)
    context = {
        "rate": selectors.match_rate(),
        "statements": selectors.statements()[:50],
        "form": StatementUploadForm(),
        "proposals": [p for p in proposals if p.matched],
        "unmatched": [p for p in proposals if not p.matched],
        "late_payouts": unreconciled_payouts(as_of=selectors.today(), window=window),
        "recent": selectors.recent_matches(),
        "window": window,
        **_can(request),
    }
    return render(request, "reconciliation/index.html", context)


@require_roles(FINANCE)
@require_POST
def upload(request):
    form = StatementUploadForm(request.POST, request.FILES)
    if not form.is_valid():
        for errors in form.errors.values():
            for e in errors:
                messages.error(request, e)
        return redirect("reconciliation:index")
    f = form.cleaned_data["file"]
    try:
        result = services.import_statement(content=f.read(), file_name=f.name, actor=request.user)
    except services.ReconciliationError as exc:
        messages.error(request, exc.message)
        return redirect("reconciliation:index")
    (messages.success if result.created else messages.info)(request, result.message)
    return redirect("reconciliation:statement", pk=result.statement.pk)


@require_roles(*ALL)
@require_GET
def statement_detail(request, pk: int):
    statement = get_object_or_404(Statement.objects.select_related("imported_by"), pk=pk)
    lines = list(selectors.statement_lines(statement))
    proposals = {p.line.pk: p for p in services.proposals_for(statement)}
    rows = [{"line": line, "matches": line.active_matches, "proposal": proposals.get(line.pk)} for line in lines]
    context = {
        "statement": statement,
        "rows": rows,
        "proposed_count": sum(1 for p in proposals.values() if p.matched),
        "unmatched_count": sum(1 for p in proposals.values() if not p.matched),
        "window": window_days(),
        "Direction": Direction,
        **_can(request),
    }
    return render(request, "reconciliation/statement_detail.html", context)


@require_roles(*services.CONFIRM_ROLES)
@require_POST
def confirm(request, pk: int):
    statement = get_object_or_404(Statement, pk=pk)
    accepted = {}
    for value in request.POST.getlist("accept"):
        line_pk, _, signature = value.partition("|")
        if line_pk.isdigit() and signature:
            accepted[int(line_pk)] = signature
    if not accepted:
        messages.warning(request, "No proposal was selected.")
        return redirect("reconciliation:statement", pk=pk)
    try:
        result = services.apply_proposals(actor=request.user, statement=statement, accepted=accepted)
    except PermissionDenied:
        raise
    if result.matches:
        messages.success(request, f"Booked {len(result.matches)} match(es) on {result.lines} line(s).")
    for text in result.problems + result.skipped:
        messages.error(request, text)
    return redirect("reconciliation:statement", pk=pk)


@require_roles(*services.MATCH_ROLES)
@require_POST
def manual_match(request, pk: int):
    line = get_object_or_404(StatementLine.objects.select_related("statement"), pk=pk)
    try:
        if "payout_id" in request.POST:
            form = ManualPayoutForm(request.POST)
            if form.is_valid():
                services.manual_match_payout(
                    line=line, payout=form.cleaned_data["payout_id"], actor=request.user, note=form.cleaned_data["note"]
                )
                messages.success(
                    request, f"Line {line.pk} matched to payout {form.cleaned_data['payout_id'].payout_id}."
                )
        else:
            form = ManualReceivablesForm(request.POST, currency=line.currency)
            if form.is_valid():
                matches = services.manual_match_receivables(
                    line=line,
                    allocations=form.cleaned_data["receivables"],
                    actor=request.user,
                    note=form.cleaned_data["note"],
                )
                messages.success(request, f"Line {line.pk}: {len(matches)} collection(s) booked.")
        if not form.is_valid():
            for errors in form.errors.values():
                for e in errors:
                    messages.error(request, f"Line {line.pk}: {e}")
    except services.ReconciliationError as exc:
        messages.error(request, f"Line {line.pk}: {exc.message}")
    return redirect("reconciliation:statement", pk=line.statement_id)


@require_roles(*services.MATCH_ROLES)
@require_POST
def unmatch(request, pk: int):
    match = get_object_or_404(Match.objects.select_related("line"), pk=pk)
    form = UnmatchForm(request.POST)
    if not form.is_valid():
        messages.error(request, "Give a reason to unmatch.")
    else:
        try:
            services.unmatch(match=match, actor=request.user, reason=form.cleaned_data["reason"])
            messages.success(request, f"Match {match.pk} undone.")
        except services.ReconciliationError as exc:
            messages.error(request, exc.message)
    return redirect("reconciliation:statement", pk=match.line.statement_id)
