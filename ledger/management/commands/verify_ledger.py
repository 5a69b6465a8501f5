"""``verify_ledger``: prove every invariant of DOMAIN.md section 4; exit 1 listing violations.

Output (stable, see docs/ledger.md):
    OK: <n> entries, <m> postings, <k> accounts verified
or one line per violation, ``VIOLATION <CODE>: <message>``, then
``FAILED: <n> violation(s)`` and exit status 1.
"""

from django.core.management.base import BaseCommand

from ledger.verify import stats, verify


class Command(BaseCommand):
    help = "Check every ledger invariant; exit non-zero listing each violation."

    def handle(self, *args, **options):
        problems = verify()
        if problems:
            for code, message in problems:
                self.stdout.write(f"VIOLATION {code}: {message}")
            self.stdout.write(f"FAILED: {len(problems)} violation(s)")
            raise SystemExit(1)
        s = stats()
        self.stdout.write(f"OK: {s['entries']} entries, {s['postings']} postings, {s['accounts']} accounts verified")
