"""Payout pages: roles on every view, POST-only mutations, confirmation steps, query counts, trace and audit."""

import re
from decimal import Decimal

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import URLPattern, reverse

from atlas.roles import ALL
from ledger.models import JournalEntry
from payouts import services, urls
from payouts.models import Payout, PayoutBatch
from tests.factories import ClientFactory, ImportBatchFactory, ReceivableFactory, TransactionFactory
from tests.payouts.factories import AS_OF, EXEC_DAY, funded_client, payout

pytestmark = pytest.mark.django_db
D = Decimal

POST_VIEWS = {
    "bulk": ({"ops", "credit"}, {}),
    "propose": ({"ops"}, {}),
    "act": ({"ops", "credit"}, {"pk": 1, "action": "approve"}),
    "batch_execute": ({"ops"}, {"pk": 1}),
    "batch_remove": ({"ops"}, {"pk": 1, "payout_pk": 1}),
}


def test_every_payout_view_declares_its_roles():
    for pattern in urls.urlpatterns:
        assert isinstance(pattern, URLPattern)
        roles = getattr(pattern.callback, "atlas_roles", None)
        assert roles, f"{pattern.name} declares no roles"
    read_only = {p.name for p in urls.urlpatterns} - set(POST_VIEWS)
    for name in read_only - {"batch_sepa"}:
        view = next(p for p in urls.urlpatterns if p.name == name).callback
        assert view.atlas_roles == ALL, name


@pytest.mark.parametrize("name", sorted(POST_VIEWS))
def test_post_views_refuse_other_roles_and_get(name, client_as, users):
    allowed, kwargs = POST_VIEWS[name]
    url = reverse(f"payouts:{name}", kwargs=kwargs)
    for role in {"ops", "credit", "risk", "finance", "admin"} - allowed:
        response = client_as(role).post(url, {})
        assert response.status_code == 403, (name, role)
    response = client_as(sorted(allowed)[0]).get(url)
    assert response.status_code == 405


def test_anonymous_is_sent_to_login(client):
    response = client.get(reverse("payouts:queue"))
    assert response.status_code == 302 and "/accounts/login/" in response["Location"]


def test_queue_query_count_is_flat(client_as, users):
    """Every column the queue shows (the client, both users, the batch, the checks) comes with the page's
    rows: no query per row (the queue reads only the columns it shows), none per page link."""
    batch = PayoutBatch.objects.create(created_by=users["ops"])

    def make(n, status="requested"):
        for _ in range(n):
            c = ClientFactory()
            payout(
                c,
                "100.00",
                status=status,
                requested_by=users["ops"],
                approved_by=users["credit"] if status == "approved" else None,
                batch=batch if status == "approved" else None,
                checks=[{"code": "EXPOSURE_WARNING", "severity": "warn", "message": "x"}],
            )

    http = client_as("credit")
    make(5)
    make(3, "approved")
    with CaptureQueriesContext(connection) as small:
        assert http.get(reverse("payouts:queue") + "?status=requested").status_code == 200
    with CaptureQueriesContext(connection) as small_all:
        assert http.get(reverse("payouts:queue") + "?status=all").status_code == 200
    make(55)
    make(30, "approved")
    with CaptureQueriesContext(connection) as large:
        response = http.get(reverse("payouts:queue") + "?status=requested")
    assert response.status_code == 200
    assert response.content.decode().count('name="payouts"') == 50  # a full page of 60
    assert len(large.captured_queries) == len(small.captured_queries)
    with CaptureQueriesContext(connection) as large_all:
        html = http.get(reverse("payouts:queue") + "?status=all&page=2").content.decode()
    assert f'href="/payouts/batches/{batch.pk}/">#{batch.pk}</a>' in html and "credit" in html
    assert len(large_all.captured_queries) == len(small_all.captured_queries)


def test_queue_rows_show_the_related_objects_values(users):
    """The queue reads the client's and the users' columns as annotations (no Client/User per row): every
    row's values are those of the payout's related objects, in every ordering, including a missing approver."""
    from django.test import RequestFactory
    from django_tables2 import RequestConfig

    from payouts.selectors import queue_payouts
    from payouts.tables import PayoutTable

    batch = PayoutBatch.objects.create(created_by=users["ops"])
    for i in range(7):
        payout(
            ClientFactory(name=f"Client {i} & Co"),
            f"{100 + i}.00",
            status="approved" if i % 2 else "requested",
            requested_by=users["ops"],
            approved_by=users["credit"] if i % 2 else None,
            batch=batch if i % 3 == 0 else None,
        )
    for sort in ("", "client", "-client_name", "amount"):
        table = PayoutTable(queue_payouts())
        RequestConfig(RequestFactory().get("/payouts/", {"sort": sort} if sort else {}), paginate=False).configure(
            table
        )
        rows = list(table.as_values(exclude_columns=("select",)))[1:]
        reference = Payout.objects.select_related("client", "requested_by", "approved_by").in_bulk(
            [p.pk for p in table.data]
        )
        assert len(rows) == 7
        for row, shown in zip(rows, table.data, strict=True):
            p = reference[shown.pk]
            assert row[:5] == [p.payout_id, p.client.client_id, p.client.name, p.amount, p.currency]
            assert row[7:10] == [
                p.requested_by.username,
                p.approved_by.username if p.approved_by else None,
                f"#{p.batch_id}" if p.batch_id else None,
            ]
        if sort == "client":
            assert [r[1] for r in rows] == sorted(r[1] for r in rows)


