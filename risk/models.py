"""Risk policy, limit changes and alerts (DOMAIN.md sections 1, 5 and 6).

- :class:`RiskPolicy`: the singleton of thresholds (``RiskPolicy.get()``), edited by ``risk``
  through ``risk.services.update_policy`` (product) or the admin.
- :class:`LimitChange`: a requested change of a client's credit limit. A decrease applies at
  once (recorded as ``approved`` by its requester); an increase stays ``pending`` until a
  ``credit`` user other than the requester approves it (four eyes), see ``risk.services``.
- :class:`Alert`: a risk metric out of bounds for a client, opened, updated and resolved by
  ``risk.services.evaluate_alerts``. At most one open or acknowledged alert exists per
  ``(client, metric, key)`` (a conditional unique constraint).

Ratios (``Alert.value``/``threshold`` of ratio metrics) are stored rounded half-up to 4 places
(``atlas.money.round_ratio``); the checks themselves compare unrounded ratios.
"""

from decimal import Decimal

from django.conf import settings
from django.db import models
from django.db.models import Q

from clients.models import MONEY, RATE, Client

RATIO_VALUE = {"max_digits": 22, "decimal_places": 4}


class RiskPolicy(models.Model):
    """The one row (pk=1) of risk thresholds; rates are fractions (0.10 is 10 %)."""

    SINGLETON_PK = 1

    exposure_warning_level = models.DecimalField(**RATE, default=Decimal("0.90"))
    min_payout = models.DecimalField(**MONEY, default=Decimal("100.00"))
    overdue_share_level = models.DecimalField(**RATE, default=Decimal("0.10"))
    default_concentration_limit = models.DecimalField(**RATE, default=Decimal("0.25"))
    updated_at = models.DateTimeField(auto_now=True)
    updated_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )

    class Meta:
        verbose_name = "risk policy"
        verbose_name_plural = "risk policy"
        constraints = [
            models.CheckConstraint(condition=Q(id=1), name="riskpolicy_singleton"),
            models.CheckConstraint(
                condition=Q(exposure_warning_level__gt=0, exposure_warning_level__lte=1),
                name="riskpolicy_exposure_warning_0_1",
            ),
            models.CheckConstraint(condition=Q(min_payout__gte=0), name="riskpolicy_min_payout_nonnegative"),
            models.CheckConstraint(
                condition=Q(overdue_share_level__gte=0, overdue_share_level__lte=1),
                name="riskpolicy_overdue_share_0_1",
            ),
            models.CheckConstraint(
                condition=Q(default_concentration_limit__gte=0, default_concentration_limit__lte=1),
                name="riskpolicy_concentration_0_1",
            ),
        ]

    def __str__(self):
        return "Risk policy"

    def save(self, *args, **kwargs):
        self.pk = self.SINGLETON_PK
        super().save(*args, **kwargs)

    @classmethod
    def get(cls) -> "RiskPolicy":
        """The singleton, created with the defaults if missing."""
        policy, _ = cls.objects.get_or_create(pk=cls.SINGLETON_PK)
        return policy


class LimitChange(models.Model):
    class Status(models.TextChoices):
        PENDING = "pending"
        APPROVED = "approved"
        REJECTED = "rejected"

    client = models.ForeignKey(Client, on_delete=models.PROTECT, related_name="limit_changes")
    old_limit = models.DecimalField(**MONEY)
    new_limit = models.DecimalField(**MONEY)
    reason = models.TextField()
    requested_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    requested_at = models.DateTimeField(auto_now_add=True)
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.PENDING, db_index=True)
    decided_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    decided_at = models.DateTimeField(null=True, blank=True)
    decision_reason = models.TextField(blank=True)

    class Meta:
        ordering = ["-requested_at", "-id"]
        constraints = [
            models.CheckConstraint(condition=Q(new_limit__gt=0), name="limitchange_new_limit_positive"),
            models.UniqueConstraint(
                fields=["client"], condition=Q(status="pending"), name="limitchange_one_pending_per_client"
            ),
        ]

    def __str__(self):
        return f"{self.client.client_id}: {self.old_limit} → {self.new_limit} ({self.status})"

    @property
    def is_increase(self) -> bool:
        return self.new_limit > self.old_limit


