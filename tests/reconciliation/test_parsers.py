"""Parsing the hand-written samples: what each line says, and files refused with one line."""

import datetime
from decimal import Decimal

import pytest
from lxml import etree

from reconciliation.parsers import MAX_BYTES, StatementError, _parser, parse_camt053, parse_csv, parse_statement
from tests.reconciliation.factories import sample


def test_single_payout_line():
    parsed = parse_camt053(sample("single_payout.xml", E2E_1="ATLAS-PO-7"))
    assert parsed.message_id == "STMT-20260302-0001"
    assert parsed.statement_ids == ["2026-03-02-DE02"]
    assert parsed.account_iban == "DE02120300000000202051"
    [line] = parsed.lines
    assert (line.entry_index, line.tx_index) == (1, 1)
    assert line.booking_date == datetime.date(2026, 3, 2)
    assert line.amount == Decimal("1500.00") and line.currency == "EUR" and line.direction == "DBIT"
    assert line.end_to_end_id == "ATLAS-PO-7"
    assert line.counterparty_name == "Client One GmbH"
    assert line.counterparty_iban == "DE89370400440532013000"  # spaces removed
    assert line.bank_reference == "BNK-20260302-0001"
    assert not line.is_reversal and line.return_reason == ""


def test_batch_entry_splits_into_transactions_and_pending_is_skipped():
    parsed = parse_camt053(sample("batch_payouts.xml", E2E_1="A", E2E_2="B"))
    assert [(x.entry_index, x.tx_index, x.amount) for x in parsed.lines] == [
        (1, 1, Decimal("1500.00")),
        (1, 2, Decimal("2500.00")),
        (1, 3, Decimal("700.00")),
        (2, 1, Decimal("12.50")),
    ]
    assert [x.bank_reference for x in parsed.lines] == [
        "BNK-20260303-0101",
        "BNK-20260303-0102",
        "BNK-20260303-0103",
        "BNK-20260303-0200",
    ]
    assert parsed.lines[2].end_to_end_id == ""  # NOTPROVIDED
    assert parsed.lines[1].counterparty_iban == "GB29NWBK60161331926819"
    assert parsed.skipped == ["entry 3: status PDNG, only booked (BOOK) entries are imported"]


def test_return_carries_reversal_and_reason():
    [line] = parse_camt053(sample("return.xml", E2E_1="ATLAS-PO-9")).lines
    assert line.direction == "CRDT" and line.is_reversal and line.return_reason == "AC04"
    assert line.end_to_end_id == "ATLAS-PO-9"


def test_incoming_counterparty_is_the_debtor_and_remittance_is_collected():
    first, second = parse_camt053(sample("collection_two_invoices.xml")).lines
    assert first.counterparty_name == "Debtor Handels GmbH"
    assert first.counterparty_iban == "DE44500105175407324931"
    assert first.remittance_info == "Invoices INV-A001, INV-A002. Thank you"
    assert second.remittance_info == "INV-A003"  # structured RfrdDocInf/Nb


def test_later_camt_version_with_status_code_and_tx_amount():
    xml = b"""<?xml version="1.0"?>
<Document xmlns="urn:iso:std:iso:20022:tech:xsd:camt.053.001.08"><BkToCstmrStmt><GrpHdr><MsgId>M</MsgId></GrpHdr>
<Stmt><Id>S</Id><Ntry><Amt Ccy="GBP">10.05</Amt><CdtDbtInd>DBIT</CdtDbtInd><Sts><Cd>BOOK</Cd></Sts>
<BookgDt><DtTm>2026-03-02T10:00:00</DtTm></BookgDt><NtryDtls><TxDtls><Refs><EndToEndId>E1</EndToEndId></Refs>
<Amt Ccy="GBP">10.05</Amt><RltdPties><Cdtr><Pty><Nm>P</Nm></Pty></Cdtr></RltdPties></TxDtls></NtryDtls></Ntry></Stmt>
</BkToCstmrStmt></Document>"""
    [line] = parse_camt053(xml).lines
    assert (line.amount, line.currency, line.booking_date) == (Decimal("10.05"), "GBP", datetime.date(2026, 3, 2))
    assert line.counterparty_name == "P" and line.end_to_end_id == "E1"


def test_malformed_xml_is_refused_in_one_line():
    with pytest.raises(StatementError) as exc:
        parse_statement(sample("malformed.xml"), "malformed.xml")
    assert str(exc.value).startswith("not well-formed XML")
    assert "\n" not in str(exc.value)


