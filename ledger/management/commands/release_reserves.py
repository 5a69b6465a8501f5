"""``release_reserves --as-of YYYY-MM-DD [--client ID]``: book the releases DOMAIN.md allows.

Output (stable, see docs/ledger.md): one line per tranche,
``RELEASED <client_id> tranche=<pk> amount=<x> <CUR> due=<date>`` or
``HELD <client_id> tranche=<pk> amount=<x> <CUR> due=<date> (held by the shortfall)``,
then ``released <n> tranche(s), <amount total per currency>; held <m>``.
"""

import datetime
from collections import defaultdict

from django.core.management.base import BaseCommand, CommandError

from atlas.money import ZERO, fmt
from clients.models import Client
from ledger.services import release_reserves


def parse_date(value: str) -> datetime.date:
    try:
        return datetime.date.fromisoformat(value)
    except ValueError:
        raise CommandError(f"--as-of {value!r} is not a date (YYYY-MM-DD)")


class Command(BaseCommand):
    help = "Release the rolling-reserve tranches due at the as-of date (oldest first, never below the requirement)."

    def add_arguments(self, parser):
        parser.add_argument("--as-of", required=True, type=parse_date)
        parser.add_argument("--client", help="only this client_id")

    def handle(self, *args, as_of, client=None, **options):
        clients = None
        if client:
            clients = Client.objects.filter(client_id=client)
            if not clients.exists():
                raise CommandError(f"unknown client {client!r}")
        result = release_reserves(as_of=as_of, clients=clients)
        totals = defaultdict(lambda: ZERO)
        for t in result.released:
            totals[t.currency] += t.amount
            self.stdout.write(
                f"RELEASED {t.client.client_id} tranche={t.pk} amount={fmt(t.amount)} {t.currency} due={t.due_date}"
            )
        for t in result.held:
            self.stdout.write(
                f"HELD {t.client.client_id} tranche={t.pk} amount={fmt(t.amount)} {t.currency} due={t.due_date} "
                "(held by the shortfall)"
            )
        summary = ", ".join(f"{fmt(v)} {k}" for k, v in sorted(totals.items())) or "0.00"
        self.stdout.write(f"released {len(result.released)} tranche(s), {summary}; held {len(result.held)}")
