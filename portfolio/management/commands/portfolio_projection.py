"""``python manage.py portfolio_projection --as-of YYYY-MM-DD --months N [scenario] [--csv]``."""

import datetime as dt

from django.core.management.base import BaseCommand, CommandError

from atlas.exports import write_csv
from atlas.money import MoneyError, fmt, to_decimal
from portfolio.projection import Scenario
from portfolio.selectors import portfolio_projection
from portfolio.tables import MONTH_COLUMNS, PROJECTION_HEADERS, projection_rows


def _date(text: str) -> dt.date:
    try:
        return dt.date.fromisoformat(text)
    except ValueError:
        raise CommandError(f"--as-of {text!r} is not a date YYYY-MM-DD") from None


class Command(BaseCommand):
    help = "Project loans and open receivables month by month (DOMAIN.md section 8; docs/portfolio.md)."

    def add_arguments(self, parser):
        parser.add_argument("--as-of", required=True, help="YYYY-MM-DD")
        parser.add_argument("--months", type=int, default=12)
        parser.add_argument("--default-rate", default="0", help="fraction 0..1, e.g. 0.05")
        parser.add_argument("--delay-days", type=int, default=0)
        parser.add_argument("--rate-shift-bp", type=int, default=0, help="basis points, may be negative")
        parser.add_argument("--csv", action="store_true", help="portfolio and client rows as CSV")

    def handle(self, *args, **options):
        as_of = _date(options["as_of"])
        months = options["months"]
        if not 1 <= months <= 600:
            raise CommandError("--months must be between 1 and 600")
        try:
            default_rate = to_decimal(options["default_rate"])
            scenario = Scenario(
                default_rate=default_rate,
                delay_days=options["delay_days"],
                rate_shift_bp=options["rate_shift_bp"],
            )
        except (MoneyError, ValueError) as exc:
            raise CommandError(f"Invalid scenario: {exc}") from None
        projection = portfolio_projection(as_of=as_of, months=months, scenario=scenario)
        if options["csv"]:
            self.stdout.write(write_csv(PROJECTION_HEADERS, projection_rows(projection)), ending="")
            return
        self.stdout.write(f"Projection as of {as_of:%Y-%m-%d}, {months} months, scenario: {scenario.describe()}")
        if not projection.currencies:
            self.stdout.write("No outstanding loans or open receivables.")
        headers = ("month", "end", *MONTH_COLUMNS)
        widths = (5, 10, 16, 14, 14, 14, 14, 16)
        for currency, rows in projection.currencies.items():
            self.stdout.write(f"\n{currency}")
            self.stdout.write("  ".join(h.rjust(w) for h, w in zip(headers, widths, strict=True)))
            for r in [*rows, projection.totals(rows)]:
                cells = (
                    str(r.month) if r.month else "total",
                    r.end.isoformat(),
                    *(fmt(getattr(r, c)) for c in MONTH_COLUMNS),
                )
                self.stdout.write("  ".join(c.rjust(w) for c, w in zip(cells, widths, strict=True)))
        if projection.loans_not_started:
            self.stdout.write(f"\n{projection.loans_not_started} loan(s) start after {as_of:%Y-%m-%d}: not projected.")
