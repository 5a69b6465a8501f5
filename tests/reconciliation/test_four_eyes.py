"""Four eyes on reconciliation overrides (issue 10): a manual match or an unmatch is a request that
changes nothing; another person approves it (a Credit Manager; Settlement Operations for a return),
which does exactly what the single manual step did before, or rejects it.

Expected ledger figures are worked out by hand from DOMAIN.md section 4 (collection rule).
"""

import datetime
import html as htmllib
import re
from decimal import Decimal

import pytest
from django.core.exceptions import PermissionDenied
from django.core.management import call_command
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from atlas.models import AuditEvent
from clients.models import Receivable, Transaction
from ledger.models import Account, JournalEntry, Posting, ReserveTranche
from ledger.services import book_transactions
from payouts.models import Payout
from reconciliation import services
from reconciliation.models import Match, MatchRequest, Statement
from tests.factories import ReceivableFactory, TransactionFactory, UserFactory
from tests.reconciliation.factories import execute_payouts, funded_client, sample

pytestmark = pytest.mark.django_db
D = Decimal


def state() -> tuple:
    """Everything a reconciliation override could change: balances, entries, postings, transactions, matches,
    receivable totals, payout states."""
    return (
        list(Account.objects.order_by("pk").values_list("pk", "balance")),
        JournalEntry.objects.count(),
        Posting.objects.count(),
        list(Transaction.objects.order_by("pk").values_list("txn_id", "amount")),
        list(Match.objects.order_by("pk").values_list("pk", "active", "kind", "payout_id", "receivable_id")),
        list(Receivable.objects.order_by("pk").values_list("pk", "collected", "written_off")),
        list(Payout.objects.order_by("pk").values_list("pk", "status")),
        ReserveTranche.objects.count(),
    )


def balance(client, kind) -> Decimal:
    return Account.objects.get(client=client, kind=kind).balance


def bank() -> Decimal:
    return Account.objects.get(client=None, kind="bank", currency="EUR").balance


def statement_of(content: bytes, users, name="s.csv") -> Statement:
    return services.import_statement(content=content, file_name=name, actor=users["finance"]).statement


@pytest.fixture
def finance_credit():
    """One person with both roles: only the four-eyes rule can refuse them."""
    return UserFactory(username="fincredit", roles=["finance", "credit"])


@pytest.fixture
def collection_case(users):
    """An incoming 3000.00 line (2026-03-05) and two receivables of one client (reserve rate 0.10, 30 days):
    R0 face 10,000.00 with 8,000.00 advanced; R1 face 1,000.00 with 432.05 advanced."""
    client = funded_client()
    r0 = Receivable.objects.get(client=client)
    r1 = ReceivableFactory(client=client, invoice_number="INV-R1", face_value=D("1000.00"))
    book_transactions(
        [
            TransactionFactory(
                client=client, type="advance", amount=D("432.05"), receivable=r1, date=datetime.date(2026, 2, 1)
            )
        ]
    )
    content = sample("statement.csv", E2E_1="").replace(b"Invoices INV-A001, INV-A002", b"payment")
    line = statement_of(content, users).lines.get(direction="CRDT")
    return client, r0, r1, line


@pytest.fixture
def payout_case(users):
    """An executed 1500.00 payout and an outgoing line no rule matches (the bank dropped the id and IBAN)."""
    client = funded_client()
    [payout] = execute_payouts([(client, "1500.00")], users)
    content = sample("single_payout.xml", E2E_1="NOTPROVIDED").replace(b"DE89 3704 0044 0532 0130 00", b"DE00X")
    [line] = statement_of(content, users, "odd.xml").lines.all()
    return client, payout, line


# --------------------------------------------------------------------------------------------- service


def test_requests_change_nothing(users, collection_case, payout_case):
    _, r0, r1, cline = collection_case
    _, payout, pline = payout_case
    before = state()
    services.request_receivables_match(
        line=cline, allocations=[(r0, D("2000.00")), (r1, D("1000.00"))], actor=users["finance"]
    )
    services.request_payout_match(line=pline, payout=payout, actor=users["finance"], note="bank lost the id")
    assert state() == before
    assert MatchRequest.objects.filter(status="pending").count() == 2
    assert AuditEvent.objects.filter(action="reconciliation.request", actor=users["finance"]).count() == 2


