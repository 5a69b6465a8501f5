"""Reconciliation pages (issue 8): thin views over ``reconciliation.services`` and selectors.

Everyone with a role can look; importing, confirming and matching by hand are POST-only and
checked again in the services (finance; returns need ops, see docs/reconciliation.md). A manual
match or an unmatch is a request (issue 10, four eyes) that another person decides on ``decide``:
a Credit Manager, or Settlement Operations for a return; never the requester (refused in the service).
"""

from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.http import require_GET, require_POST

from atlas.roles import ALL, FINANCE, has_role, require_roles
from reconciliation import selectors, services
from reconciliation.forms import (
    DecisionForm,
    ManualPayoutForm,
    ManualReceivablesForm,
    StatementUploadForm,
    UnmatchForm,
)
from reconciliation.matching import unreconciled_payouts, window_days
from reconciliation.models import Direction, Match, MatchRequest, Statement, StatementLine

PENDING_SHOWN = 200


def _can(request):
    return {
        "can_match": has_role(request.user, *services.MATCH_ROLES),
        "can_confirm": has_role(request.user, *services.CONFIRM_ROLES),
    }


def _decorate(requests, user) -> list[MatchRequest]:
    """Mark what the user may do with each pending request (the services check it again)."""
    requests = list(requests)
    for r in requests:
        r.decidable = services.can_decide(user, r)
        r.mine = r.requested_by_id == user.pk
    return requests


def _index_context(request, **extra) -> dict:
    window = window_days()
    proposals = services.proposals_for(window=window)
    pending = selectors.pending_requests()
    return {
        "rate": selectors.match_rate(),
        "statements": selectors.statements()[:50],
        "form": StatementUploadForm(),
        "proposals": [p for p in proposals if p.matched],
        "unmatched": [p for p in proposals if not p.matched],
        "late_payouts": unreconciled_payouts(as_of=selectors.today(), window=window),
        "recent": selectors.recent_matches(),
        "pending": _decorate(pending[:PENDING_SHOWN], request.user),
        "pending_total": pending.count(),
        "window": window,
        **_can(request),
        **extra,
    }


@require_roles(*ALL)
@require_GET
def index(request):
    return render(request, "reconciliation/index.html", _index_context(request))


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


def _statement_context(request, statement: Statement, **extra) -> dict:
    lines = list(selectors.statement_lines(statement))
    proposals = {p.line.pk: p for p in services.proposals_for(statement)}
    pending = _decorate(selectors.pending_requests(statement), request.user)
    by_line, by_match = {}, {}
    for r in pending:
        if r.kind == MatchRequest.Kind.UNMATCH:
            by_match[r.match_id] = r
        else:
            by_line[r.line_id] = r
    rows = []
    for line in lines:
        matches = line.active_matches
        for m in matches:
            m.pending_unmatch = by_match.get(m.pk)
        rows.append(
            {"line": line, "matches": matches, "proposal": proposals.get(line.pk), "request": by_line.get(line.pk)}
        )
    return {
        "statement": statement,
        "rows": rows,
        "pending": pending,
        "proposed_count": sum(1 for p in proposals.values() if p.matched),
        "unmatched_count": sum(1 for p in proposals.values() if not p.matched),
        "window": window_days(),
        "Direction": Direction,
        **_can(request),
        **extra,
    }


@require_roles(*ALL)
@require_GET
def statement_detail(request, pk: int):
    statement = get_object_or_404(Statement.objects.select_related("imported_by"), pk=pk)
    return render(request, "reconciliation/statement_detail.html", _statement_context(request, statement))


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


def _show_errors(request, statement: Statement, **bad):
    """Bad input: the statement page again, the form's errors beside its fields, nothing changed."""
    return render(request, "reconciliation/statement_detail.html", _statement_context(request, statement, **bad))


@require_roles(*services.MATCH_ROLES)
@require_POST
def manual_match(request, pk: int):
    """Ask for a manual match (four eyes: nothing is matched or booked until someone else approves)."""
    line = get_object_or_404(StatementLine.objects.select_related("statement"), pk=pk)
    if "payout_id" in request.POST:
        form = ManualPayoutForm(request.POST)
    else:
        form = ManualReceivablesForm(request.POST, currency=line.currency)
    if form.is_valid():
        try:
            if isinstance(form, ManualPayoutForm):
                req = services.request_payout_match(
                    line=line, payout=form.cleaned_data["payout_id"], actor=request.user, note=form.cleaned_data["note"]
                )
                what = f"payout {req.payout.payout_id}"
            else:
                req = services.request_receivables_match(
                    line=line,
                    allocations=form.cleaned_data["receivables"],
                    actor=request.user,
                    note=form.cleaned_data["note"],
                )
                what = f"{len(form.cleaned_data['receivables'])} collection(s)"
        except services.ReconciliationError as exc:
            form.add_error(None, exc.message)
        else:
            messages.success(
                request,
                f"Line {line.entry_index}: match to {what} requested; it waits for a second person to approve it.",
            )
            return redirect("reconciliation:statement", pk=line.statement_id)
    return _show_errors(request, line.statement, bad_line=line.pk, bad_form=form)


@require_roles(*services.MATCH_ROLES)
@require_POST
def unmatch(request, pk: int):
    """Ask to undo a payout match (four eyes, as a manual match)."""
    match = get_object_or_404(Match.objects.select_related("line__statement"), pk=pk)
    form = UnmatchForm(request.POST)
    if form.is_valid():
        try:
            services.request_unmatch(match=match, actor=request.user, reason=form.cleaned_data["reason"])
        except services.ReconciliationError as exc:
            form.add_error(None, exc.message)
        else:
            messages.success(request, f"Unmatch of match {match.pk} requested; it waits for a second person.")
            return redirect("reconciliation:statement", pk=match.line.statement_id)
    return _show_errors(request, match.line.statement, bad_match=match.pk, bad_form=form)


@require_roles(*services.ANY_DECIDER)
@require_POST
def decide(request, pk: int):
    """Approve (carry out) or reject a manual match request. The service checks the kind's role and four eyes."""
    req = get_object_or_404(MatchRequest.objects.select_related("line__statement"), pk=pk)
    form = DecisionForm(request.POST)
    on_index = request.POST.get("next") == "index"
    if form.is_valid():
        try:
            if form.cleaned_data["decision"] == "approve":
                services.approve_match_request(request=req, actor=request.user)
                messages.success(request, f"Request {req.pk} approved: {req.get_kind_display()} done.")
            else:
                services.reject_match_request(request=req, actor=request.user, reason=form.cleaned_data["reason"])
                messages.success(request, f"Request {req.pk} rejected: nothing changed.")
        except services.ReconciliationError as exc:
            form.add_error(None, exc.message)
        else:
            if on_index:
                return redirect("reconciliation:index")
            return redirect("reconciliation:statement", pk=req.line.statement_id)
    if on_index:
        return render(request, "reconciliation/index.html", _index_context(request, bad_request=req.pk, bad_form=form))
    return _show_errors(request, req.line.statement, bad_request=req.pk, bad_form=form)
