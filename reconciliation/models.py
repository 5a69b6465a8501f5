"""Bank statements and their matches to payouts and collections (issue 8, docs/reconciliation.md).

- :class:`Statement`: one imported bank file (camt.053 or the CSV layout), unique on its SHA-256,
  so re-importing the same file adds nothing.
- :class:`StatementLine`: one booked bank transaction of that file, with its provenance (file,
  entry index, transaction index inside a batch entry). ``bank_reference`` (the bank's
  ``AcctSvcrRef`` or the CSV ``reference``) is unique where given, so an entry that reappears in
  another file is not imported twice. Amounts are positive; ``direction`` says which way money moved.
- :class:`Match`: the link of a line to what it settles, with the rule that found it
  (``end_to_end``, ``amount_iban_date``, ``invoice_remittance``, ``manual``):
  ``payout`` (an executed payout reconciled: not a payout state), ``return`` (the bank returned
  the payout, which the payouts service marks ``returned``) or ``collection`` (one open
  receivable paid by the line; the booked ``clients.Transaction`` is linked). Matches are never
  deleted: an unmatch sets ``active=False`` with who, when and why.
- :class:`MatchRequest` (issue 10, four eyes): a manual match (to a payout, a return, or
  receivables via :class:`MatchRequestAllocation` rows) or an unmatch asked for by one user. It
  changes nothing until another user approves it; the approval creates (or deactivates) the
  ``Match`` rows, which point back to the request.

Writes live in ``reconciliation.services``; the rules in ``reconciliation.matching``.
"""

from django.conf import settings
from django.db import models
from django.db.models import Q

from clients.models import MONEY, Currency


class Statement(models.Model):
    class Format(models.TextChoices):
        CAMT053 = "camt053", "camt.053"
        CSV = "csv", "CSV"

    file_name = models.CharField(max_length=255)
    sha256 = models.CharField(max_length=64, unique=True)
    format = models.CharField(max_length=16, choices=Format.choices)
    message_id = models.CharField(max_length=64, blank=True, help_text="camt GrpHdr/MsgId")
    statement_ids = models.CharField(max_length=255, blank=True, help_text="camt Stmt/Id, comma separated")
    account_iban = models.CharField(max_length=34, blank=True)
    imported_at = models.DateTimeField(auto_now_add=True)
    imported_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    line_count = models.PositiveIntegerField(default=0)
    skipped = models.JSONField(default=list, blank=True, help_text="entries not imported, with why")

    class Meta:
        ordering = ["-imported_at", "-id"]

    def __str__(self):
        return f"{self.file_name} ({self.sha256[:8]})"


class Direction(models.TextChoices):
    CREDIT = "CRDT", "incoming"
    DEBIT = "DBIT", "outgoing"


class StatementLine(models.Model):
    statement = models.ForeignKey(Statement, on_delete=models.PROTECT, related_name="lines")
    entry_index = models.PositiveIntegerField(help_text="1-based Ntry position in the file, or CSV line number")
    tx_index = models.PositiveIntegerField(default=1, help_text="1-based TxDtls position inside a batch entry")
    booking_date = models.DateField(db_index=True)
    value_date = models.DateField(null=True, blank=True)
    amount = models.DecimalField(**MONEY)
    currency = models.CharField(max_length=3, choices=Currency.choices)
    direction = models.CharField(max_length=4, choices=Direction.choices)
    is_reversal = models.BooleanField(default=False)
    return_reason = models.CharField(max_length=140, blank=True)
    counterparty_name = models.CharField(max_length=140, blank=True)
    counterparty_iban = models.CharField(max_length=34, blank=True)
    end_to_end_id = models.CharField(max_length=35, blank=True, db_index=True)
    remittance_info = models.TextField(blank=True)
    bank_reference = models.CharField(max_length=64, blank=True)

    class Meta:
        ordering = ["statement_id", "entry_index", "tx_index"]
        constraints = [
            models.CheckConstraint(condition=Q(amount__gt=0), name="statement_line_amount_positive"),
            models.CheckConstraint(condition=Q(direction__in=["CRDT", "DBIT"]), name="statement_line_direction"),
            models.UniqueConstraint(
                fields=["statement", "entry_index", "tx_index"], name="statement_line_position_unique"
            ),
            models.UniqueConstraint(
                fields=["bank_reference"], condition=~Q(bank_reference=""), name="statement_line_bank_ref_unique"
            ),
        ]

    def __str__(self):
        return f"line {self.pk} {self.booking_date} {self.direction} {self.amount} {self.currency}"

    @property
    def provenance(self) -> str:
        if self.statement.format == Statement.Format.CSV:
            return f"{self.statement.file_name} · line {self.entry_index}"
        tx = f" tx {self.tx_index}" if self.tx_index > 1 else ""
        return f"{self.statement.file_name} · entry {self.entry_index}{tx}"

    @property
    def is_incoming(self) -> bool:
        return self.direction == Direction.CREDIT


class Rule(models.TextChoices):
    END_TO_END = "end_to_end", "1 · end-to-end id"
    AMOUNT_IBAN_DATE = "amount_iban_date", "2 · amount + IBAN + date window"
    INVOICE_REMITTANCE = "invoice_remittance", "3 · invoice numbers in remittance + amount"
    MANUAL = "manual", "manual"


