"""``python manage.py evaluate_alerts [--as-of YYYY-MM-DD]``: open, update and resolve risk alerts."""

import datetime

from django.core.management.base import BaseCommand, CommandError

from risk.services import evaluate_alerts


class Command(BaseCommand):
    help = "Evaluate risk alerts for every client at an as-of date (default: today)."

    def add_arguments(self, parser):
        parser.add_argument("--as-of", dest="as_of", help="as-of date YYYY-MM-DD (default: today)")

    def handle(self, *args, as_of=None, **options):
        date = None
        if as_of:
            try:
                date = datetime.date.fromisoformat(as_of)
            except ValueError:
                raise CommandError(f"--as-of {as_of!r} is not a date YYYY-MM-DD")
        result = evaluate_alerts(as_of=date)
        self.stdout.write(f"alerts: {result.opened} opened, {result.updated} updated, {result.resolved} resolved")
