"""The matching engine: explicit rules, tried in order, that propose what each bank line settles.

Nothing here writes. :func:`propose` takes statement lines (saved or not) that have no active
match and returns one :class:`Proposal` per line: either a match (kind, rule, target) or the
reason no rule matched. ``reconciliation.services.apply_proposals`` books the proposals a user
confirmed.

Rules (docs/reconciliation.md):

1. ``end_to_end``: an outgoing (DBIT) line ↔ the executed payout with the same end-to-end id
   (``Payout.end_to_end_id``, set when the pain.001 file is built); amount and currency must agree.
2. ``amount_iban_date``: an outgoing line ↔ the executed payout with the same amount and
   currency, whose client's IBAN is the line's counterparty IBAN, executed within ± N days of the
   booking date (N = ``RECONCILIATION_WINDOW_DAYS``, default 3). The nearest date wins; a tie is
   left for a person.
   Returns: a reversal (``RvslInd``) or a line carrying return information whose end-to-end id is
   an executed payout's is that payout's ``return`` (full amount only).
3. ``invoice_remittance``: an incoming (CRDT) line ↔ the open receivables whose invoice numbers
   appear in the remittance text, when their open amounts add up to exactly the line amount
   (one line may pay several invoices; each becomes one collection).

A payout already reconciled (or claimed by an earlier line of the same run) is not proposed twice,
and a receivable's open amount is reduced by what earlier lines of the run allocate to it.
"""

from __future__ import annotations

import datetime
import itertools
import re
from collections import defaultdict
from dataclasses import dataclass, field
from decimal import Decimal

from django.conf import settings
from django.db.models import Exists, OuterRef, Q

from atlas.money import fmt
from clients.models import Receivable
from payouts.models import Payout, PayoutStatus
from reconciliation.models import Direction, Match, Rule, StatementLine
from reconciliation.parsers import normalize_iban

PAID_STATUSES = (PayoutStatus.EXECUTED, PayoutStatus.RETURNED)
MAX_COMBINATIONS = 256
TOKEN_RE = re.compile(r"[A-Za-z0-9](?:[A-Za-z0-9_\-/.]*[A-Za-z0-9])?")


def window_days() -> int:
    return int(getattr(settings, "RECONCILIATION_WINDOW_DAYS", 3))


@dataclass
class Allocation:
    receivable: Receivable
    amount: Decimal


@dataclass
class Proposal:
    line: StatementLine
    kind: str | None = None  # a Match.Kind, or None: no rule matched
    rule: str | None = None
    payout: Payout | None = None
    allocations: list[Allocation] = field(default_factory=list)
    reason: str = ""

    @property
    def matched(self) -> bool:
        return self.kind is not None

    @property
    def signature(self) -> str:
        """What a user confirms: the kind and the exact targets (checked again at confirmation)."""
        if self.kind in (Match.Kind.PAYOUT, Match.Kind.RETURN):
            return f"{self.kind}:{self.payout.pk}:{self.rule}"
        if self.kind == Match.Kind.COLLECTION:
            parts = ",".join(f"{a.receivable.pk}={a.amount}" for a in self.allocations)
            return f"{self.kind}:{parts}:{self.rule}"
        return ""

    @property
    def rule_label(self) -> str:
        return Rule(self.rule).label if self.rule else ""


def invoice_tokens(text: str) -> list[str]:
    """Candidate invoice numbers in a remittance text, in order, without repeats."""
    seen: dict[str, None] = {}
    for token in TOKEN_RE.findall(text or ""):
        seen.setdefault(token, None)
    return list(seen)


def _executed_on(payout: Payout) -> datetime.date | None:
    """The day the payout left: its batch's execution date (the pain.001 requested date), else ``executed_at``."""
    batch = payout.batch if payout.batch_id else None
    if batch is not None and batch.execution_date:
        return batch.execution_date
    return payout.executed_at.date() if payout.executed_at else None


def _is_return(line: StatementLine) -> bool:
    return bool(line.is_reversal or line.return_reason)


