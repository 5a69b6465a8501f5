"""The double-entry ledger (DOMAIN.md section 4).

- :class:`Account`: a client's four subaccounts (``factoring``, ``settlement``,
  ``rolling_reserve``, ``partner_rr``) and the house accounts per currency. ``balance`` is the
  maintained balance, positive on the account's normal side; it changes only in
  ``ledger.services`` in the same transaction as the postings, and ``verify_ledger`` proves it
  equals the sum of the postings.
- :class:`JournalEntry`: one booked event, unique per ``(source_type, source_key)`` so that a
  source posts at most once.
- :class:`Posting`: one leg, a positive amount on a debit or credit side. ``balance_after`` is the
  account's balance after this posting (running balance for statements).
- :class:`ReserveTranche`: the reserve withheld by a collection, due ``hold_days`` later.

Entries and postings are never updated or deleted: the models refuse it, the admin is
read-only, and database triggers refuse it (both engines), see ``ledger/migrations``.
"""

from decimal import Decimal

from django.db import models
from django.db.models import Q

from clients.models import MONEY, Client, Currency


class Side(models.TextChoices):
    DEBIT = "D", "debit"
    CREDIT = "C", "credit"


class AccountKind(models.TextChoices):
    FACTORING = "factoring"
    SETTLEMENT = "settlement"
    ROLLING_RESERVE = "rolling_reserve"
    PARTNER_RR = "partner_rr"
    BANK = "bank"
    PARTNER_RECEIVABLE = "partner_receivable"
    FEE_INCOME = "fee_income"
    INTEREST_INCOME = "interest_income"
    ADJUSTMENTS = "adjustments"
    CREDIT_LOSSES = "credit_losses"


CLIENT_KINDS = (AccountKind.FACTORING, AccountKind.SETTLEMENT, AccountKind.ROLLING_RESERVE, AccountKind.PARTNER_RR)
HOUSE_KINDS = (
    AccountKind.BANK,
    AccountKind.PARTNER_RECEIVABLE,
    AccountKind.FEE_INCOME,
    AccountKind.INTEREST_INCOME,
    AccountKind.ADJUSTMENTS,
    AccountKind.CREDIT_LOSSES,
)
NORMAL_SIDE = {
    AccountKind.FACTORING: Side.DEBIT,
    AccountKind.SETTLEMENT: Side.CREDIT,
    AccountKind.ROLLING_RESERVE: Side.CREDIT,
    AccountKind.PARTNER_RR: Side.CREDIT,
    AccountKind.BANK: Side.DEBIT,
    AccountKind.PARTNER_RECEIVABLE: Side.DEBIT,
    AccountKind.FEE_INCOME: Side.CREDIT,
    AccountKind.INTEREST_INCOME: Side.CREDIT,
    # Adjustments: credited-to-clients amounts are an expense of the house (debit normal).
    AccountKind.ADJUSTMENTS: Side.DEBIT,
    AccountKind.CREDIT_LOSSES: Side.DEBIT,
}


class Account(models.Model):
    client = models.ForeignKey(Client, null=True, blank=True, on_delete=models.PROTECT, related_name="accounts")
    kind = models.CharField(max_length=32, choices=AccountKind.choices)
    currency = models.CharField(max_length=3, choices=Currency.choices)
    normal_side = models.CharField(max_length=1, choices=Side.choices)
    balance = models.DecimalField(**MONEY, default=Decimal("0.00"))
    posting_count = models.PositiveBigIntegerField(default=0)

    class Meta:
        ordering = ["client__client_id", "kind"]
        constraints = [
            models.UniqueConstraint(
                fields=["client", "kind"], condition=Q(client__isnull=False), name="account_client_kind"
            ),
            models.UniqueConstraint(
                fields=["currency", "kind"], condition=Q(client__isnull=True), name="account_house_kind"
            ),
        ]

    def __str__(self):
        owner = self.client.client_id if self.client_id else "house"
        return f"{owner}:{self.kind} ({self.currency})"

    @property
    def code(self) -> str:
        return f"{'c' if self.client_id else 'h'}:{self.kind}"


class EntryType(models.TextChoices):
    ADVANCE = "advance"
    COLLECTION = "collection"
    FEE = "fee"
    INTEREST = "interest"
    RESERVE_DRAWDOWN = "reserve_drawdown"
    RESERVE_TOPUP = "reserve_topup"
    PARTNER_RR_HOLD = "partner_rr_hold"
    PARTNER_RR_RELEASE = "partner_rr_release"
    ADJUSTMENT = "adjustment"
    RESERVE_RELEASE = "reserve_release"
    PAYOUT = "payout"
    PAYOUT_RETURN = "payout_return"
    WRITE_OFF = "write_off"
    REVERSAL = "reversal"


class SourceType(models.TextChoices):
    TRANSACTION = "transaction"
    TRANCHE = "tranche"
    PAYOUT = "payout"
    PAYOUT_RETURN = "payout_return"
    WRITE_OFF = "write_off"
    ADJUSTMENT = "adjustment"
    REVERSAL = "reversal"