def test_external_entity_is_refused_and_never_resolved(tmp_path):
    content = sample("xxe.xml")
    with pytest.raises(StatementError) as exc:
        parse_camt053(content)
    assert "DOCTYPE" in str(exc.value)
    assert "root:" not in str(exc.value)
    # The parser itself (before the DOCTYPE check) leaves the entity unresolved: nothing is read from disk.
    root = etree.fromstring(content, parser=_parser())
    texts = "".join(root.itertext())
    assert "root:" not in texts


def test_entity_expansion_bomb_is_refused():
    bomb = b"""<?xml version="1.0"?>
<!DOCTYPE lolz [<!ENTITY lol "lol"><!ENTITY lol2 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">
<!ENTITY lol3 "&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;">]>
<Document xmlns="urn:iso:std:iso:20022:tech:xsd:camt.053.001.02"><BkToCstmrStmt>&lol3;</BkToCstmrStmt></Document>"""
    with pytest.raises(StatementError, match="DOCTYPE"):
        parse_camt053(bomb)


@pytest.mark.parametrize(
    ("xml", "message"),
    [
        (b'<Document xmlns="urn:iso:std:iso:20022:tech:xsd:pain.001.001.03"/>', "not a camt.053 statement"),
        (b"<Document/>", "not a camt.053 statement"),
        (
            b'<Document xmlns="urn:iso:std:iso:20022:tech:xsd:camt.053.001.02"><BkToCstmrStmt><Stmt><Ntry>'
            b'<Amt Ccy="EUR">1.005</Amt><CdtDbtInd>DBIT</CdtDbtInd><BookgDt><Dt>2026-03-02</Dt></BookgDt>'
            b"</Ntry></Stmt></BkToCstmrStmt></Document>",
            "entry 1: amount '1.005' has more than 2 decimal places",
        ),
        (
            b'<Document xmlns="urn:iso:std:iso:20022:tech:xsd:camt.053.001.02"><BkToCstmrStmt><Stmt><Ntry>'
            b'<Amt Ccy="XYZ">1.00</Amt></Ntry></Stmt></BkToCstmrStmt></Document>',
            "entry 1: currency 'XYZ'",
        ),
        (
            b'<Document xmlns="urn:iso:std:iso:20022:tech:xsd:camt.053.001.02"><BkToCstmrStmt><Stmt><Ntry>'
            b'<Amt Ccy="EUR">5.00</Amt><CdtDbtInd>DBIT</CdtDbtInd><BookgDt><Dt>2026-03-02</Dt></BookgDt><NtryDtls>'
            b'<TxDtls><Amt Ccy="EUR">1.00</Amt></TxDtls><TxDtls><Amt Ccy="EUR">2.00</Amt></TxDtls>'
            b"</NtryDtls></Ntry></Stmt></BkToCstmrStmt></Document>",
            "entry 1: transactions add up to 3.00, the entry says 5.00",
        ),
    ],
)
def test_invalid_camt_content(xml, message):
    with pytest.raises(StatementError) as exc:
        parse_camt053(xml)
    assert message in str(exc.value)


def test_size_limit():
    with pytest.raises(StatementError, match="larger than"):
        parse_statement(b"<" + b" " * MAX_BYTES, "big.xml")


def test_csv_layout():
    parsed = parse_csv(sample("statement.csv", E2E_1="ATLAS-PO-1"))
    assert parsed.format == "csv"
    assert [(x.entry_index, x.direction, x.amount, x.bank_reference) for x in parsed.lines] == [
        (2, "DBIT", Decimal("1500.00"), "CSV-0001"),
        (3, "CRDT", Decimal("3000.00"), "CSV-0002"),
        (4, "DBIT", Decimal("12.50"), "CSV-0003"),
    ]
    assert parsed.lines[1].remittance_info == "Invoices INV-A001, INV-A002"


def test_csv_errors_are_listed_with_line_numbers():
    content = (
        b"booking_date,amount,currency,direction,counterparty_name,counterparty_iban,end_to_end_id,remittance_info,reference\n"
        b"2026-13-01,1.00,EUR,DBIT,,,,,\n"
        b"2026-03-01,abc,EUR,OUT,,,,,\n"
    )
    with pytest.raises(StatementError) as exc:
        parse_csv(content)
    text = str(exc.value)
    assert "line 2: booking_date '2026-13-01' is not a date" in text
    assert "line 3: 'abc' is not a number" in text
    assert "\n" not in text


def test_csv_missing_column():
    with pytest.raises(StatementError, match="lacks column"):
        parse_csv(b"booking_date,amount\n2026-03-01,1.00\n")
