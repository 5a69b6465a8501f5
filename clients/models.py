"""Reference data loaded from the workbook (DOMAIN.md sections 3 and 9).

Partners, clients, debtors, receivables and transactions. Every imported row remembers its
provenance: the :class:`ImportBatch` (file name, SHA-256, user, time), the sheet and the row.
Amounts are ``DecimalField(18, 2)``; rates are fractions in 0..1, enforced by CHECK constraints.
Writes go through services (``clients.importer`` and the ledger's booking service); the
``advanced``/``reduced``/``collected``/``written_off`` totals on a receivable are maintained by
the ledger booking service in the same transaction as the postings.
"""

from decimal import Decimal

from django.conf import settings
from django.db import models
from django.db.models import F, Q

from atlas.money import CURRENCIES

MONEY = {"max_digits": 18, "decimal_places": 2}
RATE = {"max_digits": 9, "decimal_places": 6}


class Currency(models.TextChoices):
    EUR = "EUR", "EUR"
    GBP = "GBP", "GBP"
    USD = "USD", "USD"
    SEK = "SEK", "SEK"
    CHF = "CHF", "CHF"
    PLN = "PLN", "PLN"


assert tuple(Currency.values) == CURRENCIES


class ImportBatch(models.Model):
    class Status(models.TextChoices):
        PENDING = "pending"
        RUNNING = "running"
        DONE = "done"
        FAILED = "failed"

    file_name = models.CharField(max_length=255)
    sha256 = models.CharField(max_length=64, db_index=True)
    created_at = models.DateTimeField(auto_now_add=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    user = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL)
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.PENDING)
    summary = models.JSONField(default=dict, blank=True)
    errors = models.JSONField(default=list, blank=True)
    # Progress of the run (the upload page polls it; see clients.importer.progress).
    dry_run = models.BooleanField(default=False)
    file_size = models.PositiveBigIntegerField(default=0)
    phase = models.CharField(max_length=32, blank=True)
    progress_done = models.PositiveIntegerField(default=0)
    progress_total = models.PositiveIntegerField(default=0)
    warnings = models.JSONField(default=list, blank=True)

    class Meta:
        ordering = ["-created_at"]
        verbose_name_plural = "import batches"

    def __str__(self):
        return f"{self.file_name} ({self.sha256[:8]}, {self.created_at:%Y-%m-%d %H:%M})"


class Provenance(models.Model):
    """Where a record came from: import batch (file + SHA-256), sheet and row."""

    import_batch = models.ForeignKey(ImportBatch, null=True, blank=True, on_delete=models.PROTECT, related_name="+")
    source_sheet = models.CharField(max_length=64, blank=True)
    source_row = models.PositiveIntegerField(null=True, blank=True)

    class Meta:
        abstract = True

    @property
    def source_label(self) -> str:
        if not self.source_sheet:
            return "entered in the product"
        name = self.import_batch.file_name if self.import_batch_id else "?"
        return f"{name} · {self.source_sheet}!row {self.source_row}"


class Partner(Provenance):
    partner_id = models.CharField(max_length=64, unique=True)
    name = models.CharField(max_length=255)

    class Meta:
        ordering = ["partner_id"]

    def __str__(self):
        return f"{self.partner_id} {self.name}"


class Client(Provenance):
    class Status(models.TextChoices):
        ACTIVE = "active"
        ON_HOLD = "on_hold"
        SUSPENDED = "suspended"

    client_id = models.CharField(max_length=64, unique=True)
    name = models.CharField(max_length=255)
    country = models.CharField(max_length=2)
    currency = models.CharField(max_length=3, choices=Currency.choices)
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.ACTIVE)
    credit_limit = models.DecimalField(**MONEY)
    advance_rate = models.DecimalField(**RATE)
    reserve_rate = models.DecimalField(**RATE)
    reserve_hold_days = models.PositiveIntegerField()
    fee_rate = models.DecimalField(**RATE, null=True, blank=True)
    iban = models.CharField(max_length=34, blank=True)
    bic = models.CharField(max_length=11, blank=True)
    partner = models.ForeignKey(Partner, null=True, blank=True, on_delete=models.PROTECT, related_name="clients")
    partner_reserve_rate = models.DecimalField(**RATE, null=True, blank=True)

    class Meta:
        ordering = ["client_id"]
        constraints = [
            models.CheckConstraint(condition=Q(credit_limit__gt=0), name="client_credit_limit_positive"),
            models.CheckConstraint(
                condition=Q(advance_rate__gte=0, advance_rate__lte=1), name="client_advance_rate_0_1"
            ),
            models.CheckConstraint(
                condition=Q(reserve_rate__gte=0, reserve_rate__lte=1), name="client_reserve_rate_0_1"
            ),
            models.CheckConstraint(
                condition=Q(fee_rate__isnull=True) | Q(fee_rate__gte=0, fee_rate__lte=1), name="client_fee_rate_0_1"
            ),
            models.CheckConstraint(
                condition=Q(partner_reserve_rate__isnull=True)
                | Q(partner_reserve_rate__gte=0, partner_reserve_rate__lte=1),
                name="client_partner_reserve_rate_0_1",
            ),
            models.CheckConstraint(condition=Q(currency__in=CURRENCIES), name="client_currency_known"),
        ]

    def __str__(self):
        return f"{self.client_id} {self.name}"


