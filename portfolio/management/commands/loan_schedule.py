"""``python manage.py loan_schedule LOAN_ID [--csv]``: print a loan's schedule."""

from django.core.management.base import BaseCommand, CommandError

from atlas.exports import write_csv
from atlas.money import ZERO, fmt
from portfolio.models import Loan
from portfolio.schedule import CSV_HEADER, loan_schedule


class Command(BaseCommand):
    help = "Print a loan's schedule (DOMAIN.md section 8); --csv for CSV."

    def add_arguments(self, parser):
        parser.add_argument("loan_id")
        parser.add_argument("--csv", action="store_true", help="CSV with a header row")

    def handle(self, *args, **options):
        loan_id = options["loan_id"]
        loan = Loan.objects.filter(loan_id=loan_id).first()
        if loan is None:
            raise CommandError(f"No loan with loan_id {loan_id!r}.")
        periods = loan_schedule(loan)
        if options["csv"]:
            self.stdout.write(write_csv(CSV_HEADER, periods), ending="")
            return
        self.stdout.write(
            f"Loan {loan.loan_id} · client {loan.client.client_id} · {loan.method} · {loan.day_count} · "
            f"{fmt(loan.principal)} {loan.currency} at {loan.annual_rate:f} for {loan.term_months} months "
            f"from {loan.start_date:%Y-%m-%d}"
        )
        widths = (6, 10, 16, 14, 14, 14, 16)
        self.stdout.write("  ".join(h.rjust(w) for h, w in zip(CSV_HEADER, widths, strict=True)))
        for p in periods:
            cells = (
                str(p.period),
                p.date.isoformat(),
                fmt(p.opening_balance),
                fmt(p.payment),
                fmt(p.interest),
                fmt(p.principal),
                fmt(p.closing_balance),
            )
            self.stdout.write("  ".join(c.rjust(w) for c, w in zip(cells, widths, strict=True)))
        totals = (
            "total",
            "",
            "",
            fmt(sum((p.payment for p in periods), ZERO)),
            fmt(sum((p.interest for p in periods), ZERO)),
            fmt(sum((p.principal for p in periods), ZERO)),
            "",
        )
        self.stdout.write("  ".join(c.rjust(w) for c, w in zip(totals, widths, strict=True)))
