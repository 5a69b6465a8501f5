"""Proof of the ledger's invariants (DOMAIN.md section 4), used by ``verify_ledger``.

Each check is one aggregate query, so verifying a million postings stays cheap. Returns a
list of violations as ``(code, message)``; an empty list means the ledger is sound.
"""

from __future__ import annotations

from decimal import Decimal

from django.db.models import Case, Count, DecimalField, F, Max, Q, Sum, Value, When
from django.db.models.functions import Coalesce

from atlas.money import ZERO, round_money
from clients.models import Transaction
from ledger.models import Account, JournalEntry, Posting, SourceType

MONEY = DecimalField(max_digits=20, decimal_places=2)
HALF_CENT = Decimal("0.005")


def _signed_sum(prefix: str = ""):
    return Coalesce(
        Sum(
            Case(
                When(**{f"{prefix}side": F(f"{prefix}account__normal_side")}, then=F(f"{prefix}amount")),
                default=-F(f"{prefix}amount"),
                output_field=MONEY,
            )
        ),
        Value(ZERO),
        output_field=MONEY,
    )


def verify() -> list[tuple[str, str]]:
    problems: list[tuple[str, str]] = []

    # 1. Every entry balances (debits = credits), in its own currency, with >= 2 postings.
    unbalanced = (
        Posting.objects.values("entry_id")
        .annotate(
            debit=Coalesce(Sum("amount", filter=Q(side="D")), Value(ZERO), output_field=MONEY),
            credit=Coalesce(Sum("amount", filter=Q(side="C")), Value(ZERO), output_field=MONEY),
            n=Count("id"),
        )
        .annotate(diff=F("debit") - F("credit"))
        # Amounts are whole cents; SQLite sums decimals as floats, so compare beyond half a cent.
        .filter(Q(diff__gt=HALF_CENT) | Q(diff__lt=-HALF_CENT) | Q(n__lt=2))
    )
    for row in unbalanced:
        problems.append(
            (
                "UNBALANCED_ENTRY",
                f"entry {row['entry_id']}: debits {row['debit']} ≠ credits {row['credit']} ({row['n']} postings)",
            )
        )
    empty = JournalEntry.objects.filter(postings__isnull=True).values_list("pk", flat=True)
    for pk in empty:
        problems.append(("EMPTY_ENTRY", f"entry {pk} has no postings"))
    mixed = (
        Posting.objects.exclude(account__currency=F("entry__currency")).values_list("entry_id", flat=True).distinct()
    )
    for pk in mixed:
        problems.append(("CURRENCY_MISMATCH", f"entry {pk} posts to an account in another currency"))
    wrong_amount = (
        JournalEntry.objects.annotate(debits=Sum("postings__amount", filter=Q(postings__side="D")))
        .annotate(diff=F("amount") - F("debits"))
        .filter(Q(diff__gt=HALF_CENT) | Q(diff__lt=-HALF_CENT))
        .values_list("pk", "amount", "debits")
    )
    for pk, amount, debits in wrong_amount:
        if debits is not None:
            problems.append(("ENTRY_AMOUNT", f"entry {pk}: amount {amount} ≠ its debits {debits}"))
    non_positive = Posting.objects.filter(amount__lte=0).values_list("pk", flat=True)
    for pk in non_positive:
        problems.append(("NON_POSITIVE_POSTING", f"posting {pk} has an amount ≤ 0"))

    # 2. Stored balances (and counts, and the last running balance) equal the postings.
    sums = {
        row["account_id"]: row
        for row in Posting.objects.values("account_id").annotate(total=_signed_sum(), n=Count("id"), last=Max("id"))
    }
    last_after = dict(
        Posting.objects.filter(pk__in=[r["last"] for r in sums.values()]).values_list("account_id", "balance_after")
    )
    for account in Account.objects.select_related("client").iterator(chunk_size=5000):
        row = sums.get(account.pk, {"total": ZERO, "n": 0})
        total = round_money(row["total"], account.currency)
        if account.balance != total:
            problems.append(
                (
                    "BALANCE_MISMATCH",
                    f"account {account.pk} {account}: stored {account.balance} ≠ postings {total}",
                )
            )
        if account.posting_count != row["n"]:
            problems.append(
                ("COUNT_MISMATCH", f"account {account.pk} {account}: stored count {account.posting_count} ≠ {row['n']}")
            )
        if row["n"] and last_after.get(account.pk) != account.balance:
            problems.append(
                (
                    "RUNNING_BALANCE",
                    f"account {account.pk} {account}: last running balance "
                    f"{last_after.get(account.pk)} ≠ balance {account.balance}",
                )
            )

    # 3. One entry per source, and every transaction booked exactly once.
    dupes = JournalEntry.objects.values("source_type", "source_key").annotate(n=Count("id")).filter(n__gt=1)
    for row in dupes:
        problems.append(("DUPLICATE_SOURCE", f"{row['source_type']}:{row['source_key']} posted {row['n']} times"))
    twice = (
        JournalEntry.objects.filter(source_type=SourceType.TRANSACTION)
        .values("transaction_id")
        .annotate(n=Count("id"))
        .filter(n__gt=1)
    )
    for row in twice:
        problems.append(("DUPLICATE_TRANSACTION", f"transaction {row['transaction_id']} booked {row['n']} times"))
    unbooked = Transaction.objects.exclude(
        pk__in=JournalEntry.objects.filter(source_type=SourceType.TRANSACTION).values("transaction_id")
    ).values_list("txn_id", flat=True)
    for txn_id in unbooked[:1000]:
        problems.append(("UNBOOKED_TRANSACTION", f"transaction {txn_id} has no journal entry"))
    return problems


def stats() -> dict:
    return {
        "entries": JournalEntry.objects.count(),
        "postings": Posting.objects.count(),
        "accounts": Account.objects.count(),
    }
