"""``python manage.py import_workbook PATH [--dry-run] [--user USERNAME]``: a thin shell over
:func:`clients.importer.import_workbook`. Prints every problem as ``Sheet!Cell: message`` and
exits non-zero (CommandError) when there is any; nothing is written then."""

import sys

from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError

from clients.importer import import_workbook


class _TtyProgress:
    """A one-line ``\\r`` counter on a terminal; silent otherwise."""

    def __init__(self, stream):
        self.stream = stream
        self.enabled = hasattr(stream, "isatty") and stream.isatty()
        self.last = None

    def __call__(self, phase: str, done: int, total: int):
        if not self.enabled:
            return
        pct = f"{100 * done // total:3d}%" if total else "   "
        line = f"\r{phase:<8} {pct} {done:>9,}/{total:,}"
        if line != self.last:
            self.stream.write(line)
            self.stream.flush()
            self.last = line

    def close(self):
        if self.enabled and self.last:
            self.stream.write("\n")
            self.stream.flush()


class Command(BaseCommand):
    help = "Import the settlement workbook (.xlsx): all or nothing; --dry-run validates and rolls back."

    def add_arguments(self, parser):
        parser.add_argument("path")
        parser.add_argument("--dry-run", action="store_true", help="validate and book, then roll everything back")
        parser.add_argument("--user", help="username recorded as importer (and requester of requested payouts)")

    def handle(self, *args, path, dry_run, user, **options):
        actor = None
        if user:
            actor = get_user_model().objects.filter(username=user).first()
            if actor is None:
                raise CommandError(f"unknown user {user!r}")
        progress = _TtyProgress(sys.stderr)
        try:
            result = import_workbook(path, user=actor, dry_run=dry_run, progress=progress)
        finally:
            progress.close()
        for warning in result.warnings:
            self.stdout.write(f"warning: {warning}")
        for line in result.count_lines():
            self.stdout.write(line)
        if not result.ok:
            for error in result.errors:
                self.stderr.write(error)
            raise CommandError(f"{len(result.errors)} problem(s) in {result.file_name or path}: nothing was imported.")
        rate = result.rows / result.seconds if result.seconds else 0
        verb = "Dry run OK (rolled back)" if dry_run else "Imported"
        self.stdout.write(
            self.style.SUCCESS(
                f"{verb}: {result.file_name} (sha256 {result.sha256[:12]}), {result.rows:,} rows, "
                f"{result.entries_booked:,} journal entries, {result.seconds:.1f} s ({rate:,.0f} rows/s)."
            )
        )