def test_approved_collection_books_what_the_domain_rule_says(users, collection_case):
    client, r0, r1, line = collection_case
    factoring, reserve, settlement, bank_before = (
        balance(client, "factoring"),
        balance(client, "rolling_reserve"),
        balance(client, "settlement"),
        bank(),
    )
    req = services.request_receivables_match(
        line=line, allocations=[(r0, D("2000.00")), (r1, D("1000.00"))], actor=users["finance"], note="phoned"
    )
    services.approve_match_request(request=req, actor=users["credit"])
    # R0: O = 8000.00 → repay 2000.00, rest 0.
    # R1: O = 432.05 → repay 432.05, rest 567.95, reserve round(56.795) = 56.80, settle 511.15.
    assert balance(client, "factoring") == factoring - D("2432.05")
    assert balance(client, "rolling_reserve") == reserve + D("56.80")
    assert balance(client, "settlement") == settlement + D("511.15")
    assert bank() == bank_before + D("3000.00")
    [tranche] = ReserveTranche.objects.filter(client=client)
    assert (tranche.amount, tranche.due_date) == (D("56.80"), datetime.date(2026, 4, 4))
    txns = Transaction.objects.filter(txn_id__startswith=f"BANK-{line.pk}-").order_by("txn_id")
    assert [(t.txn_id, t.receivable, t.amount, t.date) for t in txns] == [
        (f"BANK-{line.pk}-1", r0, D("2000.00"), datetime.date(2026, 3, 5)),
        (f"BANK-{line.pk}-2", r1, D("1000.00"), datetime.date(2026, 3, 5)),
    ]
    r0.refresh_from_db()
    r1.refresh_from_db()
    assert (r0.open_amount, r1.open_amount) == (D("8000.00"), D("0.00"))
    matches = Match.objects.filter(line=line).order_by("pk")
    assert [(m.kind, m.rule, m.request, m.created_by, m.note) for m in matches] == [
        ("collection", "manual", req, users["credit"], "phoned")
    ] * 2
    req.refresh_from_db()
    assert (req.status, req.decided_by) == ("approved", users["credit"])
    call_command("verify_ledger")


def test_the_requester_can_never_approve(finance_credit, users, payout_case):
    _, payout, line = payout_case
    req = services.request_payout_match(line=line, payout=payout, actor=finance_credit)
    before = state()
    with pytest.raises(services.ReconciliationError, match="Four eyes"):
        services.approve_match_request(request=req, actor=finance_credit)
    req.refresh_from_db()
    assert req.status == "pending" and state() == before
    assert not services.can_decide(finance_credit, req)

    services.approve_match_request(request=req, actor=users["credit"])
    assert Match.objects.get(active=True).payout == payout


def test_deciding_needs_the_role_of_the_kind(users, payout_case):
    _, payout, line = payout_case
    req = services.request_payout_match(line=line, payout=payout, actor=users["finance"])
    for role in ("finance", "ops", "risk"):
        with pytest.raises(PermissionDenied):
            services.approve_match_request(request=req, actor=users[role])
        with pytest.raises(PermissionDenied):
            services.reject_match_request(request=req, actor=users[role], reason="no")
    for role in ("credit", "ops", "risk"):
        with pytest.raises(PermissionDenied):
            services.request_payout_match(line=line, payout=payout, actor=users[role])
    assert MatchRequest.objects.get().status == "pending"


def test_a_return_is_approved_by_settlement_operations(users):
    client = funded_client()
    [payout] = execute_payouts([(client, "1500.00")], users)
    settlement, bank_before = balance(client, "settlement"), bank()
    [line] = statement_of(sample("return.xml", E2E_1=payout.end_to_end_id), users, "ret.xml").lines.all()
    req = services.request_payout_match(line=line, payout=payout, actor=users["finance"], note="bank return")
    assert req.kind == "return"
    with pytest.raises(PermissionDenied):
        services.approve_match_request(request=req, actor=users["credit"])
    payout.refresh_from_db()
    assert payout.status == "executed" and bank() == bank_before

    services.approve_match_request(request=req, actor=users["ops"])
    payout.refresh_from_db()
    assert payout.status == "returned"
    # payout returned X: Dr h:bank 1500.00 · Cr c:settlement 1500.00, dated the line's booking date
    assert balance(client, "settlement") == settlement + D("1500.00")
    assert bank() == bank_before + D("1500.00")
    entry = JournalEntry.objects.get(source_type="payout_return", source_key=str(payout.pk))
    assert entry.date == line.booking_date
    assert Match.objects.get(kind="return").request == req
    call_command("verify_ledger")


