"""The maintained totals (``risk.models`` ``OpenByDue``, ``OpenByPair``, ``OpenByClient``, ``OpenByDebtor``,
``UnreleasedByDue``), kept by the database triggers of ``risk/migrations/0003_maintained_totals.py``, equal the
same totals computed here from every receivable and tranche, after each write path: an import, a second import
(a new receivable, a changed due date, a new collection), two write-offs, a release run, a deleted receivable,
and on a demo-generated book. Groups that closed are gone (no zero rows). Inside
``risk.services.totals_deferred`` (the import's transaction) the triggers are idle and the same totals are rebuilt
at the end; a dry run leaves them as they were. The pages'
figures built on these totals are compared with the reference computation in ``test_fast_portfolio.py``.
"""

import datetime
from collections import defaultdict
from decimal import Decimal

import pytest
from django.db import transaction
from django.db.models import F

from clients.demo import make_demo_workbook
from clients.importer import import_workbook
from clients.models import Receivable
from ledger.models import ReserveTranche
from ledger.services import book_write_off, release_reserves
from risk.models import OpenByClient, OpenByDebtor, OpenByDue, OpenByPair, TotalsDeferral, UnreleasedByDue
from risk.services import totals_deferred
from tests.clients.workbooks import HEADERS, base_sheets, write_workbook

pytestmark = pytest.mark.django_db

D = datetime.date


def cents(amount: Decimal) -> int:
    assert amount == amount.quantize(Decimal("0.01"))
    return int(amount * 100)


def expected_totals() -> dict:
    """Every total from the rows themselves: open = face − collected − written off > 0; unreleased tranches."""
    due, pair, client_totals = defaultdict(lambda: [0, 0]), defaultdict(lambda: [0, 0]), defaultdict(lambda: [0, 0])
    debtor_amount, debtor_clients = defaultdict(int), defaultdict(set)
    rows = Receivable.objects.values_list(
        "currency", "due_date", "issue_date", "client_id", "debtor_id", "face_value", "collected", "written_off"
    )
    for currency, due_date, issue_date, client, debtor, face, collected, written_off in rows:
        amount = cents(face - collected - written_off)
        if amount <= 0:
            continue
        for totals, key in (
            (due, (currency, due_date, issue_date)),
            (pair, (client, debtor, currency)),
            (client_totals, client),
        ):
            totals[key][0] += amount
            totals[key][1] += 1
        debtor_amount[(currency, debtor)] += amount
        debtor_clients[(currency, debtor)].add(client)
    tranches = defaultdict(lambda: [0, 0])
    for currency, due_date, created_on, amount in ReserveTranche.objects.filter(
        released_entry__isnull=True
    ).values_list("currency", "due_date", "created_on", "amount"):
        tranches[(currency, due_date, created_on)][0] += cents(amount)
        tranches[(currency, due_date, created_on)][1] += 1
    return {
        "due": {k: tuple(v) for k, v in due.items()},
        "pair": {k: tuple(v) for k, v in pair.items()},
        "client": {k: tuple(v) for k, v in client_totals.items()},
        "debtor": {k: (a, len(debtor_clients[k])) for k, a in debtor_amount.items()},
        "tranche": {k: tuple(v) for k, v in tranches.items()},
    }


def maintained_totals() -> dict:
    return {
        "due": {(r.currency, r.due_date, r.issue_date): (r.amount_c, r.n) for r in OpenByDue.objects.all()},
        "pair": {(r.client_id, r.debtor_id, r.currency): (r.amount_c, r.n) for r in OpenByPair.objects.all()},
        "client": {r.client_id: (r.amount_c, r.n) for r in OpenByClient.objects.all()},
        "debtor": {(r.currency, r.debtor_id): (r.amount_c, r.clients) for r in OpenByDebtor.objects.all()},
        "tranche": {(r.currency, r.due_date, r.created_on): (r.amount_c, r.n) for r in UnreleasedByDue.objects.all()},
    }


def assert_maintained():
    expected = expected_totals()
    assert maintained_totals() == expected
    return expected