class Debtor(Provenance):
    debtor_id = models.CharField(max_length=64, unique=True)
    name = models.CharField(max_length=255)
    country = models.CharField(max_length=2)
    concentration_limit = models.DecimalField(**RATE, null=True, blank=True)

    class Meta:
        ordering = ["debtor_id"]
        constraints = [
            models.CheckConstraint(
                condition=Q(concentration_limit__isnull=True)
                | Q(concentration_limit__gte=0, concentration_limit__lte=1),
                name="debtor_concentration_limit_0_1",
            ),
        ]

    def __str__(self):
        return f"{self.debtor_id} {self.name}"


class Receivable(Provenance):
    receivable_id = models.CharField(max_length=64, unique=True)
    # No index of its own: the (client, due_date) index below starts with it.
    client = models.ForeignKey(Client, on_delete=models.PROTECT, related_name="receivables", db_index=False)
    debtor = models.ForeignKey(Debtor, on_delete=models.PROTECT, related_name="receivables")
    invoice_number = models.CharField(max_length=64)
    issue_date = models.DateField()
    due_date = models.DateField(db_index=True)
    currency = models.CharField(max_length=3, choices=Currency.choices)
    face_value = models.DecimalField(**MONEY)
    # Maintained by the ledger booking service, in the same transaction as the postings.
    advanced = models.DecimalField(**MONEY, default=Decimal("0.00"))
    reduced = models.DecimalField(**MONEY, default=Decimal("0.00"), help_text="repaid + drawn down + written off")
    collected = models.DecimalField(**MONEY, default=Decimal("0.00"))
    written_off = models.DecimalField(**MONEY, default=Decimal("0.00"))

    class Meta:
        ordering = ["receivable_id"]
        indexes = [models.Index(fields=["client", "due_date"]), models.Index(fields=["invoice_number"])]
        constraints = [
            models.CheckConstraint(condition=Q(face_value__gt=0), name="receivable_face_value_positive"),
            models.CheckConstraint(condition=Q(collected__lte=F("face_value")), name="receivable_collected_le_face"),
            models.CheckConstraint(condition=Q(reduced__lte=F("advanced")), name="receivable_reduced_le_advanced"),
        ]

    def __str__(self):
        return f"{self.receivable_id} ({self.invoice_number})"

    @property
    def advance_outstanding(self) -> Decimal:
        return self.advanced - self.reduced

    @property
    def open_amount(self) -> Decimal:
        return max(Decimal("0.00"), self.face_value - self.collected - self.written_off)


class Transaction(Provenance):
    class Type(models.TextChoices):
        ADVANCE = "advance"
        COLLECTION = "collection"
        FEE = "fee"
        INTEREST = "interest"
        RESERVE_DRAWDOWN = "reserve_drawdown"
        RESERVE_TOPUP = "reserve_topup"
        PARTNER_RR_HOLD = "partner_rr_hold"
        PARTNER_RR_RELEASE = "partner_rr_release"
        ADJUSTMENT = "adjustment"

    NEEDS_RECEIVABLE = {Type.ADVANCE, Type.COLLECTION, Type.RESERVE_DRAWDOWN}

    txn_id = models.CharField(max_length=64, unique=True)
    date = models.DateField(db_index=True)
    # No index of its own: the (client, date) index below starts with it.
    client = models.ForeignKey(Client, on_delete=models.PROTECT, related_name="transactions", db_index=False)
    type = models.CharField(max_length=32, choices=Type.choices)
    amount = models.DecimalField(**MONEY)
    currency = models.CharField(max_length=3, choices=Currency.choices)
    receivable = models.ForeignKey(
        Receivable, null=True, blank=True, on_delete=models.PROTECT, related_name="transactions"
    )
    reference = models.CharField(max_length=255, blank=True)

    class Meta:
        ordering = ["date", "source_row", "id"]
        indexes = [models.Index(fields=["client", "date"])]
        constraints = [
            models.CheckConstraint(
                condition=(Q(type="adjustment") & ~Q(amount=0)) | (~Q(type="adjustment") & Q(amount__gt=0)),
                name="transaction_amount_sign",
            ),
            models.CheckConstraint(
                condition=~Q(type__in=["advance", "collection", "reserve_drawdown"]) | Q(receivable__isnull=False),
                name="transaction_receivable_required",
            ),
        ]

    def __str__(self):
        return f"{self.txn_id} {self.type} {self.amount} {self.currency}"
