"""The ledger pages: accounts list, account statement (keyset pagination), journal entry trace.

Ledger state is built through ``ledger.services`` (book_transactions, release_reserves,
book_payout, book_payout_return) over factory-made rows. Expected numbers are the hand-worked
example below (DOMAIN.md section 4), or an independent cumulative sum computed in the test.

Hand-worked example (client advance 0.80, reserve 0.10, hold 30 days; receivable face 10,000.00):
  T1 2026-01-05 advance 8,000.00      Dr c:factoring 8,000.00 · Cr c:settlement 8,000.00
  T2 2026-01-10 fee 25.00             Dr c:settlement 25.00 · Cr h:fee_income 25.00
  T3 2026-02-01 collection 10,000.00  O = 8,000.00 → repay 8,000.00, rest 2,000.00,
                                      reserve round(2,000.00 × 0.10) = 200.00, settle 1,800.00
                                      Dr h:bank 10,000.00 · Cr c:factoring 8,000.00 ·
                                      Cr c:rolling_reserve 200.00 · Cr c:settlement 1,800.00
                                      tranche 200.00 due 2026-03-03
  release as of 2026-03-03            Dr c:rolling_reserve 200.00 · Cr c:settlement 200.00
  payout 500.00 on 2026-03-04          Dr c:settlement 500.00 · Cr h:bank 500.00
  its return on 2026-03-06             Dr h:bank 500.00 · Cr c:settlement 500.00
Balances: factoring 0.00; settlement 8,000 − 25 + 1,800 + 200 − 500 + 500 = 9,975.00;
rolling_reserve 0.00; bank 10,000 − 500 + 500 = 10,000.00; fee_income 25.00.
"""

import csv
import datetime
import io
from decimal import Decimal

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from lxml import html

from atlas.roles import ROLES
from ledger import services
from ledger.models import Account, AccountKind, JournalEntry, Posting, SourceType
from tests.factories import (
    ClientFactory,
    DebtorFactory,
    ImportBatchFactory,
    PayoutFactory,
    ReceivableFactory,
    TransactionFactory,
)

D = Decimal
pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def fast_passwords(settings):
    """The role users' password hashing dominates these tests' setup; MD5 is fine in tests."""
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@pytest.fixture
def book(db):
    """The hand-worked example, booked through the ledger services."""
    batch = ImportBatchFactory(file_name="atlas-demo.xlsx", sha256="ab" * 32)
    client = ClientFactory(
        client_id="CL0042",
        name="Nordwind Handel GmbH",
        advance_rate=D("0.80"),
        reserve_rate=D("0.10"),
        reserve_hold_days=30,
        import_batch=batch,
        source_sheet="Clients",
        source_row=2,
    )
    debtor = DebtorFactory(debtor_id="DB0007", name="Acme Retail AG")
    receivable = ReceivableFactory(
        receivable_id="R00099",
        invoice_number="INV-2026-0099",
        client=client,
        debtor=debtor,
        face_value=D("10000.00"),
        import_batch=batch,
        source_sheet="Receivables",
        source_row=5,
    )

    def txn(txn_id, date, type_, amount, row, rec=None, reference=""):
        return TransactionFactory(
            txn_id=txn_id,
            date=date,
            client=client,
            type=type_,
            amount=D(amount),
            receivable=rec,
            reference=reference,
            import_batch=batch,
            source_sheet="Transactions",
            source_row=row,
        )

    t1 = txn("T1", datetime.date(2026, 1, 5), "advance", "8000.00", 2, receivable, "ADV-99")
    t2 = txn("T2", datetime.date(2026, 1, 10), "fee", "25.00", 3, None, "January fee")
    t3 = txn("T3", datetime.date(2026, 2, 1), "collection", "10000.00", 17, receivable, "BANK-REF-1")
    services.book_transactions([t1, t2, t3])
    release = services.release_reserves(as_of=datetime.date(2026, 3, 3))
    assert len(release.released) == 1
    payout = PayoutFactory(payout_id="PO777", client=client, amount=D("500.00"), status="executed")
    payout_entry = services.book_payout(payout=payout, date=datetime.date(2026, 3, 4))
    return_entry = services.book_payout_return(payout=payout, date=datetime.date(2026, 3, 6))
    accounts = services.client_accounts(client)
    return {
        "batch": batch,
        "client": client,
        "debtor": debtor,
        "receivable": receivable,
        "txns": (t1, t2, t3),
        "tranche": release.released[0],
        "payout": payout,
        "payout_entry": payout_entry,
        "return_entry": return_entry,
        "accounts": accounts,
        "bank": services.house_account("EUR", AccountKind.BANK),
        "fee_income": services.house_account("EUR", AccountKind.FEE_INCOME),
    }


