"""Batches: the simulation changes nothing, execution books Dr c:settlement / Cr h:bank once, the pain.001 file."""

import io
import os
from decimal import Decimal

import pytest
import xmlschema
from django.core.management import call_command
from lxml import etree

from atlas.models import AuditEvent
from ledger.models import Account, JournalEntry, Posting
from payouts import services
from payouts.models import Payout, PayoutBatch
from payouts.services import PayoutError
from tests.factories import ClientFactory
from tests.payouts.factories import AS_OF, EXEC_DAY, fund, funded_client, payout

pytestmark = pytest.mark.django_db
D = Decimal
NS = {"p": "urn:iso:std:iso:20022:tech:xsd:pain.001.001.03"}


def approved(client, amount, users, **kw):
    p = payout(client, amount, **kw)
    services.payout_request(payout=p, actor=users["ops"], as_of=AS_OF)
    services.payout_approve(payout=p, actor=users["credit"], as_of=AS_OF)
    p.refresh_from_db()
    assert p.status == "approved", p.checks
    return p


def db_state():
    return {
        "entries": JournalEntry.objects.count(),
        "postings": Posting.objects.count(),
        "accounts": sorted(Account.objects.values_list("pk", "balance", "posting_count")),
        "payouts": sorted(Payout.objects.values_list("pk", "status", "amount", "batch_id", "checks", "end_to_end_id")),
        "batches": sorted(PayoutBatch.objects.values_list("pk", "status", "sepa_message_id")),
        "audit": AuditEvent.objects.count(),
    }


@pytest.fixture
def two_clients(users):
    a = funded_client("1000.00", name="Müller & Söhne GmbH", iban="DE89370400440532013000", bic="COBADEFFXXX")
    b = funded_client("2500.00", iban="FR1420041010050500013M02606", bic="")
    pa = approved(a, "400.00", users)
    pb = approved(b, "2500.00", users)
    return a, b, pa, pb


def test_simulation_changes_nothing_and_shows_postings_and_balances(two_clients, users):
    a, b, pa, pb = two_clients
    batch = services.batch_create(payouts=[pa, pb], actor=users["ops"])
    before = db_state()
    sim = services.batch_simulate(batch=batch, as_of=EXEC_DAY)
    assert db_state() == before
    lines = {line.payout.pk: line for line in sim.lines}
    assert lines[pa.pk].postings == [("c:settlement", "D", D("400.00")), ("h:bank", "C", D("400.00"))]
    assert (lines[pa.pk].settlement_before, lines[pa.pk].settlement_after) == (D("1000.00"), D("600.00"))
    assert (lines[pb.pk].settlement_before, lines[pb.pk].settlement_after) == (D("2500.00"), D("0.00"))
    assert sim.totals == {"EUR": D("2900.00")}
    # the bank had no postings yet: 0.00 → −2900.00 (an asset paid out)
    assert sim.bank_before == {"EUR": D("0.00")} and sim.bank_after == {"EUR": D("-2900.00")}
    assert not sim.blocked


def test_simulation_shows_a_payout_that_would_now_block(two_clients, users):
    a, b, pa, pb = two_clients
    batch = services.batch_create(payouts=[pa, pb], actor=users["ops"])
    b.status = "suspended"
    b.save()
    before = db_state()
    sim = services.batch_simulate(batch=batch, as_of=EXEC_DAY)
    assert db_state() == before
    assert [line.payout.pk for line in sim.blocked] == [pb.pk]
    assert [r.code for r in sim.blocked[0].checks] == ["CLIENT_NOT_ACTIVE"]
    assert sim.totals == {"EUR": D("400.00")}


def test_execute_books_settlement_to_bank_and_writes_a_valid_pain001(two_clients, users):
    a, b, pa, pb = two_clients
    batch = services.batch_create(payouts=[pa, pb], actor=users["ops"])
    services.batch_execute(batch=batch, actor=users["ops"], execution_date=EXEC_DAY)
    batch.refresh_from_db()
    assert batch.status == "executed" and batch.execution_date == EXEC_DAY
    for p, settlement_after in ((pa, D("600.00")), (pb, D("0.00"))):
        p.refresh_from_db()
        assert p.status == "executed" and p.end_to_end_id
        entry = JournalEntry.objects.get(source_type="payout", source_key=str(p.pk))
        assert entry.date == EXEC_DAY
        assert {(x.account.code, x.side, x.amount) for x in entry.postings.select_related("account")} == {
            ("c:settlement", "D", p.amount),
            ("h:bank", "C", p.amount),
        }
        assert Account.objects.get(client=p.client, kind="settlement").balance == settlement_after
    assert Account.objects.get(client=None, kind="bank", currency="EUR").balance == D("-2900.00")
    out = io.StringIO()
    call_command("verify_ledger", stdout=out)
    assert out.getvalue().startswith("OK:")

    xml = bytes(batch.sepa_file)
    schema_path = os.path.join(os.path.dirname(__import__("sepaxml").__file__), "schemas", "pain.001.001.03.xsd")
    xmlschema.XMLSchema(schema_path).validate(xml.decode())
    root = etree.fromstring(xml)
    assert root.findtext(".//p:GrpHdr/p:NbOfTxs", namespaces=NS) == "2"
    assert root.findtext(".//p:GrpHdr/p:CtrlSum", namespaces=NS) == "2900.00"
    assert root.findtext(".//p:GrpHdr/p:MsgId", namespaces=NS) == batch.sepa_message_id
    txs = {
        tx.findtext("p:PmtId/p:EndToEndId", namespaces=NS): (
            tx.findtext("p:Amt/p:InstdAmt", namespaces=NS),
            tx.find("p:Amt/p:InstdAmt", namespaces=NS).get("Ccy"),
            tx.findtext("p:CdtrAcct/p:Id/p:IBAN", namespaces=NS),
            tx.findtext("p:Cdtr/p:Nm", namespaces=NS),
        )
        for tx in root.iterfind(".//p:CdtTrfTxInf", namespaces=NS)
    }
    pa.refresh_from_db()
    pb.refresh_from_db()
    assert txs == {
        pa.end_to_end_id: ("400.00", "EUR", "DE89370400440532013000", "Muller & Sohne GmbH"),
        pb.end_to_end_id: ("2500.00", "EUR", "FR1420041010050500013M02606", b.name),
    }
    assert root.findtext(".//p:DbtrAcct/p:Id/p:IBAN", namespaces=NS) == "DE02120300000000202051"
    # executing again (second click) changes nothing
    before = db_state()
    services.batch_execute(batch=batch, actor=users["ops"], execution_date=EXEC_DAY)
    assert db_state() == before