class JournalEntry(models.Model):
    date = models.DateField(db_index=True)
    type = models.CharField(max_length=32, choices=EntryType.choices)
    currency = models.CharField(max_length=3, choices=Currency.choices)
    # No index of its own: (client, date) below serves every read by client.
    client = models.ForeignKey(
        Client, null=True, blank=True, on_delete=models.PROTECT, related_name="journal_entries", db_index=False
    )
    source_type = models.CharField(max_length=32, choices=SourceType.choices)
    source_key = models.CharField(max_length=64)
    transaction = models.ForeignKey(
        "clients.Transaction", null=True, blank=True, on_delete=models.PROTECT, related_name="journal_entries"
    )
    receivable = models.ForeignKey(
        "clients.Receivable", null=True, blank=True, on_delete=models.PROTECT, related_name="journal_entries"
    )
    amount = models.DecimalField(**MONEY, help_text="total of the debit legs")
    description = models.CharField(max_length=255, blank=True)
    reverses = models.ForeignKey("self", null=True, blank=True, on_delete=models.PROTECT, related_name="reversals")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["id"]
        verbose_name_plural = "journal entries"
        constraints = [
            models.UniqueConstraint(fields=["source_type", "source_key"], name="journal_entry_one_per_source"),
        ]
        indexes = [models.Index(fields=["client", "date"])]

    def __str__(self):
        return f"#{self.pk} {self.date} {self.type} ({self.source_type}:{self.source_key})"


class Posting(models.Model):
    entry = models.ForeignKey(JournalEntry, on_delete=models.PROTECT, related_name="postings")
    # No index of its own: (account, date) and (account, id) below serve every read by account.
    account = models.ForeignKey(Account, on_delete=models.PROTECT, related_name="postings", db_index=False)
    side = models.CharField(max_length=1, choices=Side.choices)
    amount = models.DecimalField(**MONEY)
    date = models.DateField()
    balance_after = models.DecimalField(**MONEY)

    class Meta:
        ordering = ["id"]
        constraints = [
            models.CheckConstraint(condition=Q(amount__gt=0), name="posting_amount_positive"),
            models.CheckConstraint(condition=Q(side__in=["D", "C"]), name="posting_side_valid"),
        ]
        indexes = [models.Index(fields=["account", "date"]), models.Index(fields=["account", "id"])]

    def __str__(self):
        return f"{self.side} {self.amount} {self.account}"

    @property
    def signed_amount(self) -> Decimal:
        """Amount as it moves the account's balance on its normal side."""
        return self.amount if self.side == self.account.normal_side else -self.amount


class ReserveTranche(models.Model):
    # No index of its own: (client, due_date) below serves every read by client.
    client = models.ForeignKey(Client, on_delete=models.PROTECT, related_name="reserve_tranches", db_index=False)
    transaction = models.OneToOneField("clients.Transaction", on_delete=models.PROTECT, related_name="reserve_tranche")
    amount = models.DecimalField(**MONEY)
    currency = models.CharField(max_length=3, choices=Currency.choices)
    created_on = models.DateField()
    due_date = models.DateField()
    released_entry = models.OneToOneField(
        JournalEntry, null=True, blank=True, on_delete=models.PROTECT, related_name="released_tranche"
    )
    released_on = models.DateField(null=True, blank=True)

    class Meta:
        ordering = ["due_date", "id"]
        indexes = [
            models.Index(fields=["client", "due_date"]),
            # Unreleased tranches per currency and due date, covering (risk.selectors.releases_due_by_currency).
            models.Index(
                fields=["currency", "due_date", "created_on", "amount", "released_entry"],
                condition=Q(released_entry__isnull=True),
                name="tranche_unreleased_idx",
            ),
        ]
        constraints = [models.CheckConstraint(condition=Q(amount__gt=0), name="tranche_amount_positive")]

    def __str__(self):
        return f"tranche {self.pk} {self.amount} {self.currency} due {self.due_date}"


class AdjustmentRequest(models.Model):
    """A manual adjustment or write-off asked for by one user and booked only when a Credit
    Manager other than the requester approves it (four eyes). See ``ledger/adjustments.py``."""

    class Kind(models.TextChoices):
        ADJUSTMENT = "adjustment"
        WRITE_OFF = "write_off", "write-off"

    class Status(models.TextChoices):
        PENDING = "pending"
        APPROVED = "approved"
        REJECTED = "rejected"

    kind = models.CharField(max_length=16, choices=Kind.choices)
    client = models.ForeignKey(Client, on_delete=models.PROTECT, related_name="adjustment_requests")
    receivable = models.ForeignKey(
        "clients.Receivable", null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    amount = models.DecimalField(**MONEY, help_text="signed for an adjustment; > 0 for a write-off")
    date = models.DateField()
    reason = models.TextField()
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.PENDING, db_index=True)
    requested_by = models.ForeignKey("auth.User", on_delete=models.PROTECT, related_name="+")
    requested_at = models.DateTimeField(auto_now_add=True)
    decided_by = models.ForeignKey("auth.User", null=True, blank=True, on_delete=models.PROTECT, related_name="+")
    decided_at = models.DateTimeField(null=True, blank=True)
    decision_reason = models.TextField(blank=True)
    entry = models.OneToOneField(
        JournalEntry, null=True, blank=True, on_delete=models.PROTECT, related_name="adjustment_request"
    )

    class Meta:
        ordering = ["-requested_at", "-id"]
        constraints = [
            models.CheckConstraint(condition=~Q(amount=0), name="adjustment_request_amount_not_zero"),
            models.CheckConstraint(
                condition=~Q(kind="write_off") | (Q(amount__gt=0) & Q(receivable__isnull=False)),
                name="adjustment_request_write_off_shape",
            ),
        ]

    def __str__(self):
        return f"{self.get_kind_display()} {self.amount} {self.client.client_id} ({self.status})"
