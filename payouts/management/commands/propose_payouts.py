"""``propose_payouts --as-of YYYY-MM-DD``: set each qualifying client's ``ready`` payout to its available amount.

Idempotent; never touches payouts in any other state (see ``payouts.services.propose_payouts``).
"""

import datetime

from django.core.management.base import BaseCommand, CommandError

from atlas.money import fmt
from payouts.services import propose_payouts


class Command(BaseCommand):
    help = "Propose ready payouts for active clients whose available amount is at least the policy minimum."

    def add_arguments(self, parser):
        parser.add_argument("--as-of", required=True, help="YYYY-MM-DD")

    def handle(self, *args, **options):
        try:
            as_of = datetime.date.fromisoformat(options["as_of"])
        except ValueError:
            raise CommandError(f"--as-of {options['as_of']!r} is not a date YYYY-MM-DD")
        result = propose_payouts(as_of=as_of)
        for label, rows in (("created", result.created), ("updated", result.updated)):
            for p in rows:
                self.stdout.write(f"{label} {p.payout_id} {p.client.client_id} {fmt(p.amount)} {p.currency}")
        for p in result.not_qualifying:
            self.stdout.write(
                f"left unchanged {p.payout_id} {p.client.client_id} {fmt(p.amount)} {p.currency}: "
                "client no longer qualifies"
            )
        self.stdout.write(
            f"OK: {len(result.created)} created, {len(result.updated)} updated, {len(result.unchanged)} unchanged, "
            f"{len(result.not_qualifying)} not qualifying"
        )
