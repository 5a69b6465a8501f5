"""Every write of the reconciliation: statement import, confirming proposals, and the four-eyes manual
match / unmatch (a request by finance, carried out when another person approves it).

Keyword-only, atomic, raising :class:`ReconciliationError` with a human message; each change is
audited (``atlas.models.audit``) in the same transaction. Money moves only through the owners'
services: a return through ``payouts.services.payout_mark_returned`` (which books the reversal),
a collection as ``clients.Transaction`` rows booked by ``ledger.services.book_transactions``.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from decimal import Decimal

from django.core.exceptions import PermissionDenied
from django.db import IntegrityError, transaction

from atlas.models import audit
from atlas.money import fmt
from atlas.roles import CREDIT, FINANCE, OPS, check_role, has_role
from clients.models import Receivable, Transaction
from payouts.models import Payout, PayoutStatus
from reconciliation.matching import PAID_STATUSES, Allocation, Proposal, _is_return, propose
from reconciliation.models import (
    Direction,
    Match,
    MatchRequest,
    MatchRequestAllocation,
    Rule,
    Statement,
    StatementLine,
)
from reconciliation.parsers import ParsedStatement, StatementError, parse_statement

# Who may import statements, confirm proposals and match by hand. Marking a payout returned is
# the payouts service's decision (Settlement Operations, DOMAIN.md section 1).
MATCH_ROLES = (FINANCE,)
CONFIRM_ROLES = (FINANCE, OPS)
STATEMENT_SOURCE = "statement"


class ReconciliationError(Exception):
    """A reconciliation action that is not allowed; ``message`` is shown to the user."""

    def __init__(self, message: str):
        super().__init__(message)
        self.message = message


@dataclass
class ImportResult:
    statement: Statement
    created: bool
    new_lines: int = 0
    duplicates: list[str] = field(default_factory=list)

    @property
    def message(self) -> str:
        if not self.created:
            when = f"{self.statement.imported_at:%Y-%m-%d %H:%M}"
            return f"{self.statement.file_name} was already imported ({when}): nothing added."
        dup = f"; {len(self.duplicates)} already imported from another file" if self.duplicates else ""
        skipped = (
            f"; {len(self.statement.skipped) - len(self.duplicates)} not booked"
            if len(self.statement.skipped) > len(self.duplicates)
            else ""
        )
        return f"Imported {self.statement.file_name}: {self.new_lines} line(s){dup}{skipped}."


@dataclass
class ApplyResult:
    matches: list[Match] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)
    skipped: list[str] = field(default_factory=list)

    @property
    def lines(self) -> int:
        return len({m.line_id for m in self.matches})


def sha256_of(content: bytes) -> str:
    return hashlib.sha256(content).hexdigest()


def _line_objects(parsed: ParsedStatement, statement: Statement) -> list[StatementLine]:
    return [
        StatementLine(
            statement=statement,
            entry_index=p.entry_index,
            tx_index=p.tx_index,
            booking_date=p.booking_date,
            value_date=p.value_date,
            amount=p.amount,
            currency=p.currency,
            direction=p.direction,
            is_reversal=p.is_reversal,
            return_reason=p.return_reason,
            counterparty_name=p.counterparty_name,
            counterparty_iban=p.counterparty_iban,
            end_to_end_id=p.end_to_end_id,
            remittance_info=p.remittance_info,
            bank_reference=p.bank_reference,
        )
        for p in parsed.lines
    ]


def _split_known(lines: list[StatementLine]) -> tuple[list[StatementLine], list[str]]:
    refs = {line.bank_reference for line in lines if line.bank_reference}
    known = set(StatementLine.objects.filter(bank_reference__in=refs).values_list("bank_reference", flat=True))
    fresh, dupes, seen = [], [], set()
    for line in lines:
        ref = line.bank_reference
        if ref and (ref in known or ref in seen):
            dupes.append(f"entry {line.entry_index}: bank reference {ref} already imported")
            continue
        if ref:
            seen.add(ref)
        fresh.append(line)
    return fresh, dupes


def _statement_for(parsed: ParsedStatement, *, file_name: str, sha256: str, actor) -> Statement:
    return Statement(
        file_name=file_name[:255],
        sha256=sha256,
        format=parsed.format,
        message_id=parsed.message_id[:64],
        statement_ids=", ".join(parsed.statement_ids)[:255],
        account_iban=parsed.account_iban[:34],
        imported_by=actor if getattr(actor, "pk", None) else None,
    )


@dataclass
class Preview:
    """A dry run: what importing the file would add and propose. Nothing is written."""

    statement: Statement
    already_imported: Statement | None
    lines: list[StatementLine]
    duplicates: list[str]
    proposals: list[Proposal]
    skipped: list[str]


def preview_statement(*, content: bytes, file_name: str, window: int | None = None) -> Preview:
    parsed = parse_statement(content, file_name)
    sha = sha256_of(content)
    existing = Statement.objects.filter(sha256=sha).first()
    statement = _statement_for(parsed, file_name=file_name, sha256=sha, actor=None)
    lines, dupes = _split_known(_line_objects(parsed, statement)) if existing is None else ([], [])
    return Preview(statement, existing, lines, dupes, propose(lines, window=window), parsed.skipped)


def import_statement(*, content: bytes, file_name: str, actor=None) -> ImportResult:
    """Parse and store a statement and its lines (no money moves). The same file twice adds nothing.

    Raises :class:`ReconciliationError` (one line) for a malformed file; nothing is written then.
    """
    if actor is not None:
        check_role(actor, *MATCH_ROLES)
    sha = sha256_of(content)
    existing = Statement.objects.filter(sha256=sha).first()
    if existing is not None:
        return ImportResult(existing, created=False)
    try:
        parsed = parse_statement(content, file_name)
    except StatementError as exc:
        raise ReconciliationError(f"{file_name}: {exc}") from None
    try:
        with transaction.atomic():
            statement = _statement_for(parsed, file_name=file_name, sha256=sha, actor=actor)
            statement.save()
            lines, dupes = _split_known(_line_objects(parsed, statement))
            StatementLine.objects.bulk_create(lines)
            statement.line_count = len(lines)
            statement.skipped = parsed.skipped + dupes
            statement.save(update_fields=["line_count", "skipped"])
            audit(
                actor=actor,
                action="statement.import",
                obj=statement,
                after={"file": statement.file_name, "sha256": sha, "lines": len(lines), "duplicates": len(dupes)},
            )
    except IntegrityError:
        # Someone imported the same file (or the same bank entries) at the same moment.
        existing = Statement.objects.filter(sha256=sha).first()
        if existing is not None:
            return ImportResult(existing, created=False)
        raise ReconciliationError(f"{file_name}: some entries were imported concurrently; import it again") from None
    return ImportResult(statement, created=True, new_lines=len(lines), duplicates=dupes)


# ------------------------------------------------------------------------------------------- proposals


def unmatched_lines(statement: Statement | None = None):
    """Lines without an active match (oldest first), statement loaded."""
    qs = StatementLine.objects.exclude(matches__active=True).select_related("statement")
    if statement is not None:
        qs = qs.filter(statement=statement)
    return qs.order_by("booking_date", "statement_id", "entry_index", "tx_index")


def proposals_for(statement: Statement | None = None, *, window: int | None = None) -> list[Proposal]:
    return propose(list(unmatched_lines(statement)), window=window)


def apply_proposals(
    *,
    actor,
    statement: Statement | None = None,
    accepted: dict[int, str] | None = None,
    window: int | None = None,
) -> ApplyResult:
    """Book the proposals of the statement's unmatched lines.

    ``accepted`` maps line pk → the proposal signature the user saw; only those are applied, and
    only if the engine still proposes exactly that (otherwise the line is listed as changed).
    ``None`` applies every proposal (the command's ``--confirm``). Each line is applied in its own
    transaction, so one refused booking does not undo the others; problems are reported.
    """
    check_role(actor, *CONFIRM_ROLES)
    qs = unmatched_lines(statement)
    if accepted is not None:
        qs = qs.filter(pk__in=list(accepted))
    result = ApplyResult()
    for proposal in propose(list(qs), window=window):
        if not proposal.matched:
            continue
        line = proposal.line
        if accepted is not None and accepted.get(line.pk) != proposal.signature:
            result.skipped.append(f"line {line.pk}: the proposal changed since it was shown; review it again")
            continue
        try:
            result.matches.extend(_apply(proposal, actor=actor, rule=proposal.rule, note=proposal.reason))
        except ReconciliationError as exc:
            result.problems.append(f"line {line.pk}: {exc.message}")
    return result


def _lock_line(line: StatementLine) -> StatementLine:
    locked = StatementLine.objects.select_for_update().select_related("statement").get(pk=line.pk)
    _check_unmatched(locked)
    return locked


def _check_unmatched(line: StatementLine) -> None:
    if line.matches.filter(active=True).exists():
        raise ReconciliationError(f"line {line.pk} is already matched")


def _apply(proposal: Proposal, *, actor, rule: str, note: str) -> list[Match]:
    if proposal.kind == Match.Kind.COLLECTION:
        return _book_collections(proposal.line, proposal.allocations, actor=actor, rule=rule, note=note)
    if proposal.kind == Match.Kind.RETURN:
        return [_record_return(proposal.line, proposal.payout, actor=actor, rule=rule, note=note)]
    return [_record_payout(proposal.line, proposal.payout, actor=actor, rule=rule, note=note)]


def _payout_match(
    line: StatementLine, p: Payout, kind: str, action: str, *, actor, rule: str, note: str, request=None
) -> Match:
    """Record a line ↔ payout match (reconciled or returned) and its audit row."""
    match = Match.objects.create(
        line=line,
        kind=kind,
        rule=rule,
        payout=p,
        amount=line.amount,
        note=note,
        created_by=_user(actor),
        request=request,
    )
    after = {"kind": kind, "rule": rule, "payout": p.payout_id, "line": line.pk, "amount": fmt(line.amount)}
    if request is not None:
        after |= {"request": request.pk, "requested_by": request.requested_by.username}
    audit(actor=actor, action=action, obj=match, client=p.client, after=after, reason=note)
    return match


# The checks below run twice for a manual match: when it is requested (no lock, so the requester hears
# at once what is wrong) and when it is approved (under the locks, since the data may have changed).


def _check_payout_match(line: StatementLine, p: Payout) -> None:
    if p.status not in PAID_STATUSES:
        raise ReconciliationError(f"payout {p.payout_id} is {p.status}, not executed")
    if line.direction != Direction.DEBIT or _is_return(line):
        raise ReconciliationError("only an outgoing (DBIT) line that is not a return can reconcile a payout")
    if p.amount != line.amount or p.currency != line.currency:
        raise ReconciliationError(
            f"payout {p.payout_id} is {fmt(p.amount)} {p.currency}, the line {fmt(line.amount)} {line.currency}"
        )
    if Match.objects.filter(payout=p, kind=Match.Kind.PAYOUT, active=True).exists():
        raise ReconciliationError(f"payout {p.payout_id} is already reconciled")


def _check_return_match(line: StatementLine, p: Payout) -> None:
    if p.amount != line.amount or p.currency != line.currency:
        raise ReconciliationError(
            f"payout {p.payout_id} is {fmt(p.amount)} {p.currency}, the return {fmt(line.amount)} {line.currency}"
        )
    if Match.objects.filter(payout=p, kind=Match.Kind.RETURN, active=True).exists():
        raise ReconciliationError(f"payout {p.payout_id} already has its return line")
    if p.status not in PAID_STATUSES:
        raise ReconciliationError(f"payout {p.payout_id} is {p.status}: only an executed payout can be returned")


def _record_payout(line: StatementLine, payout: Payout, *, actor, rule: str, note: str, request=None) -> Match:
    with transaction.atomic():
        line = _lock_line(line)
        p = Payout.objects.select_for_update().get(pk=payout.pk)
        _check_payout_match(line, p)
        match = _payout_match(
            line, p, Match.Kind.PAYOUT, "reconciliation.match", actor=actor, rule=rule, note=note, request=request
        )
    return match


def _record_return(line: StatementLine, payout: Payout, *, actor, rule: str, note: str, request=None) -> Match:
    from payouts.services import PayoutError, payout_mark_returned

    with transaction.atomic():
        line = _lock_line(line)
        p = Payout.objects.select_for_update().select_related("client").get(pk=payout.pk)
        _check_return_match(line, p)
        if p.status == PayoutStatus.EXECUTED:
            if not has_role(actor, OPS):
                raise ReconciliationError(
                    f"marking payout {p.payout_id} returned needs Settlement Operations (ops); "
                    "ask them to confirm this line"
                )
            reason = f"bank return {line.return_reason or 'reversal'} · statement line {line.pk} ({line.provenance})"
            try:
                payout_mark_returned(payout=p, actor=actor, reason=reason, date=line.booking_date)
            except PayoutError as exc:
                raise ReconciliationError(exc.message) from None
            except PermissionDenied as exc:
                raise ReconciliationError(str(exc)) from None
        match = _payout_match(
            line, p, Match.Kind.RETURN, "reconciliation.return", actor=actor, rule=rule, note=note, request=request
        )
    return match


def _check_allocations(line: StatementLine, allocations: list[Allocation], receivables: dict) -> None:
    """``receivables``: pk → Receivable (client loaded), read fresh by the caller."""
    if not allocations:
        raise ReconciliationError("no receivable to collect")
    if line.direction != Direction.CREDIT or _is_return(line):
        raise ReconciliationError("only an incoming (CRDT) line that is not a return can collect receivables")
    total = sum((a.amount for a in allocations), Decimal("0"))
    if total != line.amount:
        raise ReconciliationError(f"allocations add up to {fmt(total)}, the line is {fmt(line.amount)}")
    if len({a.receivable.pk for a in allocations}) != len(allocations):
        raise ReconciliationError("a receivable appears twice")
    for a in allocations:
        r = receivables[a.receivable.pk]
        if r.currency != line.currency:
            raise ReconciliationError(f"receivable {r.receivable_id} is in {r.currency}, the line in {line.currency}")
        if a.amount <= 0 or a.amount > r.open_amount:
            raise ReconciliationError(
                f"{fmt(a.amount)} for receivable {r.receivable_id} ({r.invoice_number}) exceeds its open amount "
                f"{fmt(r.open_amount)}"
            )


def _receivables_of(allocations: list[Allocation]) -> dict:
    pks = {a.receivable.pk for a in allocations}
    return {r.pk: r for r in Receivable.objects.select_related("client").filter(pk__in=pks)}


def _book_collections(
    line: StatementLine, allocations: list[Allocation], *, actor, rule: str, note: str, request=None
) -> list[Match]:
    from ledger.services import LedgerError, book_transactions

    if not allocations:
        raise ReconciliationError("no receivable to collect")
    with transaction.atomic():
        line = _lock_line(line)
        # Read without a lock here: book_transactions locks the accounts and then the receivables (the ledger's
        # lock order); the open amounts are checked again under its locks once booked.
        receivables = _receivables_of(allocations)
        _check_allocations(line, allocations, receivables)
        pks = sorted(receivables)
        txns = []
        for n, a in enumerate(allocations, start=1):
            r = receivables[a.receivable.pk]
            txns.append(
                Transaction(
                    txn_id=f"BANK-{line.pk}-{n}",
                    date=line.booking_date,
                    client=r.client,
                    type=Transaction.Type.COLLECTION,
                    amount=a.amount,
                    currency=r.currency,
                    receivable=r,
                    reference=(line.bank_reference or f"statement line {line.pk}")[:255],
                    source_sheet=STATEMENT_SOURCE,
                    source_row=line.entry_index,
                )
            )
        try:
            with transaction.atomic():
                for t in txns:
                    t.save()
        except IntegrityError:
            raise ReconciliationError(f"collections for line {line.pk} already exist (BANK-{line.pk}-…)") from None
        try:
            book_transactions(txns)
        except LedgerError as exc:
            raise ReconciliationError(f"the ledger refused the collection: {exc.message}") from None
        for r in Receivable.objects.filter(pk__in=pks):
            if r.collected + r.written_off > r.face_value:
                raise ReconciliationError(
                    f"receivable {r.receivable_id} ({r.invoice_number}) changed meanwhile: the collection would "
                    f"exceed its open amount"
                )
        matches = []
        for t in txns:
            r = receivables[t.receivable_id]
            match = Match.objects.create(
                line=line,
                kind=Match.Kind.COLLECTION,
                rule=rule,
                receivable=r,
                transaction=t,
                amount=t.amount,
                note=note,
                created_by=_user(actor),
                request=request,
            )
            after = {
                "kind": match.kind,
                "rule": rule,
                "receivable": r.receivable_id,
                "invoice": r.invoice_number,
                "transaction": t.txn_id,
                "line": line.pk,
                "amount": fmt(t.amount),
            }
            if request is not None:
                after |= {"request": request.pk, "requested_by": request.requested_by.username}
            audit(actor=actor, action="reconciliation.collection", obj=match, client=r.client, after=after, reason=note)
            matches.append(match)
    return matches


def _user(actor):
    return actor if getattr(actor, "pk", None) else None


# ------------------------------------------------------------------------------- manual: four eyes
#
# A manual match or an unmatch overrides what the matcher proposed (or left unmatched). Finance asks
# (``request_*``: nothing changes in the ledger or in the matches); another person approves
# (:func:`approve_match_request`), which performs the override in the same transaction under row locks
# with every check run again, or rejects it with a reason (:func:`reject_match_request`).

REQUEST_ROLES = MATCH_ROLES
# Who decides: a Credit Manager approves overrides (DOMAIN.md section 1, as for adjustments and limit
# increases); a return marks the payout returned and books its reversal, which is Settlement Operations'
# action (DOMAIN.md section 1; ``payout_mark_returned`` checks ``ops``), so ops decides returns.
DECIDE_ROLES = {
    MatchRequest.Kind.PAYOUT: (CREDIT,),
    MatchRequest.Kind.COLLECTION: (CREDIT,),
    MatchRequest.Kind.UNMATCH: (CREDIT,),
    MatchRequest.Kind.RETURN: (OPS,),
}
ANY_DECIDER = (CREDIT, OPS)


def can_decide(user, req: MatchRequest) -> bool:
    """The user holds the deciding role of the request's kind and did not ask for it (four eyes)."""
    return req.is_pending and req.requested_by_id != user.pk and has_role(user, *DECIDE_ROLES[req.kind])


def _note(note: str, default: str = "manual match") -> str:
    return (note or "").strip() or default


def _payout_kind(line: StatementLine) -> str:
    """What matching ``line`` to a payout means: its return (a return line) or its reconciliation."""
    if _is_return(line) or (line.direction == Direction.CREDIT and line.end_to_end_id):
        return MatchRequest.Kind.RETURN
    if line.direction == Direction.CREDIT:
        raise ReconciliationError("an incoming line without return information cannot be matched to a payout")
    return MatchRequest.Kind.PAYOUT


def _create_request(*, actor, audit_after: dict, allocations=(), **fields) -> MatchRequest:
    try:
        with transaction.atomic():
            req = MatchRequest.objects.create(requested_by=actor, **fields)
            MatchRequestAllocation.objects.bulk_create(
                MatchRequestAllocation(request=req, position=n, receivable=a.receivable, amount=a.amount)
                for n, a in enumerate(allocations, start=1)
            )
            audit(
                actor=actor,
                action="reconciliation.request",
                obj=req,
                client=audit_after.pop("_client", None),
                after={"kind": req.kind, "line": req.line_id, **audit_after},
                reason=req.note,
            )
    except IntegrityError:
        line = fields["line"]
        if fields["kind"] == MatchRequest.Kind.UNMATCH:
            raise ReconciliationError(f"match {fields['match'].pk} already has a pending unmatch request") from None
        raise ReconciliationError(f"line {line.pk} already has a pending request; approve or reject it first") from None
    return req


def request_payout_match(*, line: StatementLine, payout: Payout, actor, note: str = "") -> MatchRequest:
    """Finance asks to match a line to a payout by hand: an outgoing line reconciles it, a return returns it.

    Nothing is matched or booked until another person approves (:func:`approve_match_request`).
    """
    check_role(actor, *REQUEST_ROLES)
    kind = _payout_kind(line)
    _check_unmatched(line)
    p = Payout.objects.select_related("client").get(pk=payout.pk)
    (_check_return_match if kind == MatchRequest.Kind.RETURN else _check_payout_match)(line, p)
    return _create_request(
        actor=actor,
        kind=kind,
        line=line,
        payout=p,
        note=_note(note),
        audit_after={"payout": p.payout_id, "amount": fmt(line.amount), "_client": p.client},
    )


def request_receivables_match(
    *, line: StatementLine, allocations: list[tuple[Receivable, Decimal]], actor, note: str = ""
) -> MatchRequest:
    """Finance asks to book an incoming line as collections of receivables (one per allocation)."""
    check_role(actor, *REQUEST_ROLES)
    allocs = [Allocation(r, Decimal(a)) for r, a in allocations]
    _check_unmatched(line)
    receivables = _receivables_of(allocs)
    _check_allocations(line, allocs, receivables)
    clients = {receivables[a.receivable.pk].client for a in allocs}
    return _create_request(
        actor=actor,
        kind=MatchRequest.Kind.COLLECTION,
        line=line,
        note=_note(note),
        allocations=allocs,
        audit_after={
            "allocations": [[receivables[a.receivable.pk].receivable_id, fmt(a.amount)] for a in allocs],
            "_client": clients.pop() if len(clients) == 1 else None,
        },
    )


def _check_unmatchable(m: Match) -> None:
    if not m.active:
        raise ReconciliationError(f"match {m.pk} is already undone")
    if m.kind != Match.Kind.PAYOUT:
        raise ReconciliationError(
            f"a {m.get_kind_display()} moved money in the ledger and cannot be unmatched; correct it with an adjustment"
        )


def request_unmatch(*, match: Match, actor, reason: str) -> MatchRequest:
    """Finance asks to undo a payout reconciliation (no money had moved). Booked collections and returns are
    final."""
    check_role(actor, *REQUEST_ROLES)
    reason = (reason or "").strip()
    if not reason:
        raise ReconciliationError("Give a reason to unmatch.")
    m = Match.objects.select_related("payout__client").get(pk=match.pk)
    _check_unmatchable(m)
    return _create_request(
        actor=actor,
        kind=MatchRequest.Kind.UNMATCH,
        line=m.line,
        match=m,
        note=reason,
        audit_after={"match": m.pk, "payout": m.payout.payout_id, "_client": m.payout.client},
    )


def _unmatch(req: MatchRequest, *, actor) -> Match:
    from django.utils import timezone

    m = Match.objects.select_for_update(of=("self",)).select_related("payout__client", "line").get(pk=req.match_id)
    _check_unmatchable(m)
    m.active = False
    m.unmatched_at = timezone.now()
    m.unmatched_by = _user(actor)
    m.unmatch_reason = req.note
    m.save(update_fields=["active", "unmatched_at", "unmatched_by", "unmatch_reason"])
    audit(
        actor=actor,
        action="reconciliation.unmatch",
        obj=m,
        client=m.payout.client if m.payout_id else None,
        before={
            "kind": m.kind,
            "rule": m.rule,
            "payout": m.payout.payout_id if m.payout_id else None,
            "line": m.line_id,
        },
        after={"active": False, "request": req.pk, "requested_by": req.requested_by.username},
        reason=req.note,
    )
    return m


def _locked_request(request: MatchRequest) -> MatchRequest:
    return (
        MatchRequest.objects.select_for_update(of=("self",))
        .select_related("line__statement", "payout", "requested_by")
        .get(pk=request.pk)
    )


def approve_match_request(*, request: MatchRequest, actor) -> MatchRequest:
    """Carry out the request: exactly what the single manual step did before, in one transaction.

    The approver holds the kind's deciding role (:data:`DECIDE_ROLES`) and is not the requester (four
    eyes). The request row is locked first, then the line, the payout or the accounts and receivables
    (as a confirmed proposal locks them); the state is checked again under the locks. Approving an
    approved request does nothing more.
    """
    from django.utils import timezone

    check_role(actor, *DECIDE_ROLES[request.kind])
    with transaction.atomic():
        req = _locked_request(request)
        if req.status == MatchRequest.Status.APPROVED:
            return req  # already done: nothing more to book
        if req.status != MatchRequest.Status.PENDING:
            raise ReconciliationError(f"This request is {req.status}; only a pending request can be approved.")
        if req.requested_by_id == actor.pk:
            raise ReconciliationError("Four eyes: you asked for this, so another person must approve it.")
        if req.kind == MatchRequest.Kind.UNMATCH:
            done = {"match": _unmatch(req, actor=actor).pk}
        elif req.kind == MatchRequest.Kind.COLLECTION:
            allocs = [Allocation(a.receivable, a.amount) for a in req.allocations.select_related("receivable__client")]
            matches = _book_collections(req.line, allocs, actor=actor, rule=Rule.MANUAL, note=req.note, request=req)
            done = {"matches": [m.pk for m in matches]}
        else:
            record = _record_return if req.kind == MatchRequest.Kind.RETURN else _record_payout
            done = {"match": record(req.line, req.payout, actor=actor, rule=Rule.MANUAL, note=req.note, request=req).pk}
        req.status = MatchRequest.Status.APPROVED
        req.decided_by, req.decided_at = actor, timezone.now()
        req.save(update_fields=["status", "decided_by", "decided_at"])
        audit(
            actor=actor,
            action="reconciliation.request_approved",
            obj=req,
            before={"status": "pending"},
            after={"status": "approved", "kind": req.kind, "requested_by": req.requested_by.username, **done},
        )
    return req


def reject_match_request(*, request: MatchRequest, actor, reason: str) -> MatchRequest:
    """Refuse the request with a reason: nothing is matched, booked or undone."""
    from django.utils import timezone

    check_role(actor, *DECIDE_ROLES[request.kind])
    reason = (reason or "").strip()
    if not reason:
        raise ReconciliationError("Give a reason to reject.")
    with transaction.atomic():
        req = _locked_request(request)
        if req.status != MatchRequest.Status.PENDING:
            raise ReconciliationError(f"This request is {req.status}; only a pending request can be rejected.")
        req.status = MatchRequest.Status.REJECTED
        req.decided_by, req.decided_at, req.decision_reason = actor, timezone.now(), reason
        req.save(update_fields=["status", "decided_by", "decided_at", "decision_reason"])
        audit(
            actor=actor,
            action="reconciliation.request_rejected",
            obj=req,
            before={"status": "pending"},
            after={"status": "rejected", "kind": req.kind, "requested_by": req.requested_by.username},
            reason=reason,
        )
    return req