def test_reject_changes_nothing_and_is_final(users, collection_case):
    _, r0, r1, line = collection_case
    req = services.request_receivables_match(line=line, allocations=[(r0, D("3000.00"))], actor=users["finance"])
    before = state()
    with pytest.raises(services.ReconciliationError, match="Give a reason"):
        services.reject_match_request(request=req, actor=users["credit"], reason="  ")
    services.reject_match_request(request=req, actor=users["credit"], reason="wrong invoice")
    assert state() == before
    req.refresh_from_db()
    assert (req.status, req.decided_by, req.decision_reason) == ("rejected", users["credit"], "wrong invoice")
    with pytest.raises(services.ReconciliationError, match="rejected"):
        services.approve_match_request(request=req, actor=users["credit"])
    assert state() == before
    # the line is free for a new request
    services.request_receivables_match(
        line=line, allocations=[(r1, D("1000.00")), (r0, D("2000.00"))], actor=users["finance"]
    )


def test_approving_twice_has_one_effect(users, collection_case, make_user):
    _, r0, r1, line = collection_case
    req = services.request_receivables_match(
        line=line, allocations=[(r0, D("2000.00")), (r1, D("1000.00"))], actor=users["finance"]
    )
    services.approve_match_request(request=req, actor=users["credit"])
    after_first = state()
    services.approve_match_request(request=req, actor=users["credit"])
    services.approve_match_request(request=req, actor=make_user("credit", username="credit2"))
    assert state() == after_first
    assert Match.objects.filter(line=line).count() == 2
    assert AuditEvent.objects.filter(action="reconciliation.request_approved").count() == 1


def test_approval_checks_the_state_again(users, collection_case, payout_case):
    client, r0, r1, line = collection_case
    req = services.request_receivables_match(
        line=line, allocations=[(r1, D("1000.00")), (r0, D("2000.00"))], actor=users["finance"]
    )
    # Meanwhile R1 is paid another way (a collection of the workbook): the request would over-collect it.
    book_transactions([TransactionFactory(client=client, type="collection", amount=D("1.00"), receivable=r1)])
    before = state()
    with pytest.raises(services.ReconciliationError, match="exceeds its open amount"):
        services.approve_match_request(request=req, actor=users["credit"])
    assert state() == before
    req.refresh_from_db()
    assert req.status == "pending"
    services.reject_match_request(request=req, actor=users["credit"], reason="R1 changed")

    # A payout request whose line gets matched meanwhile (a confirmed proposal or another request).
    _, payout, pline = payout_case
    first = services.request_payout_match(line=pline, payout=payout, actor=users["finance"])
    with pytest.raises(services.ReconciliationError, match="pending request"):
        services.request_payout_match(line=pline, payout=payout, actor=users["finance"])
    services.approve_match_request(request=first, actor=users["credit"])
    match = Match.objects.get(line=pline, active=True)
    unmatch = services.request_unmatch(match=match, actor=users["finance"], reason="wrong payout")
    with pytest.raises(services.ReconciliationError, match="already has a pending unmatch"):
        services.request_unmatch(match=match, actor=users["finance"], reason="again")
    services.approve_match_request(request=unmatch, actor=users["credit"])
    again = services.request_payout_match(line=pline, payout=payout, actor=users["finance"])
    Match.objects.create(line=pline, kind="payout", rule="end_to_end", payout=payout, amount=pline.amount)
    before = state()
    with pytest.raises(services.ReconciliationError, match="already matched"):
        services.approve_match_request(request=again, actor=users["credit"])
    assert state() == before


def test_request_refuses_what_the_approval_would_refuse(users, collection_case, payout_case):
    _, r0, _, line = collection_case
    _, payout, pline = payout_case
    with pytest.raises(services.ReconciliationError, match="allocations add up to 2999.00"):
        services.request_receivables_match(line=line, allocations=[(r0, D("2999.00"))], actor=users["finance"])
    with pytest.raises(services.ReconciliationError, match="only an incoming"):
        services.request_receivables_match(line=pline, allocations=[(r0, D("1500.00"))], actor=users["finance"])
    with pytest.raises(services.ReconciliationError, match="cannot be matched to a payout"):
        services.request_payout_match(line=line, payout=payout, actor=users["finance"])
    other = Payout.objects.create(client=payout.client, payout_id="PO-X", amount=D("1500.00"), currency="EUR")
    with pytest.raises(services.ReconciliationError, match="not executed"):
        services.request_payout_match(line=pline, payout=other, actor=users["finance"])
    assert not MatchRequest.objects.exists()