def _csv_rows(response):
    content = b"".join(response.streaming_content) if response.streaming else response.content
    return list(csv.DictReader(io.StringIO(content.decode("utf-8"))))


# --------------------------------------------------------------------------- permissions


@pytest.mark.parametrize(
    "name,kwargs",
    [("ledger:accounts", None), ("ledger:statement", "settlement"), ("ledger:entry", "payout_entry")],
)
def test_every_role_reads_every_page_and_others_are_refused(client, users, make_user, book, name, kwargs):
    if kwargs == "settlement":
        url = reverse(name, args=[book["accounts"][AccountKind.SETTLEMENT].pk])
    elif kwargs == "payout_entry":
        url = reverse(name, args=[book["payout_entry"].pk])
    else:
        url = reverse(name)
    response = client.get(url)
    assert response.status_code == 302 and response["Location"].startswith("/accounts/login/")
    for role in ROLES:
        client.force_login(users[role])
        response = client.get(url)
        assert response.status_code == 200, role
        assert "9975.00" in response.content.decode() or name == "ledger:entry"
    client.force_login(make_user(None, username="no-role"))
    assert client.get(url).status_code == 403


def test_pages_refuse_post(client_as, book):
    """The ledger pages only read: a POST is refused (405) and books nothing."""
    c = client_as("finance")
    before = (JournalEntry.objects.count(), Posting.objects.count())
    for url in (
        reverse("ledger:accounts"),
        reverse("ledger:statement", args=[book["accounts"][AccountKind.SETTLEMENT].pk]),
        reverse("ledger:entry", args=[book["payout_entry"].pk]),
    ):
        assert c.post(url).status_code == 405
    assert (JournalEntry.objects.count(), Posting.objects.count()) == before


# --------------------------------------------------------------------------- accounts list


def test_accounts_list_shows_hand_worked_balances(client_as, book):
    c = client_as("finance")
    response = c.get(reverse("ledger:accounts"), {"export": "csv"})
    assert response.status_code == 200
    rows = {(r["Account"], r["Client"] or "house"): r for r in _csv_rows(response)}
    assert rows[("c:settlement", "CL0042")]["Kind"] == "settlement"
    assert rows[("c:settlement", "CL0042")]["Currency"] == "EUR"
    assert rows[("c:factoring", "CL0042")]["Balance"] == "0.00"
    assert rows[("c:settlement", "CL0042")]["Balance"] == "9975.00"
    assert rows[("c:rolling_reserve", "CL0042")]["Balance"] == "0.00"
    assert rows[("c:partner_rr", "CL0042")]["Balance"] == "0.00"
    bank = next(r for (code, _), r in rows.items() if code == "h:bank")
    fee = next(r for (code, _), r in rows.items() if code == "h:fee_income")
    assert bank["Balance"] == "10000.00"
    assert fee["Balance"] == "25.00"
    # posting counts: settlement has advance, fee, collection, release, payout, return = 6 postings
    assert rows[("c:settlement", "CL0042")]["Postings"] == "6"
    assert rows[("c:factoring", "CL0042")]["Postings"] == "2"
    assert bank["Postings"] == "3"


