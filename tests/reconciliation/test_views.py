"""The /reconciliation/ pages: who may see and do what, the upload → dry run → confirm flow, and flat query counts."""

import re
from decimal import Decimal

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from atlas.roles import ROLES
from reconciliation.models import Match, MatchRequest, Statement, StatementLine
from tests.factories import ReceivableFactory
from tests.reconciliation.factories import IBAN_A, IBAN_B, IBAN_C, execute_payouts, funded_client, sample

pytestmark = pytest.mark.django_db


def upload(c, name, content):
    return c.post(reverse("reconciliation:upload"), {"file": SimpleUploadedFile(name, content)})


@pytest.mark.parametrize("role", ROLES)
def test_every_role_can_view(client_as, role):
    assert client_as(role).get(reverse("reconciliation:index")).status_code == 200


@pytest.mark.parametrize("role", ["ops", "credit", "risk", "admin"])
def test_only_finance_uploads(client_as, role, users):
    users["admin"].is_superuser = False
    users["admin"].save()
    response = upload(client_as(role), "s.csv", sample("statement.csv", E2E_1="X"))
    assert response.status_code == 403
    assert Statement.objects.count() == 0


def test_mutations_are_post_only(client_as):
    c = client_as("finance")
    assert c.get(reverse("reconciliation:upload")).status_code == 405
    assert c.get(reverse("reconciliation:confirm", args=[1])).status_code == 405


def test_anonymous_is_sent_to_login(client):
    response = client.get(reverse("reconciliation:index"))
    assert response.status_code == 302 and "/accounts/login/" in response["Location"]


def test_malformed_upload_shows_one_line_and_writes_nothing(client_as):
    response = upload(client_as("finance"), "bad.xml", sample("malformed.xml"))
    assert response.status_code == 302
    page = client_as("finance").get(reverse("reconciliation:index"))
    assert "bad.xml: not well-formed XML" in page.content.decode()
    assert Statement.objects.count() == 0


def test_day_of_a_batch_reconciled_end_to_end(client_as, users):
    """Done when: the controller uploads the bank's camt.053 for the day a batch was executed, sees every payout
    reconciled or listed with why not, and the collections it contains proposed against the right invoices."""
    a, b, c = funded_client(iban=IBAN_A), funded_client(iban=IBAN_B), funded_client(iban=IBAN_C)
    p1, p2, p3 = execute_payouts([(a, "1500.00"), (b, "2500.00"), (c, "700.00")], users)
    inv1 = ReceivableFactory(client=b, invoice_number="INV-A001", face_value=Decimal("1000.00"))
    inv2 = ReceivableFactory(client=c, invoice_number="INV-A002", face_value=Decimal("2000.00"))
    # The day's statement: the batch booking plus the incoming collection of the collection sample.
    batch_xml = sample("batch_payouts.xml", E2E_1=p1.end_to_end_id, E2E_2=p2.end_to_end_id).decode()
    collection_xml = sample("collection_two_invoices.xml").decode()
    entries = re.findall(r"<Ntry>.*?</Ntry>", collection_xml, flags=re.S)
    day = batch_xml.replace("</Stmt>", entries[0] + "</Stmt>").encode()

    finance = client_as("finance")
    response = upload(finance, "day.xml", day)
    statement = Statement.objects.get()
    assert response.status_code == 302 and response["Location"] == reverse(
        "reconciliation:statement", args=[statement.pk]
    )
    page = finance.get(response["Location"])
    html = page.content.decode()
    assert page.status_code == 200
    assert Match.objects.count() == 0  # the page is a dry run
    accept = page.context["rows"]
    proposals = {r["line"].pk: r["proposal"] for r in accept}
    matched = [p for p in proposals.values() if p and p.matched]
    assert {p.payout for p in matched if p.payout} == {p1, p2, p3}
    [collection] = [p for p in matched if p.kind == "collection"]
    assert [(x.receivable, x.amount) for x in collection.allocations] == [
        (inv1, Decimal("1000.00")),
        (inv2, Decimal("2000.00")),
    ]
    assert "no counterparty IBAN for the amount + IBAN + date rule" in html  # the bank fee, with why
    values = re.findall(r'name="accept" value="([^"]+)"', html)
    assert len(values) == 4

    response = finance.post(reverse("reconciliation:confirm", args=[statement.pk]), {"accept": values})
    assert response.status_code == 302
    assert set(Match.objects.filter(kind="payout").values_list("payout_id", flat=True)) == {p1.pk, p2.pk, p3.pk}
    assert Match.objects.filter(kind="collection").count() == 2
    inv1.refresh_from_db()
    inv2.refresh_from_db()
    assert inv1.open_amount == 0 and inv2.open_amount == 0

    index = finance.get(reverse("reconciliation:index"))
    assert index.context["rate"].matched_lines == 4 and index.context["rate"].lines == 5
    assert index.context["rate"].line_percent == "80.00 %"
    assert index.context["rate"].payout_percent == "100.00 %"
    assert [p.line.amount for p in index.context["unmatched"]] == [Decimal("12.50")]


