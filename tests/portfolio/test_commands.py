"""The loan_schedule and portfolio_projection management commands."""

import csv
import datetime as dt
import io
from decimal import Decimal as D

import pytest
from django.core.management import CommandError, call_command

from tests.factories import ClientFactory, LoanFactory, ReceivableFactory

pytestmark = pytest.mark.django_db


def run(*args) -> str:
    out = io.StringIO()
    call_command(*args, stdout=out)
    return out.getvalue()


def test_loan_schedule_csv_is_the_whole_schedule():
    LoanFactory(
        loan_id="L-B",
        principal=D("5000.00"),
        annual_rate=D("0.045"),
        start_date=dt.date(2026, 1, 31),
        term_months=3,
        method="bullet",
    )
    # interest round(5000 × 0.045 / 12) = 18.75 a month; principal at the end
    assert run("loan_schedule", "L-B", "--csv") == (
        "period,date,opening_balance,payment,interest,principal,closing_balance\n"
        "1,2026-02-28,5000.00,18.75,18.75,0.00,5000.00\n"
        "2,2026-03-31,5000.00,18.75,18.75,0.00,5000.00\n"
        "3,2026-04-30,5000.00,5018.75,18.75,5000.00,0.00\n"
    )


def test_loan_schedule_table_is_readable():
    LoanFactory(loan_id="L-A", principal=D("1000.00"), annual_rate=D("0"), term_months=3, method="linear")
    text = run("loan_schedule", "L-A")
    assert "Loan L-A" in text
    lines = text.splitlines()
    assert lines[1].split() == [
        "period",
        "date",
        "opening_balance",
        "payment",
        "interest",
        "principal",
        "closing_balance",
    ]
    assert lines[-2].split() == ["3", "2026-04-30", "333.34", "333.34", "0.00", "333.34", "0.00"]
    assert lines[-1].split() == ["total", "1000.00", "0.00", "1000.00"]


def test_unknown_loan_is_a_clear_error():
    with pytest.raises(CommandError, match="No loan with loan_id 'NOPE'"):
        run("loan_schedule", "NOPE", "--csv")


def test_portfolio_projection_csv():
    client = ClientFactory(client_id="CL-1")
    LoanFactory(
        client=client,
        principal=D("3000.00"),
        annual_rate=D("0.12"),
        start_date=dt.date(2026, 1, 31),
        term_months=3,
        method="linear",
    )
    ReceivableFactory(client=client, face_value=D("500.00"), due_date=dt.date(2026, 2, 10))
    text = run(
        "portfolio_projection",
        "--as-of",
        "2026-01-31",
        "--months",
        "2",
        "--default-rate",
        "0.1",
        "--delay-days",
        "30",
        "--csv",
    )
    rows = list(csv.DictReader(io.StringIO(text)))
    assert list(rows[0]) == [
        "scope",
        "currency",
        "client_id",
        "month",
        "start",
        "end",
        "opening_balance",
        "principal",
        "interest",
        "collections",
        "defaulted",
        "closing_balance",
    ]
    portfolio = [r for r in rows if r["scope"] == "portfolio"]
    clients = [r for r in rows if r["scope"] == "client"]
    assert [r["client_id"] for r in clients] == ["CL-1", "CL-1"]
    # month 1 (31 Jan..28 Feb): linear 1,000.00 principal, interest 3000 × 0.01 = 30.00, 10 % lost:
    #   principal 1000 − 100 = 900.00, interest 30 − 3 = 27.00; the receivable (10 Feb + 30 d = 12 Mar) is in month 2
    # month 2 (1..31 Mar): principal 900.00, interest round(2000 × 0.01) = 20 → 18.00, collections 500 − 50 = 450.00
    assert [
        (
            r["month"],
            r["end"],
            r["opening_balance"],
            r["principal"],
            r["interest"],
            r["collections"],
            r["defaulted"],
            r["closing_balance"],
        )
        for r in portfolio
    ] == [
        ("1", "2026-02-28", "3500.00", "900.00", "27.00", "0.00", "100.00", "2500.00"),
        ("2", "2026-03-31", "2500.00", "900.00", "18.00", "450.00", "150.00", "1000.00"),
    ]


def test_portfolio_projection_table_and_bad_input():
    LoanFactory(start_date=dt.date(2026, 1, 31))
    text = run("portfolio_projection", "--as-of", "2026-01-31", "--months", "3", "--rate-shift-bp", "100")
    assert "rate shift +100 bp" in text and "EUR" in text and "total" in text
    with pytest.raises(CommandError, match="not a date"):
        run("portfolio_projection", "--as-of", "31/01/2026")
    with pytest.raises(CommandError, match="default rate"):
        run("portfolio_projection", "--as-of", "2026-01-31", "--default-rate", "1.5")
