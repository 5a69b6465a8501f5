"""``balances [--as-of D] [--client ID] [--json]``: the per-client figures of DOMAIN.md section 6.

With ``--json`` a JSON list of objects with exactly the keys ``client_id, currency, factoring,
settlement, rolling_reserve, partner_rr, exposure, exposure_ratio, required_reserve, shortfall,
available`` (amounts as decimal strings with two places, the ratio with four).
"""

import json

from django.core.management.base import BaseCommand, CommandError

from clients.models import Client
from ledger.management.commands.release_reserves import parse_date
from ledger.selectors import client_figures

COLUMNS = (
    "client_id",
    "currency",
    "factoring",
    "settlement",
    "rolling_reserve",
    "partner_rr",
    "exposure",
    "exposure_ratio",
    "required_reserve",
    "shortfall",
    "available",
)


class Command(BaseCommand):
    help = "Per-client balances and figures at an as-of date."

    def add_arguments(self, parser):
        parser.add_argument("--as-of", type=parse_date, default=None)
        parser.add_argument("--client", help="only this client_id")
        parser.add_argument("--json", action="store_true", dest="as_json")

    def handle(self, *args, as_of=None, client=None, as_json=False, **options):
        clients = Client.objects.order_by("client_id")
        if client:
            clients = clients.filter(client_id=client)
            if not clients.exists():
                raise CommandError(f"unknown client {client!r}")
        figures = client_figures(clients, as_of=as_of)
        rows = [figures[c.pk].as_dict() for c in clients]
        if as_json:
            self.stdout.write(json.dumps(rows, indent=2))
            return
        widths = {c: max(len(c), *(len(r[c]) for r in rows)) if rows else len(c) for c in COLUMNS}
        self.stdout.write("  ".join(c.rjust(widths[c]) for c in COLUMNS))
        for r in rows:
            self.stdout.write("  ".join(r[c].rjust(widths[c]) for c in COLUMNS))