def test_ops_confirms_a_return_from_the_page(client_as, users):
    [payout] = execute_payouts([(funded_client(), "1500.00")], users)
    upload(client_as("finance"), "ret.xml", sample("return.xml", E2E_1=payout.end_to_end_id))
    statement = Statement.objects.get()
    ops = client_as("ops")
    html = ops.get(reverse("reconciliation:statement", args=[statement.pk])).content.decode()
    values = re.findall(r'name="accept" value="([^"]+)"', html)
    assert len(values) == 1
    ops.post(reverse("reconciliation:confirm", args=[statement.pk]), {"accept": values})
    payout.refresh_from_db()
    assert payout.status == "returned"


def test_manual_match_and_unmatch_views(client_as, users):
    """Finance asks on the statement page, a Credit Manager approves there: the match, then its undoing."""
    [payout] = execute_payouts([(funded_client(), "1500.00")], users)
    upload(client_as("finance"), "s.xml", sample("single_payout.xml", E2E_1="NOTPROVIDED").replace(b"DE89 ", b"XX89 "))
    line = Statement.objects.get().lines.get()
    page = reverse("reconciliation:statement", args=[line.statement_id])
    finance = client_as("finance")
    finance.post(reverse("reconciliation:manual_match", args=[line.pk]), {"payout_id": payout.payout_id, "note": "ok"})
    req = MatchRequest.objects.get(status="pending")
    assert (req.kind, req.payout, req.requested_by) == ("payout", payout, users["finance"])
    assert not Match.objects.exists()
    assert "Waiting for a second person" in finance.get(page).content.decode()

    credit = client_as("credit")
    html = credit.get(page).content.decode()
    assert f'action="{reverse("reconciliation:decide", args=[req.pk])}"' in html and "data-confirm=" in html
    response = credit.post(reverse("reconciliation:decide", args=[req.pk]), {"decision": "approve"})
    assert response.status_code == 302
    match = Match.objects.get(active=True)
    assert match.rule == "manual" and match.created_by == users["credit"] and match.request == req

    assert client_as("ops").post(reverse("reconciliation:unmatch", args=[match.pk]), {"reason": "x"}).status_code == 403
    finance = client_as("finance")
    finance.post(reverse("reconciliation:unmatch", args=[match.pk]), {"reason": "wrong"})
    match.refresh_from_db()
    assert match.active  # only asked
    unreq = MatchRequest.objects.get(status="pending", kind="unmatch")
    client_as("credit").post(
        reverse("reconciliation:decide", args=[unreq.pk]), {"decision": "approve", "next": "index"}
    )
    match.refresh_from_db()
    assert not match.active and match.unmatched_by == users["credit"]


def test_index_query_count_stays_flat(client_as, users):
    finance = client_as("finance")

    def load_statements(n, offset):
        for i in range(n):
            csv = sample("statement.csv", E2E_1=f"E{offset + i}").replace(b"CSV-", f"S{offset + i}-".encode())
            upload(finance, f"s{offset + i}.csv", csv)

    def count(url):
        with CaptureQueriesContext(connection) as ctx:
            assert finance.get(url).status_code == 200
        return len(ctx)

    load_statements(1, 0)
    index = reverse("reconciliation:index")
    detail = reverse("reconciliation:statement", args=[Statement.objects.get().pk])
    small, small_detail = count(index), count(detail)
    load_statements(5, 10)
    assert StatementLine.objects.count() == 18
    assert count(index) == small
    assert count(detail) == small_detail