def test_queue_tabs_counts_and_filters(client_as, users):
    a = ClientFactory(client_id="AAA")
    b = ClientFactory(client_id="BBB", currency="GBP")
    payout(a, "100.00", status="requested", requested_by=users["ops"])
    payout(a, "250.00", status="requested", requested_by=users["ops"], check_codes=",EXPOSURE_WARNING,")
    payout(b, "300.00", status="blocked", requested_by=users["ops"])
    http = client_as("finance")
    html = http.get(reverse("payouts:queue")).content.decode()
    assert re.search(r'data-testid="tab-requested">Requested <span[^>]*>2</span>', html)
    assert re.search(r'data-testid="tab-blocked">Blocked <span[^>]*>1</span>', html)
    html = http.get(reverse("payouts:queue") + "?status=requested&amount_min=200").content.decode()
    assert "250.00" in html and ">100.00<" not in html
    html = http.get(reverse("payouts:queue") + "?status=requested&check=EXPOSURE_WARNING").content.decode()
    assert "250.00" in html and ">100.00<" not in html
    html = http.get(reverse("payouts:queue") + "?status=all&currency=GBP").content.decode()
    assert "300.00" in html and "250.00" not in html


def test_queue_pages_count_the_rows_of_the_tab(client_as, users):
    """The pager's row count is the tab's count (no second COUNT): equal to the rows the tab's filter holds,
    with filters, on every tab, on a page past the end and on an empty tab."""
    for i in range(7):
        c = ClientFactory(client_id=f"C{i}", currency="GBP" if i % 2 else "EUR")
        payout(c, f"{100 + i}.00", status="requested", requested_by=users["ops"])
    for i in range(3):
        payout(ClientFactory(client_id=f"B{i}"), "50.00", status="blocked")
    http = client_as("finance")
    cases = [
        ("requested", {}, Payout.objects.filter(status="requested")),
        ("requested", {"currency": "GBP"}, Payout.objects.filter(status="requested", currency="GBP")),
        ("requested", {"amount_min": "104", "page": "9"}, Payout.objects.filter(status="requested", amount__gte=104)),
        ("all", {}, Payout.objects.all()),
        ("all", {"currency": "EUR", "page": "2"}, Payout.objects.filter(currency="EUR")),
        ("blocked", {"amount_max": "10"}, Payout.objects.none()),
        ("approved", {}, Payout.objects.none()),
    ]
    for status, params, expected in cases:
        response = http.get(reverse("payouts:queue"), {"status": status, **params})
        table = response.context["table"]
        assert table.paginator.count == expected.count(), (status, params)
        assert {r.record.pk for r in table.paginated_rows} <= set(expected.values_list("pk", flat=True))
        with_small_pages = http.get(reverse("payouts:queue"), {"status": status, "per_page": "2", **params})
        shown = with_small_pages.context["table"]
        assert shown.paginator.num_pages == max(1, -(-expected.count() // 2)), (status, params)


def test_bulk_request_has_a_confirmation_step(client_as, users):
    ps = [payout(funded_client("500.00"), "200.00") for _ in range(3)]
    http = client_as("ops")
    data = {"action": "request", "payouts": [p.pk for p in ps[:2]]}
    response = http.post(reverse("payouts:bulk"), data)
    assert response.status_code == 200
    assert "Confirm: Request 2 payout(s)" in response.content.decode()
    assert set(Payout.objects.values_list("status", flat=True)) == {"ready"}
    response = http.post(reverse("payouts:bulk"), data | {"confirm": "1"})
    assert response.status_code == 302
    assert sorted(Payout.objects.values_list("status", flat=True)) == ["ready", "requested", "requested"]
    # credit may not bulk-request
    assert client_as("credit").post(reverse("payouts:bulk"), data | {"confirm": "1"}).status_code == 403


def test_single_actions_through_the_detail_page(client_as, users):
    client = funded_client("1000.00")
    p = payout(client, "400.00")
    ops = client_as("ops")
    assert "Request" in ops.get(reverse("payouts:detail", args=[p.pk])).content.decode()
    ops.post(reverse("payouts:act", args=[p.pk, "request"]), {"amount": "350.00"})
    p.refresh_from_db()
    assert (p.status, p.amount) == ("requested", D("350.00"))
    credit = client_as("credit")
    response = credit.post(reverse("payouts:act", args=[p.pk, "reject"]), {"reason": ""}, follow=True)
    assert "A written reason is required" in response.content.decode()
    credit.post(reverse("payouts:act", args=[p.pk, "approve"]))
    p.refresh_from_db()
    assert p.status == "approved" and p.approved_by == users["credit"]
    html = credit.get(reverse("payouts:detail", args=[p.pk])).content.decode()
    assert "payout.request" in html and "payout.approve" in html
    assert "ready → requested" in html and "requested → approved" in html


def test_batch_pages_execute_and_download(client_as, users):
    imp = ImportBatchFactory(file_name="book.xlsx")
    client = ClientFactory()
    rec = ReceivableFactory(client=client, import_batch=imp, source_sheet="Receivables", source_row=7)
    t = TransactionFactory(
        client=client,
        type="advance",
        amount=D("800.00"),
        receivable=rec,
        import_batch=imp,
        source_sheet="Transactions",
        source_row=12,
    )
    from ledger.services import book_transactions

    book_transactions([t])
    p = payout(client, "500.00")
    services.payout_request(payout=p, actor=users["ops"], as_of=AS_OF)
    services.payout_approve(payout=p, actor=users["credit"], as_of=AS_OF)
    ops = client_as("ops")
    response = ops.post(reverse("payouts:bulk"), {"action": "batch", "payouts": [p.pk], "confirm": "1"})
    batch = PayoutBatch.objects.get()
    assert response["Location"] == reverse("payouts:batch_detail", args=[batch.pk])
    html = ops.get(reverse("payouts:batch_detail", args=[batch.pk]) + f"?date={EXEC_DAY}").content.decode()
    assert "Dr c:settlement 500.00" in html and "Cr h:bank 500.00" in html
    # without the confirmation tick nothing happens
    ops.post(reverse("payouts:batch_execute", args=[batch.pk]), {"execution_date": EXEC_DAY.isoformat()})
    batch.refresh_from_db()
    assert batch.status == "draft"
    ops.post(
        reverse("payouts:batch_execute", args=[batch.pk]), {"execution_date": EXEC_DAY.isoformat(), "confirm": "1"}
    )
    batch.refresh_from_db()
    assert batch.status == "executed"
    response = client_as("finance").get(reverse("payouts:batch_sepa", args=[batch.pk]))
    assert response.status_code == 200 and b'<InstdAmt Ccy="EUR">500.00</InstdAmt>' in response.content
    assert client_as("risk").get(reverse("payouts:batch_sepa", args=[batch.pk])).status_code == 403
    # the trace: payout → entry → the advance that funded it → receivable → workbook rows
    entry = JournalEntry.objects.get(source_type="payout", source_key=str(p.pk))
    html = ops.get(reverse("payouts:detail", args=[p.pk])).content.decode()
    assert f'href="/ledger/entries/{entry.pk}/"' in html
    assert t.txn_id in html and rec.receivable_id in html
    assert "book.xlsx · Transactions!row 12" in html and "book.xlsx · Receivables!row 7" in html
    assert client_as("finance").get(reverse("payouts:batch_list")).status_code == 200


def test_propose_button(client_as, users):
    funded_client("150.00", client_id="PROP")
    response = client_as("ops").post(reverse("payouts:propose"), {"as_of": AS_OF.isoformat()}, follow=True)
    assert "1 created" in response.content.decode()
    assert Payout.objects.get().payout_id == "PO-PROP-1"


def test_check_badges_are_format_html_join():
    from django.utils.html import format_html_join
    from django.utils.safestring import SafeString, mark_safe

    from payouts.tables import check_badges

    def reference(checks):
        return format_html_join(
            " ",
            '<span class="badge text-bg-{}" title="{}">{}</span>',
            (
                (
                    "danger" if c.get("severity") == "block" else "warning text-dark",
                    c.get("message", ""),
                    c.get("code"),
                )
                for c in checks or []
            ),
        )

    cases = [
        None,
        [],
        [{"code": "EXPOSURE_WARNING", "severity": "warn", "message": "x"}],
        [
            {"code": "INVALID_IBAN", "severity": "block", "message": "IBAN \"DE00\" <bad> & 'odd'"},
            {"code": None, "severity": "warn"},
            {"code": "<b>", "severity": "info", "message": mark_safe("<i>already safe</i>")},
            {"code": 7, "message": 3.5},
        ],
    ]
    for checks in cases:
        got = check_badges(checks)
        assert got == reference(checks) and isinstance(got, SafeString), checks