def test_accounts_list_html_links_statement_and_client(client_as, book):
    response = client_as("ops").get(reverse("ledger:accounts"))
    doc = html.fromstring(response.content)
    settlement = book["accounts"][AccountKind.SETTLEMENT]
    hrefs = doc.xpath("//table//a/@href")
    assert reverse("ledger:statement", args=[settlement.pk]) in hrefs
    assert any(h.rstrip("/").endswith("/clients/CL0042") for h in hrefs)
    row = doc.xpath(f'//table//a[@href="{reverse("ledger:statement", args=[settlement.pk])}"]/ancestor::tr')[0]
    cells = [td.text_content().strip() for td in row.xpath("./td")]
    assert "9975.00" in cells and "6" in cells


@pytest.mark.parametrize(
    "params,expected",
    [
        ({"client": "cl0042"}, {"c:factoring", "c:settlement", "c:rolling_reserve", "c:partner_rr"}),
        ({"client": "nordwind"}, {"c:factoring", "c:settlement", "c:rolling_reserve", "c:partner_rr"}),
        (
            {"owner": "house"},
            {"h:bank", "h:partner_receivable", "h:fee_income", "h:interest_income", "h:adjustments", "h:credit_losses"},
        ),
        ({"kind": "settlement"}, {"c:settlement"}),
        ({"kind": "bank", "currency": "EUR"}, {"h:bank"}),
        ({"currency": "GBP"}, set()),
        ({"owner": "client", "kind": "settlement"}, {"c:settlement"}),
    ],
)
def test_accounts_filters(client_as, book, params, expected):
    ClientFactory(client_id="CL9000", name="Other Ltd")  # a second client without accounts
    response = client_as("risk").get(reverse("ledger:accounts"), {**params, "export": "csv"})
    got = [r["Account"] for r in _csv_rows(response)]
    assert set(got) == expected
    assert len(got) == len(expected)


def test_accounts_xlsx_export_has_filtered_rows(client_as, book):
    from openpyxl import load_workbook

    response = client_as("finance").get(reverse("ledger:accounts"), {"client": "CL0042", "export": "xlsx"})
    assert response["Content-Disposition"].endswith('.xlsx"')
    ws = load_workbook(io.BytesIO(response.content)).active
    values = list(ws.iter_rows(values_only=True))
    header, rows = values[0], values[1:]
    assert len(rows) == 4
    by_code = {r[header.index("Account")]: r for r in rows}
    assert D(str(by_code["c:settlement"][header.index("Balance")])) == D("9975.00")


def test_accounts_sorting_by_balance(client_as, book):
    response = client_as("credit").get(reverse("ledger:accounts"), {"sort": "-balance", "export": "csv"})
    balances = [D(r["Balance"]) for r in _csv_rows(response)]
    assert balances == sorted(balances, reverse=True)
    assert balances[0] == D("10000.00")


def _make_clients(n, start):
    clients = [ClientFactory(client_id=f"QC{start + i:04d}") for i in range(n)]
    txns = [TransactionFactory(client=c, type="fee", amount=D("1.00")) for c in clients]
    services.book_transactions(txns)


def test_accounts_list_query_count_is_flat(client_as, book):
    c = client_as("finance")
    url = reverse("ledger:accounts")
    _make_clients(2, 0)
    c.get(url)  # warm up (session, content types)
    with CaptureQueriesContext(connection) as few:
        assert c.get(url).status_code == 200
    _make_clients(20, 100)
    with CaptureQueriesContext(connection) as many:
        response = c.get(url)
    assert response.status_code == 200
    assert len(html.fromstring(response.content).xpath("//table/tbody/tr")) == 50  # a full page now
    assert len(many) == len(few)


# --------------------------------------------------------------------------- statement