# --------------------------------------------------------------------------------------------- pages


def error_beside(page: str, field: str) -> str | None:
    """The invalid-feedback text right after the field's input (``id="id_<field>"``), or None."""
    match = re.search(rf'id="id_{field}"[^>]*>\s*<div class="invalid-feedback[^"]*">([^<]+)<', page)
    return htmllib.unescape(match.group(1)).strip() if match else None


def test_the_requester_is_refused_on_the_page(client, finance_credit, users, payout_case):
    _, payout, line = payout_case
    client.force_login(finance_credit)
    client.post(reverse("reconciliation:manual_match", args=[line.pk]), {"payout_id": payout.payout_id})
    req = MatchRequest.objects.get()
    page = client.get(reverse("reconciliation:statement", args=[line.statement_id])).content.decode()
    assert "Waiting for a second person" in page
    assert reverse("reconciliation:decide", args=[req.pk]) not in page  # no button for the requester
    before = state()
    response = client.post(reverse("reconciliation:decide", args=[req.pk]), {"decision": "approve"})
    assert response.status_code == 200
    assert "Four eyes: you asked for this" in response.content.decode()
    assert state() == before
    req.refresh_from_db()
    assert req.status == "pending"

    client.force_login(users["finance"])  # finance alone may not decide at all
    assert client.post(reverse("reconciliation:decide", args=[req.pk]), {"decision": "approve"}).status_code == 403
    client.force_login(users["credit"])
    index = client.get(reverse("reconciliation:index")).content.decode()
    assert f"request {req.pk}" in index and "asked by <strong>fincredit</strong>" in index
    client.post(reverse("reconciliation:decide", args=[req.pk]), {"decision": "approve", "next": "index"})
    req.refresh_from_db()
    assert req.status == "approved" and Match.objects.get(active=True).payout == payout


def test_bad_input_is_shown_beside_the_field(client_as, users, collection_case, payout_case):
    _, r0, _, cline = collection_case
    _, payout, pline = payout_case
    finance = client_as("finance")
    before = state()
    response = finance.post(reverse("reconciliation:manual_match", args=[pline.pk]), {"payout_id": "NOPE", "note": ""})
    assert response.status_code == 200 and error_beside(response.content.decode(), "payout_id") == "No payout NOPE."
    response = finance.post(
        reverse("reconciliation:manual_match", args=[cline.pk]), {"receivables": f"{r0.receivable_id}=12.345"}
    )
    assert response.status_code == 200
    assert error_beside(response.content.decode(), "receivables") == (
        f"{r0.receivable_id}: amount '12.345' has more than 2 decimal places for EUR"
    )
    response = finance.post(
        reverse("reconciliation:manual_match", args=[cline.pk]), {"receivables": f"{r0.receivable_id}=2999.00"}
    )
    assert response.status_code == 200
    assert "allocations add up to 2999.00, the line is 3000.00" in response.content.decode()
    assert state() == before and not MatchRequest.objects.exists()

    req = services.request_payout_match(line=pline, payout=payout, actor=users["finance"])
    response = client_as("credit").post(reverse("reconciliation:decide", args=[req.pk]), {"decision": "reject"})
    assert response.status_code == 200
    assert error_beside(response.content.decode(), "reason") == "Give a reason to reject."
    response = client_as("credit").post(
        reverse("reconciliation:decide", args=[req.pk]), {"decision": "reject", "next": "index"}
    )
    assert response.status_code == 200
    assert error_beside(response.content.decode(), "reason") == "Give a reason to reject."
    response = client_as("credit").post(reverse("reconciliation:decide", args=[req.pk]), {"decision": "maybe"})
    assert response.status_code == 200 and "Select a valid choice" in response.content.decode()
    req.refresh_from_db()
    assert req.status == "pending"
    services.approve_match_request(request=req, actor=users["credit"])
    match = Match.objects.get(active=True)
    response = client_as("finance").post(reverse("reconciliation:unmatch", args=[match.pk]), {"reason": ""})
    assert response.status_code == 200
    assert error_beside(response.content.decode(), "reason") == "This field is required."
    match.refresh_from_db()
    assert match.active and not MatchRequest.objects.filter(kind="unmatch").exists()


