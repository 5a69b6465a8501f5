"""The maintained totals of ``risk.models`` (``OpenByDue``, ``OpenByPair``, ``OpenByClient``, ``OpenByDebtor``,
``UnreleasedByDue``) computed from the rows in one pass: the fill of ``risk/migrations/0003_maintained_totals.py``
and :func:`risk.services.totals_deferred`'s rebuild after a bulk write. The triggers of that migration keep the
same figures row by row (``tests/risk/test_maintained_totals.py``)."""

# ruff: noqa: S608 (the statements are built from constants: no input reaches them)

from __future__ import annotations

OPEN_CENTS = {
    "sqlite": "CAST(ROUND(({r}.face_value - {r}.collected - {r}.written_off) * 100) AS INTEGER)",
    "postgresql": "(({r}.face_value - {r}.collected - {r}.written_off) * 100)::bigint",
}
TRANCHE_CENTS = {"sqlite": "CAST(ROUND({r}.amount * 100) AS INTEGER)", "postgresql": "({r}.amount * 100)::bigint"}
TABLES = ("risk_openbydebtor", "risk_openbyclient", "risk_openbypair", "risk_openbydue", "risk_unreleasedbydue")


def fill_statements(vendor: str) -> list[str]:
    """INSERT … SELECT of every total from ``clients_receivable`` and ``ledger_reservetranche`` (into empty tables)."""
    o, a = OPEN_CENTS[vendor].format(r="r"), TRANCHE_CENTS[vendor].format(r="t")
    statements = [
        "INSERT INTO risk_openbydue (currency, due_date, issue_date, amount_c, n)"
        f" SELECT r.currency, r.due_date, r.issue_date, SUM({o}), COUNT(*) FROM clients_receivable r"
        f" WHERE {o} > 0 GROUP BY r.currency, r.due_date, r.issue_date",
        "INSERT INTO risk_openbypair (client_id, debtor_id, currency, amount_c, n)"
        f" SELECT r.client_id, r.debtor_id, r.currency, SUM({o}), COUNT(*) FROM clients_receivable r"
        f" WHERE {o} > 0 GROUP BY r.client_id, r.debtor_id, r.currency",
        "INSERT INTO risk_unreleasedbydue (currency, due_date, created_on, amount_c, n)"
        f" SELECT t.currency, t.due_date, t.created_on, SUM({a}), COUNT(*) FROM ledger_reservetranche t"
        " WHERE t.released_entry_id IS NULL GROUP BY t.currency, t.due_date, t.created_on",
    ]
    if vendor != "sqlite":  # SQLite's pair triggers fill debtors and clients from the pairs; PostgreSQL has none
        statements += [
            "INSERT INTO risk_openbydebtor (currency, debtor_id, amount_c, clients)"
            " SELECT currency, debtor_id, SUM(amount_c), COUNT(*) FROM risk_openbypair GROUP BY currency, debtor_id",
            "INSERT INTO risk_openbyclient (client_id, amount_c, n)"
            " SELECT client_id, SUM(amount_c), SUM(n) FROM risk_openbypair GROUP BY client_id",
        ]
    return statements


def rebuild_statements(vendor: str) -> list[str]:
    """Empty every total (debtors and clients first: SQLite's pair delete trigger then finds nothing), refill."""
    return [f"DELETE FROM {table}" for table in TABLES] + fill_statements(vendor)