def _statement_rows(response):
    doc = html.fromstring(response.content)
    out = []
    for tr in doc.xpath('//table[@id="statement"]/tbody/tr[@data-posting]'):
        cells = [td.text_content().strip() for td in tr.xpath("./td")]
        out.append(
            {
                "id": int(tr.get("data-posting")),
                "date": cells[0],
                "entry": cells[1],
                "type": cells[2],
                "description": cells[3],
                "debit": cells[4],
                "credit": cells[5],
                "balance": cells[6],
            }
        )
    return out, doc


def _link(doc, rel):
    found = doc.xpath(f'//nav[@aria-label="Statement pages"]//a[@rel="{rel}"]/@href')
    href = found[0] if found else "#"
    return None if href == "#" else href


def test_statement_of_settlement_matches_hand_worked_example(client_as, book):
    settlement = book["accounts"][AccountKind.SETTLEMENT]
    response = client_as("finance").get(reverse("ledger:statement", args=[settlement.pk]))
    rows, doc = _statement_rows(response)
    assert [(r["date"], r["type"], r["debit"], r["credit"], r["balance"]) for r in rows] == [
        ("2026-01-05", "advance", "", "8000.00", "8000.00"),
        ("2026-01-10", "fee", "25.00", "", "7975.00"),
        ("2026-02-01", "collection", "", "1800.00", "9775.00"),
        ("2026-03-03", "reserve_release", "", "200.00", "9975.00"),
        ("2026-03-04", "payout", "500.00", "", "9475.00"),
        ("2026-03-06", "payout_return", "", "500.00", "9975.00"),
    ]
    assert "ADV-99" in rows[0]["description"] and "T1" in rows[0]["description"]
    assert doc.xpath('//*[@id="account-balance"]')[0].text_content().strip() == "9975.00"
    assert doc.xpath('//*[@id="posting-count"]')[0].text_content().strip() == "6"
    # each row links its entry
    entry_links = doc.xpath('//table[@id="statement"]//a/@href')
    assert reverse("ledger:entry", args=[book["payout_entry"].pk]) in entry_links
    assert _link(doc, "next") is None and _link(doc, "prev") is None


@pytest.fixture
def long_account(db):
    """An account with 250 postings of irregular amounts: fees and adjustments both ways."""
    client = ClientFactory(client_id="CLLONG")
    txns = []
    for i in range(250):
        amount = D(i * 37 % 1000 + 1) + D(i % 100) / 100
        if i % 3 == 0:
            txns.append(
                TransactionFactory(
                    client=client,
                    type="adjustment",
                    amount=amount,
                    date=datetime.date(2026, 1, 1) + datetime.timedelta(days=i),
                )
            )
        else:
            txns.append(
                TransactionFactory(
                    client=client,
                    type="fee",
                    amount=amount,
                    date=datetime.date(2026, 1, 1) + datetime.timedelta(days=i),
                )
            )
    # set source_row so that booking order is deterministic (date order already is)
    services.book_transactions(txns)
    account = Account.objects.get(client=client, kind=AccountKind.SETTLEMENT)
    # independent expectation: settlement (credit normal) moves +amount on adjustments, −amount on fees
    expected, running = [], D("0.00")
    for t in sorted(txns, key=lambda t: t.date):
        running += t.amount if t.type == "adjustment" else -t.amount
        expected.append((t.date.isoformat(), running))
    return account, expected


def _walk(c, url, start_params, rel):
    seen, pages, counts = [], 0, []
    href = "?" + "&".join(f"{k}={v}" for k, v in start_params.items()) if start_params else ""
    while True:
        with CaptureQueriesContext(connection) as ctx:
            response = c.get(url + href)
        assert response.status_code == 200
        for q in ctx.captured_queries:
            sql = q["sql"].upper()
            if "LEDGER_POSTING" in sql:  # the statement's own queries (the layout has its own)
                assert " OFFSET " not in sql and "COUNT(" not in sql, sql
        counts.append(len(ctx))
        rows, doc = _statement_rows(response)
        pages += 1
        seen.append(rows)
        href = _link(doc, rel)
        if href is None:
            return seen, pages, counts