def test_refusals_of_the_services_are_shown_on_the_page(client_as, users, collection_case):
    """A stale page (the request was rejected meanwhile) or a crafted post: a clear message, never a 500."""
    _, r0, _, line = collection_case
    req = services.request_receivables_match(line=line, allocations=[(r0, D("3000.00"))], actor=users["finance"])
    services.reject_match_request(request=req, actor=users["credit"], reason="wrong invoice")
    before = state()
    response = client_as("credit").post(reverse("reconciliation:decide", args=[req.pk]), {"decision": "approve"})
    assert response.status_code == 200
    page = htmllib.unescape(response.content.decode())
    assert f"Request {req.pk}: nothing was changed." in page
    assert "<li>This request is rejected; only a pending request can be approved.</li>" in page
    approved = services.request_receivables_match(line=line, allocations=[(r0, D("3000.00"))], actor=users["finance"])
    services.approve_match_request(request=approved, actor=users["credit"])
    [collection] = Match.objects.filter(line=line)
    response = client_as("finance").post(reverse("reconciliation:unmatch", args=[collection.pk]), {"reason": "oops"})
    assert response.status_code == 200
    assert "cannot be unmatched; correct it with an adjustment" in response.content.decode()
    response = client_as("finance").post(reverse("reconciliation:manual_match", args=[line.pk]), {"payout_id": "X"})
    assert response.status_code == 200  # the line is matched: no form any more, the summary says why
    assert f"Line {line.pk}: nothing was changed." in response.content.decode()
    assert "<li>Payout id: No payout X.</li>" in response.content.decode()
    assert MatchRequest.objects.filter(status="pending").count() == 0
    assert Match.objects.filter(line=line, active=True).count() == 1
    assert state() != before  # only the approved collection changed anything


def test_pages_query_counts_do_not_grow_with_requests(client_as, users):
    """Each pending request (payout match approved + its unmatch asked, collection asked) adds no query."""
    client = funded_client()

    def statement_with_requests(n: int, tag: str) -> Statement:
        payouts = execute_payouts([(client, f"{100 + i}.00") for i in range(n)], users)
        rows = [
            "booking_date,amount,currency,direction,counterparty_name,counterparty_iban,end_to_end_id,remittance_info,reference"
        ]
        for i in range(n):
            rows.append(f"2026-03-05,{100 + i}.00,EUR,DBIT,Payee,,,payout,{tag}-D{i}")
            rows.append(f"2026-03-05,50.00,EUR,CRDT,Debtor,,,payment,{tag}-C{i}")
        statement = statement_of(("\n".join(rows) + "\n").encode(), users, f"{tag}.csv")
        for i, p in enumerate(payouts):
            dline = statement.lines.get(bank_reference=f"{tag}-D{i}")
            cline = statement.lines.get(bank_reference=f"{tag}-C{i}")
            req = services.request_payout_match(line=dline, payout=p, actor=users["finance"])
            services.approve_match_request(request=req, actor=users["credit"])
            services.request_unmatch(match=Match.objects.get(line=dline), actor=users["finance"], reason="check")
            r = ReceivableFactory(client=client, face_value=D("50.00"))
            services.request_receivables_match(line=cline, allocations=[(r, D("50.00"))], actor=users["finance"])
        return statement

    credit = client_as("credit")

    def count(url):
        with CaptureQueriesContext(connection) as ctx:
            response = credit.get(url)
        assert response.status_code == 200
        return len(ctx), response.content.decode()

    small = statement_with_requests(1, "A")
    index = reverse("reconciliation:index")
    small_index, _ = count(index)
    small_detail, html = count(reverse("reconciliation:statement", args=[small.pk]))
    assert html.count('value="approve"') == 2  # the unmatch and the collection wait for a decision
    big = statement_with_requests(4, "B")
    big_index, html = count(index)
    assert html.count('value="approve"') == 10
    big_detail, html = count(reverse("reconciliation:statement", args=[big.pk]))
    assert html.count('value="approve"') == 8
    assert (big_index, big_detail) == (small_index, small_detail)