def test_non_eur_payouts_are_listed_as_non_sepa(users):
    eur = funded_client("500.00")
    gbp = ClientFactory(currency="GBP", iban="GB29NWBK60161331926819")
    fund(gbp, "800.00")
    pe = approved(eur, "500.00", users)
    pg = approved(gbp, "800.00", users)
    batch = services.batch_create(payouts=[pe, pg], actor=users["ops"])
    services.batch_execute(batch=batch, actor=users["ops"], execution_date=EXEC_DAY)
    batch.refresh_from_db()
    assert batch.report["non_sepa"] == [
        {"payout": pg.payout_id, "pk": pg.pk, "amount": "800.00", "currency": "GBP", "why": "GBP is not SEPA"}
    ]
    assert batch.report["totals"] == {"EUR": "500.00", "GBP": "800.00"}
    root = etree.fromstring(bytes(batch.sepa_file))
    assert root.findtext(".//p:GrpHdr/p:NbOfTxs", namespaces=NS) == "1"
    assert root.findtext(".//p:GrpHdr/p:CtrlSum", namespaces=NS) == "500.00"
    assert Account.objects.get(client=None, kind="bank", currency="GBP").balance == D("-800.00")


def test_a_payout_failing_at_execution_is_blocked_and_left_out(two_clients, users):
    a, b, pa, pb = two_clients
    batch = services.batch_create(payouts=[pa, pb], actor=users["ops"])
    b.iban = "DE00000000000000000000"
    b.save()
    services.batch_execute(batch=batch, actor=users["ops"], execution_date=EXEC_DAY)
    batch.refresh_from_db()
    pb.refresh_from_db()
    assert pb.status == "blocked" and pb.batch_id is None
    assert not JournalEntry.objects.filter(source_type="payout", source_key=str(pb.pk)).exists()
    assert [x["payout"] for x in batch.report["blocked"]] == [pb.payout_id]
    assert batch.report["blocked"][0]["codes"] == ["INVALID_IBAN"]
    assert [x["payout"] for x in batch.report["executed"]] == [pa.payout_id]


def test_overridden_payout_executes_unless_a_new_block_appears(users):
    client = funded_client("300.00", iban="")
    p = payout(client, "100.00")
    services.payout_request(payout=p, actor=users["ops"], as_of=AS_OF)
    services.payout_override(payout=p, actor=users["credit"], reason="paid by manual transfer details")
    p.refresh_from_db()
    assert p.status == "approved" and p.override_codes == ["INVALID_IBAN"]
    # still no IBAN, but that was overridden: it executes, outside the SEPA file
    batch = services.batch_create(payouts=[p], actor=users["ops"])
    services.batch_execute(batch=batch, actor=users["ops"], execution_date=EXEC_DAY)
    p.refresh_from_db()
    batch.refresh_from_db()
    assert p.status == "executed"
    assert batch.sepa_file is None
    assert batch.report["non_sepa"][0]["why"] == "no valid IBAN"
    # a second overridden payout meets a *new* blocking reason at execution: blocked
    q = payout(client, "100.00", payout_id="SECOND")
    services.payout_request(payout=q, actor=users["ops"], as_of=AS_OF)
    services.payout_override(payout=q, actor=users["credit"], reason="same exception")
    client.status = "on_hold"
    client.save()
    batch = services.batch_create(payouts=[q], actor=users["ops"])
    services.batch_execute(batch=batch, actor=users["ops"], execution_date=EXEC_DAY)
    q.refresh_from_db()
    assert q.status == "blocked"
    assert [c["code"] for c in q.blocking_checks] == ["CLIENT_NOT_ACTIVE", "INVALID_IBAN"]


def test_batch_create_refuses_payouts_that_are_not_approved_or_already_batched(two_clients, users):
    a, b, pa, pb = two_clients
    other = payout(a, "10.00", status="requested", requested_by=users["ops"])
    with pytest.raises(PayoutError, match="is requested, not approved"):
        services.batch_create(payouts=[pa, other], actor=users["ops"])
    services.batch_create(payouts=[pa], actor=users["ops"])
    with pytest.raises(PayoutError, match="already in batch"):
        services.batch_create(payouts=[pa, pb], actor=users["ops"])
    assert PayoutBatch.objects.count() == 1


def test_only_ops_create_and_execute_batches(two_clients, users):
    from django.core.exceptions import PermissionDenied

    a, b, pa, pb = two_clients
    for role in ("credit", "risk", "finance"):
        with pytest.raises(PermissionDenied):
            services.batch_create(payouts=[pa], actor=users[role])
    batch = services.batch_create(payouts=[pa], actor=users["ops"])
    for role in ("credit", "risk", "finance"):
        with pytest.raises(PermissionDenied):
            services.batch_execute(batch=batch, actor=users[role], execution_date=EXEC_DAY)
    assert not JournalEntry.objects.filter(source_type="payout").exists()