class _Run:
    """State shared by the rules during one call of :func:`propose`."""

    def __init__(self, lines: list[StatementLine], window: int):
        self.window = window
        self.claimed: dict[tuple[int, str], str] = {}  # (payout pk, kind) -> "line …" that holds it
        self.allocated: dict[int, Decimal] = defaultdict(Decimal)  # receivable pk -> allocated in this run

        e2es = {line.end_to_end_id for line in lines if line.end_to_end_id}
        self.by_e2e: dict[str, list[Payout]] = defaultdict(list)
        if e2es:
            for p in Payout.objects.filter(end_to_end_id__in=e2es).select_related("client", "batch"):
                self.by_e2e[p.end_to_end_id].append(p)

        outgoing = [line for line in lines if line.direction == Direction.DEBIT and not _is_return(line)]
        self.window_candidates: list[Payout] = []
        if outgoing:
            low = min(line.booking_date for line in outgoing) - datetime.timedelta(days=window + 1)
            high = max(line.booking_date for line in outgoing) + datetime.timedelta(days=window + 1)
            in_window = Q(batch__execution_date__gte=low, batch__execution_date__lte=high) | Q(
                executed_at__date__gte=low, executed_at__date__lte=high
            )
            self.window_candidates = list(
                Payout.objects.filter(
                    in_window, status__in=PAID_STATUSES, amount__in={line.amount for line in outgoing}
                )
                .select_related("client", "batch")
                .distinct()
            )

        payout_ids = {p.pk for ps in self.by_e2e.values() for p in ps} | {p.pk for p in self.window_candidates}
        self.existing: dict[tuple[int, str], int] = {}
        if payout_ids:
            for m in Match.objects.filter(active=True, payout_id__in=payout_ids).only("payout_id", "kind", "line_id"):
                self.existing[(m.payout_id, m.kind)] = m.line_id

        incoming = [line for line in lines if line.direction == Direction.CREDIT and not _is_return(line)]
        tokens = {t for line in incoming for t in invoice_tokens(line.remittance_info)}
        self.by_invoice: dict[str, list[Receivable]] = defaultdict(list)
        if tokens:
            query = Q(invoice_number__in=tokens) | Q(invoice_number__in={t.upper() for t in tokens})
            for r in Receivable.objects.filter(query).select_related("client", "debtor").order_by("pk"):
                self.by_invoice[r.invoice_number.upper()].append(r)

    def holder(self, payout: Payout, kind: str) -> str | None:
        if (payout.pk, kind) in self.existing:
            return f"line {self.existing[(payout.pk, kind)]}"
        return self.claimed.get((payout.pk, kind))

    def claim(self, proposal: Proposal) -> Proposal:
        label = f"line {proposal.line.pk}" if proposal.line.pk else f"entry {proposal.line.entry_index}"
        if proposal.payout is not None:
            self.claimed[(proposal.payout.pk, proposal.kind)] = f"{label} (this run)"
        for a in proposal.allocations:
            self.allocated[a.receivable.pk] += a.amount
        return proposal

    def open_amount(self, r: Receivable) -> Decimal:
        return r.open_amount - self.allocated[r.pk]


def propose(lines: list[StatementLine], *, window: int | None = None) -> list[Proposal]:
    """One proposal per line, in the order given. Queries: a fixed handful, whatever the count."""
    window = window_days() if window is None else window
    run = _Run(lines, window)
    results: dict[int, Proposal] = {}
    # Outgoing payouts first, then returns (a statement may hold a payout and its return), then collections.
    order = sorted(
        range(len(lines)),
        key=lambda i: (
            0
            if lines[i].direction == Direction.DEBIT and not _is_return(lines[i])
            else 1
            if _is_return(lines[i])
            else 2
        ),
    )
    for i in order:
        line = lines[i]
        if _is_return(line):
            results[i] = _propose_return(run, line)
        elif line.direction == Direction.DEBIT:
            results[i] = _propose_outgoing(run, line)
        else:
            results[i] = _propose_incoming(run, line)
    return [results[i] for i in range(len(lines))]


