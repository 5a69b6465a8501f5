"""``python manage.py import_statement PATH [--dry-run] [--confirm --user NAME] [--window N]``.

Imports a camt.053 or CSV bank statement (docs/reconciliation.md) and prints the proposed matches.
``--dry-run`` writes nothing; ``--confirm`` books every proposal as ``--user`` (a finance or ops user).
"""

from pathlib import Path

from django.contrib.auth import get_user_model
from django.core.exceptions import PermissionDenied
from django.core.management.base import BaseCommand, CommandError

from atlas.money import fmt
from reconciliation import services
from reconciliation.parsers import MAX_BYTES, StatementError


class Command(BaseCommand):
    help = "Import a bank statement (camt.053 XML or CSV) and propose matches to payouts and receivables."

    def add_arguments(self, parser):
        parser.add_argument("path")
        parser.add_argument("--dry-run", action="store_true", help="parse and propose; write nothing")
        parser.add_argument("--confirm", action="store_true", help="book every proposed match of this statement")
        parser.add_argument("--user", help="username of the finance/ops user confirming (audit trail)")
        parser.add_argument("--window", type=int, default=None, help="± days for the amount+IBAN+date rule")

    def handle(self, *args, path, dry_run, confirm, user, window, **options):
        file = Path(path)
        if not file.is_file():
            raise CommandError(f"{path}: no such file")
        if file.stat().st_size > MAX_BYTES:
            raise CommandError(f"{file.name}: file is larger than {MAX_BYTES // (1024 * 1024)} MB")
        content = file.read_bytes()
        actor = None
        if confirm:
            if dry_run:
                raise CommandError("--dry-run and --confirm exclude each other")
            if not user:
                raise CommandError("--confirm needs --user (who confirms the matches)")
            actor = get_user_model().objects.filter(username=user).first()
            if actor is None:
                raise CommandError(f"no user {user!r}")
        if dry_run:
            try:
                preview = services.preview_statement(content=content, file_name=file.name, window=window)
            except StatementError as exc:
                raise CommandError(f"{file.name}: {exc}") from None
            if preview.already_imported:
                self.stdout.write(f"{file.name} was already imported (statement {preview.already_imported.pk}).")
                return
            self.stdout.write(f"Dry run: {len(preview.lines)} new line(s), nothing written.")
            for d in preview.duplicates + preview.skipped:
                self.stdout.write(f"  skipped {d}")
            self._print(preview.proposals)
            return
        try:
            result = services.import_statement(content=content, file_name=file.name)
        except services.ReconciliationError as exc:
            raise CommandError(exc.message) from None
        self.stdout.write(result.message)
        statement = result.statement
        if confirm:
            try:
                applied = services.apply_proposals(actor=actor, statement=statement, window=window)
            except PermissionDenied as exc:
                raise CommandError(f"{user}: {exc}") from None
            self.stdout.write(f"Booked {len(applied.matches)} match(es) on {applied.lines} line(s).")
            for p in applied.problems + applied.skipped:
                self.stderr.write(f"  not booked: {p}")
        self._print(services.proposals_for(statement, window=window))

    def _print(self, proposals):
        matched = [p for p in proposals if p.matched]
        self.stdout.write(f"{len(matched)} proposed match(es), {len(proposals) - len(matched)} unmatched line(s):")
        for p in proposals:
            line = p.line
            head = (
                f"  entry {line.entry_index}.{line.tx_index} {line.booking_date} {line.direction} "
                f"{fmt(line.amount)} {line.currency}"
            )
            if p.matched:
                self.stdout.write(f"{head}: {p.kind} [{p.rule}] {p.reason}")
            else:
                self.stdout.write(f"{head}: unmatched: {p.reason}")
