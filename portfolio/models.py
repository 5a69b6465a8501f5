"""Term loans to clients (DOMAIN.md section 8). Modeled and projected, not booked in the ledger."""

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