def _propose_outgoing(run: _Run, line: StatementLine) -> Proposal:
    reasons = []
    if line.end_to_end_id:
        payouts = run.by_e2e.get(line.end_to_end_id, [])
        if len(payouts) > 1:
            return Proposal(line, reason=f"end-to-end id {line.end_to_end_id} is on {len(payouts)} payouts")
        if payouts:
            p = payouts[0]
            if p.status not in PAID_STATUSES:
                return Proposal(line, reason=f"payout {p.payout_id} has this end-to-end id but is {p.status}")
            held = run.holder(p, Match.Kind.PAYOUT)
            if held:
                return Proposal(line, reason=f"payout {p.payout_id} is already reconciled with {held}")
            if p.amount != line.amount or p.currency != line.currency:
                return Proposal(
                    line,
                    reason=f"payout {p.payout_id} has this end-to-end id but is {fmt(p.amount)} {p.currency}, "
                    f"the line {fmt(line.amount)} {line.currency}",
                )
            return run.claim(
                Proposal(
                    line,
                    Match.Kind.PAYOUT,
                    Rule.END_TO_END,
                    payout=p,
                    reason=f"end-to-end id {line.end_to_end_id} = payout {p.payout_id}",
                )
            )
        reasons.append(f"no payout has end-to-end id {line.end_to_end_id}")
    if not line.counterparty_iban:
        reasons.append("no counterparty IBAN for the amount + IBAN + date rule")
        return Proposal(line, reason="; ".join(reasons))
    candidates = []
    for p in run.window_candidates:
        if p.amount != line.amount or p.currency != line.currency:
            continue
        if normalize_iban(p.client.iban) != line.counterparty_iban:
            continue
        if p.end_to_end_id and line.end_to_end_id and p.end_to_end_id != line.end_to_end_id:
            continue
        executed = _executed_on(p)
        distance = abs((executed - line.booking_date).days) if executed else None
        if distance is None or distance > run.window:
            continue
        if run.holder(p, Match.Kind.PAYOUT):
            continue
        candidates.append((distance, p))
    if not candidates:
        reasons.append(
            f"no unreconciled executed payout of {fmt(line.amount)} {line.currency} to {line.counterparty_iban} "
            f"within ±{run.window} days"
        )
        return Proposal(line, reason="; ".join(reasons))
    candidates.sort(key=lambda c: (c[0], c[1].pk))
    if len(candidates) > 1 and candidates[0][0] == candidates[1][0]:
        tied = ", ".join(p.payout_id for d, p in candidates if d == candidates[0][0])
        return Proposal(line, reason=f"several payouts fit equally well ({tied}): match manually")
    distance, p = candidates[0]
    return run.claim(
        Proposal(
            line,
            Match.Kind.PAYOUT,
            Rule.AMOUNT_IBAN_DATE,
            payout=p,
            reason=f"{fmt(line.amount)} {line.currency} to {line.counterparty_iban}, executed {distance} day(s) "
            f"from the booking date = payout {p.payout_id}",
        )
    )


def _propose_return(run: _Run, line: StatementLine) -> Proposal:
    what = "reversal" if line.is_reversal else f"return ({line.return_reason})"
    if not line.end_to_end_id:
        return Proposal(line, reason=f"{what} without an end-to-end id: match manually")
    payouts = run.by_e2e.get(line.end_to_end_id, [])
    if len(payouts) != 1:
        found = "no payout" if not payouts else f"{len(payouts)} payouts"
        return Proposal(line, reason=f"{what}: {found} with end-to-end id {line.end_to_end_id}")
    p = payouts[0]
    if p.status not in PAID_STATUSES:
        return Proposal(line, reason=f"{what} of payout {p.payout_id}, which is {p.status}, not executed")
    held = run.holder(p, Match.Kind.RETURN)
    if held:
        return Proposal(line, reason=f"payout {p.payout_id} is already returned with {held}")
    if p.amount != line.amount or p.currency != line.currency:
        return Proposal(
            line,
            reason=f"{what} of {fmt(line.amount)} {line.currency} for payout {p.payout_id} of {fmt(p.amount)} "
            f"{p.currency}: partial returns are handled manually",
        )
    note = " (already marked returned)" if p.status == PayoutStatus.RETURNED else ""
    return run.claim(
        Proposal(
            line,
            Match.Kind.RETURN,
            Rule.END_TO_END,
            payout=p,
            reason=f"{what} with end-to-end id {line.end_to_end_id} = payout {p.payout_id}{note}",
        )
    )