def test_statement_keyset_walks_every_row_once_with_running_balance(client_as, long_account):
    account, expected = long_account
    c = client_as("finance")
    url = reverse("ledger:statement", args=[account.pk])
    c.get(url)
    pages_rows, pages, counts = _walk(c, url, {}, "next")
    assert pages == 3  # 100 + 100 + 50
    assert [len(p) for p in pages_rows] == [100, 100, 50]
    rows = [r for page in pages_rows for r in page]
    ids = [r["id"] for r in rows]
    assert ids == sorted(ids) and len(set(ids)) == 250
    assert set(ids) == set(Posting.objects.filter(account=account).values_list("id", flat=True))
    assert [(r["date"], D(r["balance"])) for r in rows] == expected
    # constant query count: page 1 costs the same as the deepest page
    assert counts[0] == counts[-1] == counts[1]


def test_statement_keyset_backwards_from_latest(client_as, long_account):
    account, expected = long_account
    c = client_as("credit")
    url = reverse("ledger:statement", args=[account.pk])
    pages_rows, pages, counts = _walk(c, url, {"last": 1}, "prev")
    assert [len(p) for p in pages_rows] == [100, 100, 50]
    rows = [r for page in reversed(pages_rows) for r in page]
    assert [(r["date"], D(r["balance"])) for r in rows] == expected
    assert len(set(counts)) == 1


def test_statement_brought_forward_on_a_deep_page(client_as, long_account):
    account, expected = long_account
    c = client_as("ops")
    url = reverse("ledger:statement", args=[account.pk])
    ids = list(Posting.objects.filter(account=account).order_by("id").values_list("id", flat=True))
    response = c.get(url, {"after": ids[99]})
    rows, doc = _statement_rows(response)
    assert rows[0]["id"] == ids[100]
    text = doc.xpath('//table[@id="statement"]/tbody/tr[1]')[0].text_content()
    assert "Balance brought forward" in text and f"{expected[99][1]:.2f}" in text


def test_statement_date_range(client_as, long_account):
    account, expected = long_account
    c = client_as("risk")
    url = reverse("ledger:statement", args=[account.pk])
    response = c.get(url, {"date_from": "2026-02-01", "date_to": "2026-02-10"})
    rows, doc = _statement_rows(response)
    want = [(d, b) for d, b in expected if "2026-02-01" <= d <= "2026-02-10"]
    assert [(r["date"], D(r["balance"])) for r in rows] == want
    assert len(rows) == 10
    # the date range is carried in the export link
    export = doc.xpath('//a[contains(@href, "export=csv")]/@href')[0]
    assert "date_from=2026-02-01" in export and "date_to=2026-02-10" in export


def test_statement_csv_streams_all_rows(client_as, long_account):
    account, expected = long_account
    response = client_as("finance").get(reverse("ledger:statement", args=[account.pk]), {"export": "csv"})
    assert response.streaming
    assert response["Content-Type"].startswith("text/csv")
    rows = _csv_rows(response)
    assert len(rows) == 250
    assert [(r["date"], D(r["balance"])) for r in rows] == expected
    for r in rows:
        assert (r["debit"] == "") != (r["credit"] == "")
        assert r["balance"].count(".") == 1 and len(r["balance"].split(".")[1]) == 2


def test_statement_csv_of_date_range(client_as, long_account):
    account, expected = long_account
    response = client_as("finance").get(
        reverse("ledger:statement", args=[account.pk]), {"export": "csv", "date_from": "2026-09-01"}
    )
    rows = _csv_rows(response)
    assert [(r["date"], D(r["balance"])) for r in rows] == [(d, b) for d, b in expected if d >= "2026-09-01"]


def test_statement_unknown_account_404(client_as, db):
    assert client_as("finance").get(reverse("ledger:statement", args=[999999])).status_code == 404


