"""The measurements that need Django, each in its own process (``python -m bench.child <cmd> ...``).

The database comes from ``DATABASE_URL`` (set by :mod:`bench.run` per size), so S and L never
share a process; the import runs alone in its process so its peak RSS is its own. Every
command prints one JSON object as its last line of output.
"""

from __future__ import annotations

import gc
import json
import os
import statistics
import sys
import time

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "atlas.settings")


def _setup():
    import django

    django.setup()


def cmd_migrate() -> dict:
    _setup()
    from django.core.management import call_command

    call_command("migrate", verbosity=0, interactive=False)
    return {"ok": True}


def cmd_import(path: str) -> dict:
    """The whole ``import_workbook`` (read, validate, write, book); the booking step timed alone too."""
    _setup()
    from django.db import connection

    import ledger.services as ledger_services
    from clients.importer import import_workbook
    from ledger.models import Posting

    booking = {"seconds": 0.0}
    real = ledger_services.book_transactions

    def timed_book(*args, **kwargs):
        started = time.perf_counter()
        try:
            return real(*args, **kwargs)
        finally:
            booking["seconds"] += time.perf_counter() - started

    ledger_services.book_transactions = timed_book
    connection.ensure_connection()
    gc.collect()
    started, cpu = time.perf_counter(), time.process_time()
    result = import_workbook(path)
    seconds, cpu = time.perf_counter() - started, time.process_time() - cpu
    if not result.ok:
        raise SystemExit(f"import failed: {result.errors[:5]}")
    return {
        "rows": result.rows,
        "seconds": seconds,
        "cpu_seconds": cpu,
        "entries": result.entries_booked,
        "postings": Posting.objects.count(),
        "booking_seconds": booking["seconds"],
    }


