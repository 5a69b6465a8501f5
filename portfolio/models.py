"""Term loans to clients (DOMAIN.md section 8). Modeled and projected, not booked in the ledger.

``LoanInstalment`` rows are each loan's schedule (``portfolio.schedule``) stored so the overview and the
dashboard can sum them in SQL; ``LoanSchedule`` records the terms those rows were computed from.
Both are derived data, kept by ``portfolio.services.refresh_schedules`` (see docs/portfolio.md):
a loan whose terms differ from its ``LoanSchedule`` (or that has none) is re-scheduled.
"""

from django.db import models
from django.db.models import Q

from clients.models import MONEY, RATE, Client, Currency, Provenance


class Loan(Provenance):
    class Method(models.TextChoices):
        ANNUITY = "annuity"
        LINEAR = "linear"
        BULLET = "bullet"

    class DayCount(models.TextChoices):
        D30_360 = "30/360"
        ACT_360 = "ACT/360"
        ACT_365 = "ACT/365"

    loan_id = models.CharField(max_length=64, unique=True)
    client = models.ForeignKey(Client, on_delete=models.PROTECT, related_name="loans")
    principal = models.DecimalField(**MONEY)
    currency = models.CharField(max_length=3, choices=Currency.choices)
    annual_rate = models.DecimalField(**RATE)
    start_date = models.DateField()
    term_months = models.PositiveIntegerField()
    method = models.CharField(max_length=16, choices=Method.choices)
    day_count = models.CharField(max_length=8, choices=DayCount.choices, default=DayCount.D30_360)

    class Meta:
        ordering = ["loan_id"]
        constraints = [
            models.CheckConstraint(condition=Q(principal__gt=0), name="loan_principal_positive"),
            models.CheckConstraint(condition=Q(annual_rate__gte=0, annual_rate__lte=1), name="loan_rate_0_1"),
            models.CheckConstraint(condition=Q(term_months__gt=0), name="loan_term_positive"),
        ]

    def __str__(self):
        return f"{self.loan_id} {self.method} {self.principal} {self.currency}"


class LoanSchedule(models.Model):
    """The terms a loan's ``LoanInstalment`` rows were computed from (stale when they differ from the loan's)."""

    loan = models.OneToOneField(Loan, on_delete=models.CASCADE, primary_key=True, related_name="schedule_state")
    principal = models.DecimalField(**MONEY)
    currency = models.CharField(max_length=3)
    annual_rate = models.DecimalField(**RATE)
    start_date = models.DateField()
    term_months = models.PositiveIntegerField()
    method = models.CharField(max_length=16)
    day_count = models.CharField(max_length=8)

    TERMS = ("principal", "currency", "annual_rate", "start_date", "term_months", "method", "day_count")

    def __str__(self):
        return f"schedule of loan {self.loan_id}"


class LoanInstalment(models.Model):
    """One period of a loan's schedule (``portfolio.schedule.Period``), stored.

    ``day`` is ``date.toordinal()`` and ``principal_cents`` / ``interest_cents`` the amounts in minor
    units, so sums (and Σ principal × days) are exact integer arithmetic on every database.
    """

    loan = models.ForeignKey(Loan, on_delete=models.CASCADE, related_name="instalments")
    seq = models.PositiveIntegerField()
    date = models.DateField()
    day = models.IntegerField()
    opening_balance = models.DecimalField(**MONEY)
    payment = models.DecimalField(**MONEY)
    interest = models.DecimalField(**MONEY)
    principal = models.DecimalField(**MONEY)
    closing_balance = models.DecimalField(**MONEY)
    principal_cents = models.BigIntegerField()
    interest_cents = models.BigIntegerField()

    class Meta:
        ordering = ["loan_id", "seq"]
        constraints = [
            models.UniqueConstraint(fields=["loan", "seq"], name="loan_instalment_unique_seq"),
        ]
        indexes = [models.Index(fields=["date", "loan"], name="loan_instalment_date")]

    def __str__(self):
        return f"loan {self.loan_id} period {self.seq} {self.date}"