class Alert(models.Model):
    class Severity(models.TextChoices):
        WARNING = "warning"
        CRITICAL = "critical"

    class Metric(models.TextChoices):
        EXPOSURE_WARNING = "exposure_warning", "exposure warning"
        OVER_LIMIT = "over_limit", "over credit limit"
        CONCENTRATION = "concentration", "debtor concentration"
        RESERVE_SHORTFALL = "reserve_shortfall", "reserve shortfall"
        OVERDUE_SHARE = "overdue_share", "overdue share"

    class Status(models.TextChoices):
        OPEN = "open"
        ACKNOWLEDGED = "acknowledged"
        RESOLVED = "resolved"

    ACTIVE_STATUSES = (Status.OPEN, Status.ACKNOWLEDGED)

    client = models.ForeignKey(Client, on_delete=models.PROTECT, related_name="alerts")
    metric = models.CharField(max_length=32, choices=Metric.choices)
    key = models.CharField(max_length=64, blank=True, default="", help_text="e.g. the debtor id for concentration")
    severity = models.CharField(max_length=16, choices=Severity.choices)
    value = models.DecimalField(**RATIO_VALUE)
    threshold = models.DecimalField(**RATIO_VALUE)
    message = models.CharField(max_length=255, blank=True)
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.OPEN, db_index=True)
    opened_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)
    as_of = models.DateField(null=True, blank=True, help_text="as-of date of the last evaluation")
    acknowledged_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    acknowledged_at = models.DateTimeField(null=True, blank=True)
    resolved_at = models.DateTimeField(null=True, blank=True)
    resolved_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
        help_text="empty = resolved automatically",
    )

    class Meta:
        ordering = ["-opened_at", "-id"]
        indexes = [
            models.Index(fields=["client", "status"]),
            # the dashboard's latest open alerts: read in order from the index, no sort of every open alert
            models.Index(fields=["status", "opened_at", "id"], name="alert_status_opened_idx"),
        ]
        constraints = [
            models.UniqueConstraint(
                fields=["client", "metric", "key"],
                condition=Q(status__in=["open", "acknowledged"]),
                name="alert_one_active_per_client_metric_key",
            ),
        ]

    def __str__(self):
        key = f"[{self.key}]" if self.key else ""
        return f"{self.client.client_id} {self.metric}{key} {self.value} ({self.status})"


# ----------------------------------------------------------------------- maintained aggregates
#
# Totals of the open receivables and of the unreleased reserve tranches, kept by database triggers
# (risk/migrations/0003_maintained_totals.py) in the same statement as every insert, update or delete of
# ``clients_receivable`` and ``ledger_reservetranche``, whichever code writes them. Amounts are whole cents;
# a receivable is open when face − collected − written off > 0 (in cents). The portfolio pages read these
# few thousand rows instead of the whole book (docs/risk.md "Maintained totals"). A group whose count falls
# to 0 is deleted by the triggers (closed receivables leave no zero rows).


class OpenByDue(models.Model):
    """Open receivables per currency, due date and issue date: open amount (cents) and count."""

    currency = models.CharField(max_length=3)
    due_date = models.DateField()
    issue_date = models.DateField()
    amount_c = models.BigIntegerField(default=0)
    n = models.IntegerField(default=0)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["currency", "due_date", "issue_date"], name="risk_openbydue_key")
        ]


class OpenByPair(models.Model):
    """Open receivables per client and debtor: open amount (cents) and count (concentration breaches)."""

    client = models.ForeignKey(
        Client, on_delete=models.DO_NOTHING, db_constraint=False, db_index=False, related_name="+"
    )
    debtor = models.ForeignKey(
        "clients.Debtor", on_delete=models.DO_NOTHING, db_constraint=False, db_index=False, related_name="+"
    )
    currency = models.CharField(max_length=3)
    amount_c = models.BigIntegerField(default=0)
    n = models.IntegerField(default=0)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["client", "debtor", "currency"], name="risk_openbypair_key")]


class OpenByClient(models.Model):
    """Open receivables per client: open amount (cents) and count, kept from ``OpenByPair`` (the total a
    debtor's share is taken of)."""

    client = models.OneToOneField(Client, on_delete=models.DO_NOTHING, db_constraint=False, related_name="+")
    amount_c = models.BigIntegerField(default=0)
    n = models.IntegerField(default=0)


class OpenByDebtor(models.Model):
    """Open receivables per currency and debtor: open amount (cents) and the number of clients with an
    open receivable on the debtor (pairs with ``n`` > 0), kept from ``OpenByPair`` (top debtors)."""

    currency = models.CharField(max_length=3)
    debtor = models.ForeignKey(
        "clients.Debtor", on_delete=models.DO_NOTHING, db_constraint=False, db_index=False, related_name="+"
    )
    amount_c = models.BigIntegerField(default=0)
    clients = models.IntegerField(default=0)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["currency", "debtor"], name="risk_openbydebtor_key")]
        indexes = [models.Index(fields=["currency", "amount_c"], name="risk_openbydebtor_amount_idx")]


class UnreleasedByDue(models.Model):
    """Unreleased reserve tranches (no release entry) per currency, due date and creation date."""

    currency = models.CharField(max_length=3)
    due_date = models.DateField()
    created_on = models.DateField()
    amount_c = models.BigIntegerField(default=0)
    n = models.IntegerField(default=0)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["currency", "due_date", "created_on"], name="risk_unreleasedbydue_key")
        ]


class TotalsDeferral(models.Model):
    """While a row exists (inside one transaction: ``risk.services.totals_deferred``), the triggers skip their
    row-by-row work; that transaction then rebuilds every total from the rows in one pass (a bulk import)."""