def _propose_incoming(run: _Run, line: StatementLine) -> Proposal:
    if line.end_to_end_id and any(p.status in PAID_STATUSES for p in run.by_e2e.get(line.end_to_end_id, [])):
        return Proposal(
            line,
            reason=f"incoming line carries the end-to-end id of payout "
            f"{run.by_e2e[line.end_to_end_id][0].payout_id} but no return information: check manually",
        )
    tokens = invoice_tokens(line.remittance_info)
    if not tokens:
        return Proposal(line, reason="no remittance text to find invoice numbers in")
    groups: list[list[Receivable]] = []
    seen: set[int] = set()
    for token in tokens:
        found = [
            r
            for r in run.by_invoice.get(token.upper(), [])
            if r.pk not in seen and r.currency == line.currency and run.open_amount(r) > 0
        ]
        if found:
            groups.append(found)
            seen.update(r.pk for r in found)
    if not groups:
        return Proposal(line, reason=f"no open {line.currency} invoice number found in '{line.remittance_info[:80]}'")
    size = 1
    for g in groups:
        size *= len(g)
    if size > MAX_COMBINATIONS:
        return Proposal(line, reason="too many receivables share these invoice numbers: match manually")
    fits = [combo for combo in itertools.product(*groups) if sum(run.open_amount(r) for r in combo) == line.amount]
    if not fits:
        listed = " + ".join(f"{g[0].invoice_number} {fmt(run.open_amount(g[0]))}" for g in groups)
        total = sum((run.open_amount(g[0]) for g in groups), Decimal("0"))
        ambiguous = " (some invoice numbers belong to several receivables)" if size > 1 else ""
        return Proposal(
            line,
            reason=f"open amounts {listed} = {fmt(total)} ≠ line {fmt(line.amount)}{ambiguous}",
        )
    if len(fits) > 1:
        return Proposal(line, reason="several receivables fit the invoice numbers and amount: match manually")
    combo = fits[0]
    allocations = [Allocation(r, run.open_amount(r)) for r in combo]
    invoices = ", ".join(
        f"{r.invoice_number} ({r.client.client_id}) {fmt(a.amount)}" for r, a in zip(combo, allocations, strict=True)
    )
    return run.claim(
        Proposal(
            line,
            Match.Kind.COLLECTION,
            Rule.INVOICE_REMITTANCE,
            allocations=allocations,
            reason=f"remittance names {invoices}; open amounts add up to {fmt(line.amount)}",
        )
    )


def unreconciled_payouts(*, as_of: datetime.date, window: int | None = None) -> list[tuple[Payout, str]]:
    """Executed (or since returned) payouts without a reconciling line, executed more than N days before ``as_of``."""
    window = window_days() if window is None else window
    cutoff = as_of - datetime.timedelta(days=window)
    reconciled = Match.objects.filter(payout=OuterRef("pk"), active=True, kind=Match.Kind.PAYOUT)
    payouts = (
        Payout.objects.filter(status__in=PAID_STATUSES)
        .filter(
            Q(batch__execution_date__lt=cutoff) | Q(batch__execution_date__isnull=True, executed_at__date__lt=cutoff)
        )
        .exclude(Exists(reconciled))
        .select_related("client", "batch")
        .order_by("executed_at", "pk")
    )
    out = []
    for p in payouts:
        ref = f"end-to-end id {p.end_to_end_id}" if p.end_to_end_id else "no end-to-end id"
        out.append(
            (
                p,
                f"executed {_executed_on(p)}, no bank line reconciles it ({ref}; amount {fmt(p.amount)} "
                f"{p.currency} to {p.client.iban or 'no IBAN'} within ±{window} days)",
            )
        )
    return out