# --------------------------------------------------------------------------- entry page


def _entry(c, entry):
    response = c.get(reverse("ledger:entry", args=[entry.pk]))
    assert response.status_code == 200
    return html.fromstring(response.content), response.content.decode()


def test_collection_entry_walks_back_to_workbook_row(client_as, book):
    t3 = book["txns"][2]
    entry = JournalEntry.objects.get(source_type=SourceType.TRANSACTION, transaction=t3)
    doc, text = _entry(client_as("finance"), entry)
    postings = [
        [td.text_content().strip() for td in tr.xpath("./td")] for tr in doc.xpath('//table[@id="postings"]/tbody/tr')
    ]
    assert [(p[0], p[2], p[3]) for p in postings] == [
        ("h:bank", "10000.00", ""),
        ("c:factoring", "", "8000.00"),
        ("c:rolling_reserve", "", "200.00"),
        ("c:settlement", "", "1800.00"),
    ]
    assert doc.xpath('//*[@id="total-debits"]')[0].text_content().strip() == "10000.00"
    assert doc.xpath('//*[@id="total-credits"]')[0].text_content().strip() == "10000.00"
    assert "balanced" in doc.xpath('//table[@id="postings"]/tfoot')[0].text_content()
    trace = doc.xpath('//*[@id="trace"]')[0].text_content()
    trace = " ".join(trace.split())
    assert "T3" in trace and "collection" in trace and "10000.00" in trace and "BANK-REF-1" in trace
    assert "atlas-demo.xlsx, sheet Transactions, row 17" in trace
    assert "sha256 " + "ab" * 32 in trace
    assert "R00099" in trace and "INV-2026-0099" in trace
    assert "atlas-demo.xlsx, sheet Receivables, row 5" in trace
    assert "DB0007" in trace and "Acme Retail AG" in trace
    # the collection withheld a tranche, released by the release entry
    release_entry = book["tranche"].released_entry
    assert f"released by entry #{release_entry.pk}" in trace


def test_release_entry_walks_to_tranche_and_collection(client_as, book):
    tranche = book["tranche"]
    tranche.refresh_from_db()
    doc, _ = _entry(client_as("credit"), tranche.released_entry)
    trace = " ".join(doc.xpath('//*[@id="trace"]')[0].text_content().split())
    assert f"#{tranche.pk}" in trace and "200.00" in trace and "due 2026-03-03" in trace
    collection_entry = JournalEntry.objects.get(source_type=SourceType.TRANSACTION, transaction=book["txns"][2])
    assert reverse("ledger:entry", args=[collection_entry.pk]) in doc.xpath('//*[@id="trace"]//a/@href')
    assert "atlas-demo.xlsx, sheet Transactions, row 17" in trace


def test_payout_entry_links_payout_and_its_return(client_as, book):
    doc, _ = _entry(client_as("ops"), book["payout_entry"])
    hrefs = doc.xpath('//*[@id="trace"]//a/@href')
    assert any(h.rstrip("/").endswith(f"/payouts/{book['payout'].pk}") for h in hrefs)
    assert reverse("ledger:entry", args=[book["return_entry"].pk]) in hrefs
    assert "PO777" in doc.xpath('//*[@id="trace"]')[0].text_content()
    postings = [
        [td.text_content().strip() for td in tr.xpath("./td")] for tr in doc.xpath('//table[@id="postings"]/tbody/tr')
    ]
    assert [(p[0], p[2], p[3]) for p in postings] == [("c:settlement", "500.00", ""), ("h:bank", "", "500.00")]


