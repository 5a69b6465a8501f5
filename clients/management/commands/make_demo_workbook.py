"""``python manage.py make_demo_workbook PATH --clients N --seed S``: a deterministic, realistic
workbook the importer accepts (see :mod:`clients.demo`)."""

import time

from django.core.management.base import BaseCommand, CommandError

from clients.demo import make_demo_workbook


class Command(BaseCommand):
    help = "Write a deterministic demo workbook (.xlsx) in the import format."

    def add_arguments(self, parser):
        parser.add_argument("path")
        parser.add_argument("--clients", type=int, default=40)
        parser.add_argument("--seed", type=int, default=7)

    def handle(self, *args, path, clients, seed, **options):
        if clients < 1:
            raise CommandError("--clients must be at least 1")
        started = time.monotonic()
        counts = make_demo_workbook(path, clients=clients, seed=seed)
        summary = ", ".join(f"{n:,} {name.lower()}" for name, n in counts.items())
        self.stdout.write(self.style.SUCCESS(f"Wrote {path}: {summary} in {time.monotonic() - started:.1f} s."))