def test_totals_follow_every_write_path(tmp_path):
    sheets = base_sheets()
    assert import_workbook(write_workbook(sheets, tmp_path / "v1.xlsx")).ok
    first = assert_maintained()
    # R1 collected in full (closed, its collection holds a reserve tranche); R2 (EUR, D2) and R3 (GBP, D1) open
    assert set(first["pair"].values()) == {(123456, 1), (500000, 1)}
    assert list(first["tranche"].values()) == [(20000, 1)]

    # A second import: R2 due later, a new receivable R4 of C1 on D1, a partial collection of R3
    header = HEADERS["Receivables"]
    sheets["Receivables"][2][header.index("due_date")] = "2026-03-20"
    sheets["Receivables"].append(["R4", "C1", "D1", "INV-4", D(2026, 2, 5), D(2026, 4, 5), "EUR", 700.0])
    sheets["Transactions"].append(["T8", D(2026, 2, 10), "C2", "collection", 1000.0, "GBP", "R3", None])
    second = import_workbook(write_workbook(sheets, tmp_path / "v2.xlsx"))
    assert second.ok, second.errors
    totals = assert_maintained()
    assert totals["due"][("EUR", D(2026, 3, 20), D(2026, 1, 10))] == (123456, 1)
    assert ("EUR", D(2026, 3, 10), D(2026, 1, 10)) not in totals["due"]  # R2's former group is gone
    assert totals["due"][("GBP", D(2026, 2, 3), D(2026, 1, 3))] == (400000, 1)

    r2 = Receivable.objects.get(receivable_id="R2")
    book_write_off(receivable=r2, amount=Decimal("234.56"), date=D(2026, 3, 1))
    assert assert_maintained()["pair"][(r2.client_id, r2.debtor_id, "EUR")] == (100000, 1)
    r2.refresh_from_db()
    book_write_off(receivable=r2, amount=r2.advanced - r2.reduced, date=D(2026, 3, 2))  # the rest of the advance
    assert assert_maintained()["pair"][(r2.client_id, r2.debtor_id, "EUR")] == (24691, 1)

    held = sum(n for _a, n in totals["tranche"].values())
    released = release_reserves(as_of=D(2026, 12, 1)).released
    assert released
    totals = assert_maintained()
    assert sum(n for _a, n in totals["tranche"].values()) == held - len(released)

    Receivable.objects.filter(receivable_id="R4").delete()  # no transaction refers to it
    totals = assert_maintained()
    assert sum(n for _a, n in totals["due"].values()) == 2  # R2 and R3


def test_totals_equal_on_a_demo_book(tmp_path):
    path = tmp_path / "demo.xlsx"
    make_demo_workbook(path, clients=12, seed=3)
    assert import_workbook(str(path)).ok
    totals = assert_maintained()
    assert len(totals["pair"]) > 10 and len(totals["tranche"]) > 10
    assert any(clients > 1 for _a, clients in totals["debtor"].values())
    release_reserves(as_of=D(2026, 11, 1))
    assert_maintained()


def test_deferred_totals_are_rebuilt_at_the_end(tmp_path):
    """Inside ``totals_deferred`` the triggers are idle; at the end of the block the totals are rebuilt."""
    assert import_workbook(write_workbook(base_sheets(), tmp_path / "v1.xlsx")).ok
    before = assert_maintained()
    with transaction.atomic(), totals_deferred():
        Receivable.objects.filter(collected=0, written_off=0).update(written_off=F("face_value"))  # closes them
        assert maintained_totals() == before  # the triggers did nothing
        assert expected_totals() != before
    after = assert_maintained()
    assert after != before
    assert not TotalsDeferral.objects.exists()


def test_the_import_defers_and_a_dry_run_leaves_the_totals_as_they_were(tmp_path):
    """The import writes inside ``totals_deferred``: its totals are rebuilt at its end, and a dry run (rolled back)
    leaves the totals and no deferral row behind."""
    sheets = base_sheets()
    assert import_workbook(write_workbook(sheets, tmp_path / "v1.xlsx")).ok
    before = assert_maintained()
    sheets["Receivables"].append(["R4", "C1", "D1", "INV-4", D(2026, 2, 5), D(2026, 4, 5), "EUR", 700.0])
    assert import_workbook(write_workbook(sheets, tmp_path / "v2.xlsx"), dry_run=True).ok
    assert maintained_totals() == before and not TotalsDeferral.objects.exists()
    assert import_workbook(write_workbook(sheets, tmp_path / "v2.xlsx")).ok
    assert assert_maintained() != before