def test_return_entry_shows_the_reversed_entry(client_as, book):
    doc, _ = _entry(client_as("risk"), book["return_entry"])
    trace = " ".join(doc.xpath('//*[@id="trace"]')[0].text_content().split())
    assert f"reverses entry #{book['payout_entry'].pk}" in trace
    hrefs = doc.xpath('//*[@id="trace"]//a/@href')
    assert reverse("ledger:entry", args=[book["payout_entry"].pk]) in hrefs
    # and the payout entry lists the return as its reversal
    doc, _ = _entry(client_as("risk"), book["payout_entry"])
    trace = " ".join(doc.xpath('//*[@id="trace"]')[0].text_content().split())
    assert f"reversed by entry #{book['return_entry'].pk}" in trace


def test_adjustment_entry_shows_reason_and_audit(client_as, users, book):
    entry = services.book_adjustment(
        client=book["client"],
        amount=D("-12.34"),
        date=datetime.date(2026, 3, 10),
        reason="bank charge",
        actor=users["admin"],
    )
    doc, text = _entry(client_as("finance"), entry)
    assert "bank charge" in text
    postings = [
        [td.text_content().strip() for td in tr.xpath("./td")] for tr in doc.xpath('//table[@id="postings"]/tbody/tr')
    ]
    assert sorted((p[0], p[2], p[3]) for p in postings) == [
        ("c:settlement", "12.34", ""),
        ("h:adjustments", "", "12.34"),
    ]
    assert "Audit trail" in text and "admin" in text


def test_entry_page_query_count_is_small_and_fixed(client_as, book, django_assert_max_num_queries):
    c = client_as("finance")
    entry = JournalEntry.objects.get(source_type=SourceType.TRANSACTION, transaction=book["txns"][2])
    c.get(reverse("ledger:entry", args=[entry.pk]))
    with django_assert_max_num_queries(12):
        c.get(reverse("ledger:entry", args=[entry.pk]))


def test_write_off_entry_walks_to_its_receivable(client_as, users, db):
    batch = ImportBatchFactory(file_name="book-2.xlsx")
    client = ClientFactory(client_id="CLWO", advance_rate=D("0.80"))
    receivable = ReceivableFactory(
        receivable_id="RWO1",
        client=client,
        face_value=D("1000.00"),
        import_batch=batch,
        source_sheet="Receivables",
        source_row=9,
    )
    services.book_transactions(
        [TransactionFactory(client=client, type="advance", amount=D("800.00"), receivable=receivable)]
    )
    entry = services.book_write_off(
        receivable=receivable, amount=D("300.00"), date=datetime.date(2026, 4, 1), actor=users["credit"]
    )
    doc, _ = _entry(client_as("finance"), entry)
    trace = " ".join(doc.xpath('//*[@id="trace"]')[0].text_content().split())
    assert "RWO1" in trace and "book-2.xlsx, sheet Receivables, row 9" in trace
    postings = [
        [td.text_content().strip() for td in tr.xpath("./td")] for tr in doc.xpath('//table[@id="postings"]/tbody/tr')
    ]
    assert sorted((p[0], p[2], p[3], p[4]) for p in postings) == [
        ("c:factoring", "", "300.00", "500.00"),  # 800.00 advanced − 300.00 written off
        ("h:credit_losses", "300.00", "", "300.00"),
    ]


def test_statement_csv_filename_is_safe_and_invalid_dates_are_reported(client_as, db):
    client = ClientFactory(client_id='CL"1;x')
    services.book_transactions([TransactionFactory(client=client, type="fee", amount=D("3.00"))])
    account = Account.objects.get(client=client, kind=AccountKind.SETTLEMENT)
    c = client_as("finance")
    response = c.get(reverse("ledger:statement", args=[account.pk]), {"export": "csv"})
    assert response["Content-Disposition"] == 'attachment; filename="statement-CL_1_x-settlement-EUR.csv"'
    response = c.get(reverse("ledger:statement", args=[account.pk]), {"date_from": "2026-13-45"})
    rows, doc = _statement_rows(response)
    assert len(rows) == 1 and rows[0]["debit"] == "3.00" and rows[0]["balance"] == "-3.00"
    assert doc.xpath('//div[contains(@class, "invalid-feedback")]')
