"""Reads for the reconciliation pages: constant query counts, whatever the number of rows."""

from __future__ import annotations

import datetime
from dataclasses import dataclass
from decimal import Decimal

from django.db.models import Count, Exists, OuterRef, Prefetch, Q

from atlas.money import round_ratio
from payouts.models import Payout
from reconciliation.matching import PAID_STATUSES
from reconciliation.models import Match, MatchRequest, MatchRequestAllocation, Statement, StatementLine


@dataclass
class MatchRate:
    lines: int
    matched_lines: int
    payouts: int
    reconciled_payouts: int

    @staticmethod
    def _pct(part: int, whole: int):
        return None if not whole else round_ratio(Decimal(part) / whole)

    @property
    def line_rate(self):
        return self._pct(self.matched_lines, self.lines)

    @property
    def payout_rate(self):
        return self._pct(self.reconciled_payouts, self.payouts)

    @staticmethod
    def _as_percent(ratio) -> str:
        return "—" if ratio is None else f"{ratio * 100:.2f} %"

    @property
    def line_percent(self) -> str:
        return self._as_percent(self.line_rate)

    @property
    def payout_percent(self) -> str:
        return self._as_percent(self.payout_rate)


def _active_match():
    return Match.objects.filter(line=OuterRef("pk"), active=True)


def match_rate() -> MatchRate:
    lines = StatementLine.objects.aggregate(
        total=Count("pk"),
        matched=Count("pk", filter=Q(Exists(_active_match()))),
    )
    reconciled = Match.objects.filter(payout=OuterRef("pk"), active=True, kind=Match.Kind.PAYOUT)
    payouts = Payout.objects.filter(status__in=PAID_STATUSES).aggregate(
        total=Count("pk"), reconciled=Count("pk", filter=Q(Exists(reconciled)))
    )
    return MatchRate(lines["total"], lines["matched"], payouts["total"], payouts["reconciled"])


def statements():
    matched = StatementLine.objects.filter(statement=OuterRef("pk")).filter(Exists(_active_match()))
    return (
        Statement.objects.select_related("imported_by")
        .annotate(
            lines_total=Count("lines", distinct=True),
            lines_matched=Count("lines", filter=Q(lines__in=matched.values("pk")), distinct=True),
        )
        .order_by("-imported_at", "-id")
    )


def statement_lines(statement: Statement):
    active = Match.objects.filter(active=True).select_related(
        "payout__client", "receivable__client", "transaction", "created_by", "request__requested_by"
    )
    return (
        StatementLine.objects.filter(statement=statement)
        .select_related("statement")
        .prefetch_related(Prefetch("matches", queryset=active, to_attr="active_matches"))
        .order_by("entry_index", "tx_index")
    )


def pending_requests(statement: Statement | None = None):
    """Manual matches and unmatches waiting for a second person (oldest first), with what the page shows."""
    allocations = MatchRequestAllocation.objects.select_related("receivable__client")
    qs = (
        MatchRequest.objects.filter(status=MatchRequest.Status.PENDING)
        .select_related("line__statement", "payout__client", "match__payout__client", "requested_by")
        .prefetch_related(Prefetch("allocations", queryset=allocations))
        .order_by("requested_at", "id")
    )
    if statement is not None:
        qs = qs.filter(line__statement=statement)
    return qs


def recent_matches(limit: int = 50):
    return Match.objects.select_related(
        "line__statement", "payout__client", "receivable__client", "created_by", "unmatched_by"
    ).order_by("-created_at", "-id")[:limit]


def today() -> datetime.date:
    from django.utils import timezone

    return timezone.localdate()