def cmd_raw_insert(n: str) -> dict:
    """``n`` posting-shaped rows through one ``executemany`` INSERT into a scratch table."""
    _setup()
    import datetime
    from decimal import Decimal

    from django.db import connection, transaction

    n = int(n)
    pg = connection.vendor == "postgresql"
    key = "BIGSERIAL PRIMARY KEY" if pg else "INTEGER PRIMARY KEY AUTOINCREMENT"
    with connection.cursor() as cursor:
        cursor.execute("DROP TABLE IF EXISTS bench_scratch_posting")
        cursor.execute(
            f"CREATE TABLE bench_scratch_posting (id {key}, entry_id bigint NOT NULL, account_id bigint NOT NULL, "
            "side varchar(1) NOT NULL, amount numeric(18, 2) NOT NULL, date date NOT NULL, "
            "balance_after numeric(18, 2) NOT NULL)"
        )
    day = datetime.date(2026, 1, 1)
    date_value = day if pg else day.isoformat()
    rows = [
        (i // 3, i % 4000, "D" if i % 2 else "C", Decimal(i % 100000) / 100 + 1, date_value, Decimal(i) / 100)
        for i in range(n)
    ]
    started = time.perf_counter()
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.executemany(
            "INSERT INTO bench_scratch_posting (entry_id, account_id, side, amount, date, balance_after) "
            "VALUES (%s, %s, %s, %s, %s, %s)",
            rows,
        )
    seconds = time.perf_counter() - started
    with connection.cursor() as cursor:
        cursor.execute("DROP TABLE bench_scratch_posting")
    return {"rows": n, "seconds": seconds, "rows_per_s": n / seconds}


PAGES = ["/", "/clients/", "drilldown", "/payouts/", "/risk/", "/portfolio/", "/ledger/", "statement"]


def cmd_pages(requests: str = "30", depth: str = "10000", warm: str = "3") -> dict:
    """Server-side time and query count of each page (test Client, signed in as a superuser)."""
    _setup()
    from django.contrib.auth import get_user_model
    from django.db import connection
    from django.test import Client as HttpClient
    from django.test.utils import CaptureQueriesContext, setup_test_environment

    from clients.models import Client
    from ledger.models import Account, Posting

    setup_test_environment()
    requests, depth, warm = int(requests), int(depth), int(warm)
    User = get_user_model()
    user = User.objects.filter(username="bench").first()
    if user is None:
        user = User.objects.create_superuser("bench", "bench@example.com", "bench-password-not-used")
    http = HttpClient()
    http.force_login(user)

    clients = list(Client.objects.order_by("client_id").values_list("client_id", flat=True))
    drilldown = clients[len(clients) // 2]
    deep = Account.objects.order_by("-posting_count", "pk").first()
    at = max(0, min(depth, deep.posting_count - 101))
    after = Posting.objects.filter(account=deep).order_by("id").values_list("id", flat=True)[at]
    urls = {
        "drilldown": f"/clients/{drilldown}/",
        "statement": f"/ledger/accounts/{deep.pk}/?after={after}",
    }
    out = {"_meta": {"clients": len(clients), "deep_account": deep.pk, "deep_postings": deep.posting_count}}
    out["_meta"]["statement_depth"] = at
    for page in PAGES:
        url = urls.get(page, page)
        for _ in range(warm):  # warm: templates, caches, the database's pages
            response = http.get(url)
            if response.status_code != 200:
                raise SystemExit(f"{url} answered {response.status_code}")
        times, queries = [], []
        for _ in range(requests):
            with CaptureQueriesContext(connection) as ctx:
                started = time.perf_counter()
                response = http.get(url)
                times.append((time.perf_counter() - started) * 1000)
            queries.append(len(ctx.captured_queries))
        times.sort()
        out[page] = {
            "url": url,
            "median_ms": statistics.median(times),
            "p95_ms": times[min(len(times) - 1, int(round(0.95 * len(times))) - 1)],
            "queries": max(queries),
        }
    return out


def cmd_payouts(n: str = "1000") -> dict:
    """A batch of ``n`` approved payouts: batch_create, batch_simulate, batch_execute (checks, postings, SEPA)."""
    _setup()
    from decimal import Decimal

    from django.contrib.auth import get_user_model
    from django.contrib.auth.models import Group

    from atlas.roles import CREDIT, OPS
    from clients.models import Client
    from ledger.selectors import client_figures, today
    from payouts.models import Payout, PayoutStatus
    from payouts.services import batch_create, batch_execute, batch_simulate

    n = int(n)
    User = get_user_model()

    def user(name, role):
        u, _ = User.objects.get_or_create(username=name)
        group, _ = Group.objects.get_or_create(name=role)
        u.groups.add(group)
        return User.objects.get(pk=u.pk)

    ops, credit = user("bench-ops", OPS), user("bench-credit", CREDIT)
    day = today()
    busy = set(
        Payout.objects.exclude(status__in=[PayoutStatus.EXECUTED, PayoutStatus.REJECTED, PayoutStatus.CANCELLED])
        .exclude(status=PayoutStatus.RETURNED)
        .values_list("client_id", flat=True)
    )
    figures = client_figures(Client.objects.filter(status="active").exclude(pk__in=busy), as_of=day)
    amount = Decimal("100.00")
    ready = sorted((f.client.pk for f in figures.values() if f.available >= amount and f.client.iban), reverse=True)
    chosen = ready[:n]
    # Fewer funded clients than n: the rest are payouts the checks will block (still handled by execution).
    others = [pk for pk in Client.objects.order_by("pk").values_list("pk", flat=True) if pk not in set(chosen)]
    chosen += others[: n - len(chosen)]
    currency = dict(Client.objects.filter(pk__in=chosen).values_list("pk", "currency"))
    Payout.objects.bulk_create(
        [
            Payout(
                payout_id=f"BENCH-{i:05d}",
                client_id=pk,
                amount=amount,
                currency=currency[pk],
                status=PayoutStatus.APPROVED,
                requested_by=ops,
                approved_by=credit,
                reference=f"bench payout {i}",
            )
            for i, pk in enumerate(chosen)
        ]
    )
    payouts = list(Payout.objects.filter(payout_id__startswith="BENCH-"))
    started = time.perf_counter()
    batch = batch_create(payouts=payouts, actor=ops)
    t_create = time.perf_counter()
    simulation = batch_simulate(batch=batch, as_of=day)
    t_simulate = time.perf_counter()
    batch = batch_execute(batch=batch, actor=ops, execution_date=day)
    t_execute = time.perf_counter()
    seconds = t_execute - started
    report = batch.report or {}
    return {
        "batch_size": len(payouts),
        "seconds": seconds,
        "per_s": len(payouts) / seconds,
        "create_s": t_create - started,
        "simulate_s": t_simulate - t_create,
        "execute_s": t_execute - t_simulate,
        "executed": len(report.get("executed", [])),
        "blocked": len(report.get("blocked", [])),
        "sepa_count": report.get("sepa_count"),
        "simulated_lines": len(getattr(simulation, "lines", []) or []),
    }


COMMANDS = {
    "migrate": cmd_migrate,
    "import": cmd_import,
    "raw_insert": cmd_raw_insert,
    "pages": cmd_pages,
    "payouts": cmd_payouts,
}


if __name__ == "__main__":
    name, *args = sys.argv[1:]
    result = COMMANDS[name](*args)
    sys.stdout.write("\n" + json.dumps(result, default=str) + "\n")
