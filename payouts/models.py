"""Client payouts and their batches (DOMAIN.md section 5).

A :class:`Payout` moves through ``ready → requested → approved → executed`` (with
``blocked``, ``rejected``, ``cancelled``, ``returned``); the transitions table and every
transition live in ``payouts.services``. ``checks`` holds the result of the last run of the
checks (code, severity, message). Payouts are executed in a :class:`PayoutBatch`, which owns
the SEPA pain.001 file.
"""

from django.conf import settings
from django.db import models
from django.db.models import Q

from clients.models import MONEY, Client, Currency, Provenance


class PayoutStatus(models.TextChoices):
    READY = "ready"
    REQUESTED = "requested"
    APPROVED = "approved"
    EXECUTED = "executed"
    BLOCKED = "blocked"
    REJECTED = "rejected"
    CANCELLED = "cancelled"
    RETURNED = "returned"


PENDING_STATUSES = (PayoutStatus.REQUESTED, PayoutStatus.APPROVED, PayoutStatus.BLOCKED)


class PayoutBatch(models.Model):
    class Status(models.TextChoices):
        DRAFT = "draft"
        EXECUTING = "executing"
        EXECUTED = "executed"

    created_at = models.DateTimeField(auto_now_add=True)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, on_delete=models.PROTECT, related_name="+")
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.DRAFT)
    executed_at = models.DateTimeField(null=True, blank=True)
    executed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    execution_date = models.DateField(null=True, blank=True)
    sepa_file = models.BinaryField(null=True, blank=True, editable=False)
    sepa_message_id = models.CharField(max_length=35, blank=True)
    report = models.JSONField(default=dict, blank=True)

    class Meta:
        ordering = ["-created_at"]
        verbose_name_plural = "payout batches"

    def __str__(self):
        return f"Batch {self.pk} ({self.status})"


class Payout(Provenance):
    payout_id = models.CharField(max_length=64, unique=True)
    client = models.ForeignKey(Client, on_delete=models.PROTECT, related_name="payouts")
    amount = models.DecimalField(**MONEY)
    currency = models.CharField(max_length=3, choices=Currency.choices)
    status = models.CharField(max_length=16, choices=PayoutStatus.choices, default=PayoutStatus.READY, db_index=True)
    reference = models.CharField(max_length=140, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)
    requested_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    requested_at = models.DateTimeField(null=True, blank=True)
    approved_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    approved_at = models.DateTimeField(null=True, blank=True)
    override_reason = models.TextField(blank=True)
    batch = models.ForeignKey(PayoutBatch, null=True, blank=True, on_delete=models.PROTECT, related_name="payouts")
    executed_at = models.DateTimeField(null=True, blank=True)
    end_to_end_id = models.CharField(max_length=35, blank=True, db_index=True)
    checks = models.JSONField(default=list, blank=True)
    # Comma-wrapped codes of ``checks`` (",INVALID_IBAN,EXPOSURE_WARNING,") so the queue can filter on them.
    check_codes = models.CharField(max_length=255, blank=True, db_index=True)
    checked_at = models.DateTimeField(null=True, blank=True)
    # The blocking codes a Credit Manager overrode; only a *new* blocking code blocks the payout again.
    override_codes = models.JSONField(default=list, blank=True)
    # The written reason of the last reject / cancel / return (the audit trail keeps every one).
    status_reason = models.TextField(blank=True)
    returned_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [
            models.Index(fields=["client", "status"]),
            # The queue's default order within a tab (and over all tabs): a page reads its 50 rows from the
            # index instead of sorting every payout of the tab.
            models.Index(fields=["status", "updated_at"], name="payout_status_updated"),
            models.Index(fields=["updated_at"], name="payout_updated"),
        ]
        constraints = [
            models.CheckConstraint(condition=Q(amount__gt=0), name="payout_amount_positive"),
            models.UniqueConstraint(fields=["client"], condition=Q(status="ready"), name="payout_one_ready_per_client"),
            models.UniqueConstraint(
                fields=["end_to_end_id"], condition=~Q(end_to_end_id=""), name="payout_end_to_end_id_unique"
            ),
        ]

    def __str__(self):
        return f"{self.payout_id} {self.amount} {self.currency} ({self.status})"

    @property
    def blocking_checks(self) -> list[dict]:
        return [c for c in self.checks or [] if c.get("severity") == "block"]

    @property
    def warning_checks(self) -> list[dict]:
        return [c for c in self.checks or [] if c.get("severity") == "warn"]

    @property
    def is_pending(self) -> bool:
        return self.status in PENDING_STATUSES