class Match(models.Model):
    class Kind(models.TextChoices):
        PAYOUT = "payout", "payout reconciled"
        RETURN = "return", "payout returned"
        COLLECTION = "collection", "collection"

    line = models.ForeignKey(StatementLine, on_delete=models.PROTECT, related_name="matches")
    kind = models.CharField(max_length=16, choices=Kind.choices)
    rule = models.CharField(max_length=32, choices=Rule.choices)
    payout = models.ForeignKey(
        "payouts.Payout", null=True, blank=True, on_delete=models.PROTECT, related_name="reconciliations"
    )
    receivable = models.ForeignKey(
        "clients.Receivable", null=True, blank=True, on_delete=models.PROTECT, related_name="reconciliations"
    )
    transaction = models.OneToOneField(
        "clients.Transaction", null=True, blank=True, on_delete=models.PROTECT, related_name="reconciliation"
    )
    amount = models.DecimalField(**MONEY)
    note = models.TextField(blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    active = models.BooleanField(default=True)
    unmatched_at = models.DateTimeField(null=True, blank=True)
    unmatched_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    unmatch_reason = models.TextField(blank=True)
    request = models.ForeignKey(
        "MatchRequest",
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="matches",
        help_text="the approved manual match request that created this match (none for a confirmed proposal)",
    )

    class Meta:
        ordering = ["-created_at", "-id"]
        verbose_name_plural = "matches"
        constraints = [
            models.CheckConstraint(condition=Q(amount__gt=0), name="match_amount_positive"),
            models.CheckConstraint(
                condition=(Q(kind__in=["payout", "return"]) & Q(payout__isnull=False) & Q(receivable__isnull=True))
                | (Q(kind="collection") & Q(receivable__isnull=False) & Q(payout__isnull=True)),
                name="match_target_fits_kind",
            ),
            # A line settles at most one payout (or its return); a payout is reconciled once and returned once.
            models.UniqueConstraint(
                fields=["line"], condition=Q(active=True, kind__in=["payout", "return"]), name="match_line_one_payout"
            ),
            models.UniqueConstraint(
                fields=["payout", "kind"], condition=Q(active=True, payout__isnull=False), name="match_payout_once"
            ),
            models.UniqueConstraint(
                fields=["line", "receivable"], condition=Q(active=True, kind="collection"), name="match_line_receivable"
            ),
        ]

    def __str__(self):
        target = self.payout or self.receivable
        return f"{self.get_kind_display()} {target} ← line {self.line_id} ({self.rule})"


class MatchRequest(models.Model):
    """A reconciliation override asked for by one user and carried out only when another approves it.

    ``payout`` / ``return``: match ``line`` to ``payout``; ``collection``: book the line as
    collections of the ``allocations``; ``unmatch``: undo ``match`` (a payout match of ``line``).
    ``note`` is the requester's note (the reason, for an unmatch). See ``reconciliation.services``.
    """

    class Kind(models.TextChoices):
        PAYOUT = "payout", "match to a payout"
        RETURN = "return", "match a return to its payout"
        COLLECTION = "collection", "book collections"
        UNMATCH = "unmatch", "undo a payout match"

    class Status(models.TextChoices):
        PENDING = "pending"
        APPROVED = "approved"
        REJECTED = "rejected"

    kind = models.CharField(max_length=16, choices=Kind.choices)
    line = models.ForeignKey(StatementLine, on_delete=models.PROTECT, related_name="match_requests")
    payout = models.ForeignKey("payouts.Payout", null=True, blank=True, on_delete=models.PROTECT, related_name="+")
    match = models.ForeignKey(Match, null=True, blank=True, on_delete=models.PROTECT, related_name="unmatch_requests")
    note = models.TextField(blank=True)
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.PENDING, db_index=True)
    requested_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    requested_at = models.DateTimeField(auto_now_add=True)
    decided_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    decided_at = models.DateTimeField(null=True, blank=True)
    decision_reason = models.TextField(blank=True)

    class Meta:
        ordering = ["-requested_at", "-id"]
        constraints = [
            models.CheckConstraint(
                condition=(Q(kind__in=["payout", "return"]) & Q(payout__isnull=False) & Q(match__isnull=True))
                | (Q(kind="collection") & Q(payout__isnull=True) & Q(match__isnull=True))
                | (Q(kind="unmatch") & Q(payout__isnull=True) & Q(match__isnull=False)),
                name="match_request_target_fits_kind",
            ),
            models.CheckConstraint(
                condition=(Q(status="pending") & Q(decided_at__isnull=True) & Q(decided_by__isnull=True))
                | (Q(status__in=["approved", "rejected"]) & Q(decided_at__isnull=False)),
                name="match_request_decided_shape",
            ),
            models.CheckConstraint(
                condition=~Q(status="rejected") | ~Q(decision_reason=""), name="match_request_rejection_has_reason"
            ),
            # One open question per line (a match) and per match (an unmatch) at a time.
            models.UniqueConstraint(
                fields=["line"],
                condition=Q(status="pending") & ~Q(kind="unmatch"),
                name="match_request_one_pending_per_line",
            ),
            models.UniqueConstraint(
                fields=["match"],
                condition=Q(status="pending", kind="unmatch"),
                name="match_request_one_pending_unmatch",
            ),
        ]

    def __str__(self):
        return f"request {self.pk}: {self.get_kind_display()} · line {self.line_id} ({self.status})"

    @property
    def is_pending(self) -> bool:
        return self.status == self.Status.PENDING


class MatchRequestAllocation(models.Model):
    """One receivable and the amount a ``collection`` request books on it."""

    request = models.ForeignKey(MatchRequest, on_delete=models.PROTECT, related_name="allocations")
    position = models.PositiveIntegerField()
    receivable = models.ForeignKey("clients.Receivable", on_delete=models.PROTECT, related_name="+")
    amount = models.DecimalField(**MONEY)

    class Meta:
        ordering = ["request_id", "position"]
        constraints = [
            models.CheckConstraint(condition=Q(amount__gt=0), name="match_request_allocation_amount_positive"),
            models.UniqueConstraint(fields=["request", "receivable"], name="match_request_allocation_once"),
        ]

    def __str__(self):
        return f"{self.receivable_id}: {self.amount}"
