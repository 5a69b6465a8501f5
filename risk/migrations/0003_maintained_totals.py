"""Maintained totals of the open receivables and the unreleased reserve tranches (``risk.models``: ``OpenByDue``,
``OpenByPair``, ``OpenByClient``, ``OpenByDebtor``, ``UnreleasedByDue``), kept by triggers on ``clients_receivable``
and ``ledger_reservetranche`` in the statement that writes them, whichever code writes them (import, booking,
write-offs, releases, the admin), and filled from the existing rows (``risk.totals.fill_statements``).

A receivable counts while open = face − collected − written off > 0, in whole cents; a tranche while it has no
release entry. SQLite: row triggers (a new row is upserted in, a deleted one subtracted by a plain UPDATE, so
that deleting the totals before the rows, as a test flush may, leaves nothing behind; the usual update is one
upsert of the difference per total). PostgreSQL: statement triggers over the transition tables (one grouped
upsert per statement: the import's COPY and bulk UPDATEs add one statement each), rows locked in key order.
``OpenByClient`` and ``OpenByDebtor`` follow ``OpenByPair`` (a debtor's client count = its pairs with an open
receivable). A group whose count falls to 0 is deleted. While a ``risk_totalsdeferral`` row exists (inside one
transaction, ``risk.services.totals_deferred``) the triggers do nothing and that transaction rebuilds the totals.
"""

# ruff: noqa: S608 (the statements are built from constants: no input reaches them)

import django.db.models.deletion
from django.db import migrations, models

from risk.totals import fill_statements

# ------------------------------------------------------------------------------------------ SQLite

_OPEN_LITE = "CAST(ROUND(({r}.face_value - {r}.collected - {r}.written_off) * 100) AS INTEGER)"
_TRANCHE_LITE = "CAST(ROUND({r}.amount * 100) AS INTEGER)"
_REC_KEYS = ("currency", "due_date", "issue_date", "client_id", "debtor_id")


def _lite_receivable(r: str, sign: str, where: str = "") -> list[str]:
    """The statements adding (sign "+") or subtracting ("-") receivable ``r``'s open amount."""
    o = _OPEN_LITE.format(r=r)
    if sign == "-":
        return [
            f"UPDATE risk_openbydue SET amount_c = amount_c - {o}, n = n - 1"
            f" WHERE currency = {r}.currency AND due_date = {r}.due_date AND issue_date = {r}.issue_date{where}",
            f"UPDATE risk_openbypair SET amount_c = amount_c - {o}, n = n - 1"
            f" WHERE client_id = {r}.client_id AND debtor_id = {r}.debtor_id AND currency = {r}.currency{where}",
        ]
    return [
        "INSERT INTO risk_openbydue (currency, due_date, issue_date, amount_c, n)"
        f" SELECT {r}.currency, {r}.due_date, {r}.issue_date, {o}, 1 WHERE true{where}"
        " ON CONFLICT (currency, due_date, issue_date)"
        " DO UPDATE SET amount_c = amount_c + excluded.amount_c, n = n + 1",
        "INSERT INTO risk_openbypair (client_id, debtor_id, currency, amount_c, n)"
        f" SELECT {r}.client_id, {r}.debtor_id, {r}.currency, {o}, 1 WHERE true{where}"
        " ON CONFLICT (client_id, debtor_id, currency) DO UPDATE SET amount_c = amount_c + excluded.amount_c,"
        " n = n + 1",
    ]


def _lite_receivable_change() -> list[str]:
    """The upserts adding the change of a receivable's open amount within its groups (counted while > 0)."""
    o_new, o_old = _OPEN_LITE.format(r="NEW"), _OPEN_LITE.format(r="OLD")
    delta = f"MAX({o_new}, 0) - MAX({o_old}, 0), ({o_new} > 0) - ({o_old} > 0)"
    return [
        f"INSERT INTO risk_openbydue (currency, due_date, issue_date, amount_c, n)"
        f" VALUES (NEW.currency, NEW.due_date, NEW.issue_date, {delta})"
        " ON CONFLICT (currency, due_date, issue_date)"
        " DO UPDATE SET amount_c = amount_c + excluded.amount_c, n = n + excluded.n",
        f"INSERT INTO risk_openbypair (client_id, debtor_id, currency, amount_c, n)"
        f" VALUES (NEW.client_id, NEW.debtor_id, NEW.currency, {delta})"
        " ON CONFLICT (client_id, debtor_id, currency)"
        " DO UPDATE SET amount_c = amount_c + excluded.amount_c, n = n + excluded.n",
    ]


def _lite_tranche(r: str, sign: str, where: str = "") -> str:
    a = _TRANCHE_LITE.format(r=r)
    if sign == "-":
        return (
            f"UPDATE risk_unreleasedbydue SET amount_c = amount_c - {a}, n = n - 1"
            f" WHERE currency = {r}.currency AND due_date = {r}.due_date AND created_on = {r}.created_on{where}"
        )
    return (
        "INSERT INTO risk_unreleasedbydue (currency, due_date, created_on, amount_c, n)"
        f" SELECT {r}.currency, {r}.due_date, {r}.created_on, {a}, 1 WHERE true{where}"
        " ON CONFLICT (currency, due_date, created_on) DO UPDATE SET amount_c = amount_c + excluded.amount_c, n = n + 1"
    )


_ACTIVE = "NOT EXISTS (SELECT 1 FROM risk_totalsdeferral)"  # risk.services.totals_deferred: skip, rebuilt after


def _trigger(name: str, event: str, table: str, when: str, body: list[str]) -> str:
    if table in ("clients_receivable", "ledger_reservetranche"):  # the totals' sources
        when = f"{_ACTIVE} AND ({when})"
    when = f" WHEN {when}" if when else ""
    return f"CREATE TRIGGER {name} AFTER {event} ON {table}{when} BEGIN {'; '.join(body)}; END"


def _sqlite() -> list[str]:
    o_new, o_old = _OPEN_LITE.format(r="NEW"), _OPEN_LITE.format(r="OLD")
    same = " AND ".join(f"OLD.{k} IS NEW.{k}" for k in _REC_KEYS)
    tranche_moved = " OR ".join(f"OLD.{k} IS NOT NEW.{k}" for k in ("amount", "currency", "due_date", "created_on"))
    return [
        _trigger("risk_receivable_ins", "INSERT", "clients_receivable", f"{o_new} > 0", _lite_receivable("NEW", "+")),
        _trigger(  # the usual update (collected, written off): one upsert of the difference per total
            "risk_receivable_upd",
            f"UPDATE OF face_value, collected, written_off, {', '.join(_REC_KEYS)}",
            "clients_receivable",
            f"{same} AND {o_old} <> {o_new} AND ({o_old} > 0 OR {o_new} > 0)",
            _lite_receivable_change(),
        ),
        _trigger(  # a receivable moved to another group: out of the old one, into the new one
            "risk_receivable_move",
            f"UPDATE OF {', '.join(_REC_KEYS)}",
            "clients_receivable",
            f"NOT ({same}) AND ({o_old} > 0 OR {o_new} > 0)",
            _lite_receivable("OLD", "-", f" AND {o_old} > 0") + _lite_receivable("NEW", "+", f" AND {o_new} > 0"),
        ),
        _trigger("risk_receivable_del", "DELETE", "clients_receivable", f"{o_old} > 0", _lite_receivable("OLD", "-")),
        _trigger(
            "risk_openbypair_ins",
            "INSERT",
            "risk_openbypair",
            "",
            [
                "INSERT INTO risk_openbydebtor (currency, debtor_id, amount_c, clients)"
                " VALUES (NEW.currency, NEW.debtor_id, NEW.amount_c, NEW.n > 0)"
                " ON CONFLICT (currency, debtor_id) DO UPDATE SET amount_c = amount_c + excluded.amount_c,"
                " clients = clients + excluded.clients",
                "INSERT INTO risk_openbyclient (client_id, amount_c, n) VALUES (NEW.client_id, NEW.amount_c, NEW.n)"
                " ON CONFLICT (client_id) DO UPDATE SET amount_c = amount_c + excluded.amount_c, n = n + excluded.n",
            ],
        ),
        _trigger(
            "risk_openbypair_upd",
            "UPDATE",
            "risk_openbypair",
            "",
            [
                "UPDATE risk_openbydebtor SET amount_c = amount_c + NEW.amount_c - OLD.amount_c,"
                " clients = clients + (NEW.n > 0) - (OLD.n > 0)"
                " WHERE currency = NEW.currency AND debtor_id = NEW.debtor_id",
                "UPDATE risk_openbyclient SET amount_c = amount_c + NEW.amount_c - OLD.amount_c, n = n + NEW.n - OLD.n"
                " WHERE client_id = NEW.client_id",
            ],
        ),
        _trigger(
            "risk_openbypair_del",
            "DELETE",
            "risk_openbypair",
            "",
            [
                "UPDATE risk_openbydebtor SET amount_c = amount_c - OLD.amount_c, clients = clients - (OLD.n > 0)"
                " WHERE currency = OLD.currency AND debtor_id = OLD.debtor_id",
                "UPDATE risk_openbyclient SET amount_c = amount_c - OLD.amount_c, n = n - OLD.n"
                " WHERE client_id = OLD.client_id",
            ],
        ),
        _trigger(
            "risk_tranche_ins",
            "INSERT",
            "ledger_reservetranche",
            "NEW.released_entry_id IS NULL",
            [_lite_tranche("NEW", "+")],
        ),
        _trigger(
            "risk_tranche_upd",
            "UPDATE OF released_entry_id, amount, currency, due_date, created_on",
            "ledger_reservetranche",
            f"(OLD.released_entry_id IS NULL OR NEW.released_entry_id IS NULL)"
            f" AND (OLD.released_entry_id IS NOT NEW.released_entry_id OR {tranche_moved})",
            [
                _lite_tranche("OLD", "-", " AND OLD.released_entry_id IS NULL"),
                _lite_tranche("NEW", "+", " AND NEW.released_entry_id IS NULL"),
            ],
        ),
        _trigger(
            "risk_tranche_del",
            "DELETE",
            "ledger_reservetranche",
            "OLD.released_entry_id IS NULL",
            [_lite_tranche("OLD", "-")],
        ),
        *(
            _trigger(
                f"{table}_empty",
                f"UPDATE OF {count}",
                table,
                f"NEW.{count} = 0",
                [f"DELETE FROM {table} WHERE id = NEW.id"],
            )
            for table, count in _EMPTY
        ),
    ]


_EMPTY = [  # a group whose count fell to 0 is deleted (closed receivables do not pile up as zero rows)
    ("risk_openbydue", "n"),
    ("risk_openbypair", "n"),
    ("risk_openbyclient", "n"),
    ("risk_openbydebtor", "clients"),
    ("risk_unreleasedbydue", "n"),
]
_SQLITE_DROP = [
    f"DROP TRIGGER IF EXISTS {name}"
    for name in (
        "risk_receivable_ins", "risk_receivable_upd", "risk_receivable_move", "risk_receivable_del",
        "risk_openbypair_ins", "risk_openbypair_upd", "risk_openbypair_del",
        "risk_tranche_ins", "risk_tranche_upd", "risk_tranche_del",
        *(f"{table}_empty" for table, _count in _EMPTY),
    )
]  # fmt: skip

# -------------------------------------------------------------------------------------- PostgreSQL

_OPEN_PG = "((face_value - collected - written_off) * 100)::bigint"
_REC_COLS = "currency, due_date, issue_date, client_id, debtor_id"


def _pg_receivable_function(name: str, sources: list[tuple[str, str]]) -> str:
    """A statement trigger function applying the open-amount changes of ``sources`` ((transition table, sign)),
    then deleting the groups it emptied (by the ids its upserts returned with a zero count)."""
    parts = " UNION ALL ".join(
        f"SELECT {_REC_COLS}, {sign}{_OPEN_PG} AS o, {sign}1 AS k FROM {table} WHERE {_OPEN_PG} > 0"
        for table, sign in sources
    )
    return f"""
CREATE FUNCTION {name}() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    e_due bigint[]; e_client bigint[]; e_pair bigint[]; e_debtor bigint[];
BEGIN
    IF EXISTS (SELECT 1 FROM risk_totalsdeferral) THEN RETURN NULL; END IF;
    WITH d AS ({parts}),
    due AS (
        INSERT INTO risk_openbydue AS t (currency, due_date, issue_date, amount_c, n)
        SELECT currency, due_date, issue_date, SUM(o), SUM(k) FROM d GROUP BY 1, 2, 3
        HAVING SUM(o) <> 0 OR SUM(k) <> 0 ORDER BY 1, 2, 3
        ON CONFLICT (currency, due_date, issue_date)
        DO UPDATE SET amount_c = t.amount_c + EXCLUDED.amount_c, n = t.n + EXCLUDED.n
        RETURNING t.id, t.n
    ),
    cl AS (
        INSERT INTO risk_openbyclient AS t (client_id, amount_c, n)
        SELECT client_id, SUM(o), SUM(k) FROM d GROUP BY 1 HAVING SUM(o) <> 0 OR SUM(k) <> 0 ORDER BY 1
        ON CONFLICT (client_id) DO UPDATE SET amount_c = t.amount_c + EXCLUDED.amount_c, n = t.n + EXCLUDED.n
        RETURNING t.id, t.n
    ),
    pd AS (
        SELECT client_id, debtor_id, currency, SUM(o) AS o, SUM(k) AS k FROM d GROUP BY 1, 2, 3
        HAVING SUM(o) <> 0 OR SUM(k) <> 0
    ),
    pair AS (
        INSERT INTO risk_openbypair AS t (client_id, debtor_id, currency, amount_c, n)
        SELECT client_id, debtor_id, currency, o, k FROM pd ORDER BY 1, 2, 3
        ON CONFLICT (client_id, debtor_id, currency)
        DO UPDATE SET amount_c = t.amount_c + EXCLUDED.amount_c, n = t.n + EXCLUDED.n
        RETURNING t.id, t.client_id, t.debtor_id, t.currency, t.n
    ),
    debtor AS (
        INSERT INTO risk_openbydebtor AS t (currency, debtor_id, amount_c, clients)
        SELECT pd.currency, pd.debtor_id, SUM(pd.o), SUM((pair.n > 0)::int - (pair.n - pd.k > 0)::int)
        FROM pd JOIN pair USING (client_id, debtor_id, currency) GROUP BY 1, 2 ORDER BY 1, 2
        ON CONFLICT (currency, debtor_id)
        DO UPDATE SET amount_c = t.amount_c + EXCLUDED.amount_c, clients = t.clients + EXCLUDED.clients
        RETURNING t.id, t.clients
    )
    SELECT (SELECT array_agg(id) FROM due WHERE n = 0), (SELECT array_agg(id) FROM cl WHERE n = 0),
        (SELECT array_agg(id) FROM pair WHERE n = 0), (SELECT array_agg(id) FROM debtor WHERE clients = 0)
    INTO e_due, e_client, e_pair, e_debtor;
    IF e_due IS NOT NULL THEN DELETE FROM risk_openbydue WHERE id = ANY(e_due); END IF;
    IF e_client IS NOT NULL THEN DELETE FROM risk_openbyclient WHERE id = ANY(e_client); END IF;
    IF e_pair IS NOT NULL THEN DELETE FROM risk_openbypair WHERE id = ANY(e_pair); END IF;
    IF e_debtor IS NOT NULL THEN DELETE FROM risk_openbydebtor WHERE id = ANY(e_debtor); END IF;
    RETURN NULL;
END $$;
"""


def _pg_tranche_function(name: str, sources: list[tuple[str, str]]) -> str:
    parts = " UNION ALL ".join(
        f"SELECT currency, due_date, created_on, {sign}(amount * 100)::bigint AS a, {sign}1 AS k FROM {table}"
        " WHERE released_entry_id IS NULL"
        for table, sign in sources
    )
    return f"""
CREATE FUNCTION {name}() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    emptied bigint[];
BEGIN
    IF EXISTS (SELECT 1 FROM risk_totalsdeferral) THEN RETURN NULL; END IF;
    WITH up AS (
        INSERT INTO risk_unreleasedbydue AS t (currency, due_date, created_on, amount_c, n)
        SELECT currency, due_date, created_on, SUM(a), SUM(k) FROM ({parts}) d GROUP BY 1, 2, 3
        HAVING SUM(a) <> 0 OR SUM(k) <> 0 ORDER BY 1, 2, 3
        ON CONFLICT (currency, due_date, created_on)
        DO UPDATE SET amount_c = t.amount_c + EXCLUDED.amount_c, n = t.n + EXCLUDED.n
        RETURNING t.id, t.n
    )
    SELECT array_agg(id) INTO emptied FROM up WHERE n = 0;
    IF emptied IS NOT NULL THEN DELETE FROM risk_unreleasedbydue WHERE id = ANY(emptied); END IF;
    RETURN NULL;
END $$;
"""


_PG_EVENTS = {  # event → (transition tables clause, sources)
    "INSERT": ("REFERENCING NEW TABLE AS new_rows", [("new_rows", "")]),
    "UPDATE": ("REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows", [("new_rows", ""), ("old_rows", "-")]),
    "DELETE": ("REFERENCING OLD TABLE AS old_rows", [("old_rows", "-")]),
}
_PG_TABLES = {
    "receivable": ("clients_receivable", _pg_receivable_function),
    "tranche": ("ledger_reservetranche", _pg_tranche_function),
}


def _postgresql() -> list[str]:
    out = []
    for what, (table, function) in _PG_TABLES.items():
        for event, (referencing, sources) in _PG_EVENTS.items():
            name = f"risk_{what}_{event.lower()}"
            out.append(function(name, sources))
            out.append(
                f"CREATE TRIGGER {name} AFTER {event} ON {table} {referencing}"
                f" FOR EACH STATEMENT EXECUTE FUNCTION {name}()"
            )
    return out


def _postgresql_drop() -> list[str]:
    out = []
    for what, (table, _function) in _PG_TABLES.items():
        for event in _PG_EVENTS:
            name = f"risk_{what}_{event.lower()}"
            out += [f"DROP TRIGGER IF EXISTS {name} ON {table}", f"DROP FUNCTION IF EXISTS {name}()"]
    return out


# ------------------------------------------------------------------------------- the existing rows


def forward(apps, schema_editor):
    vendor = schema_editor.connection.vendor
    statements = _sqlite() if vendor == "sqlite" else _postgresql() if vendor == "postgresql" else None
    if statements is None:
        raise NotImplementedError(f"risk totals: no triggers for {vendor}")
    for sql in statements + fill_statements(vendor):
        schema_editor.execute(sql, params=None)


def backward(apps, schema_editor):
    vendor = schema_editor.connection.vendor
    for sql in _SQLITE_DROP if vendor == "sqlite" else _postgresql_drop():
        schema_editor.execute(sql, params=None)


class Migration(migrations.Migration):
    dependencies = [
        ("clients", "0005_portfolio_receivable_open_due_index"),
        ("risk", "0002_alert_status_opened_index"),
        ("ledger", "0006_indexes_without_duplicates"),
    ]

    operations = [
        migrations.CreateModel(
            name="TotalsDeferral",
            fields=[
                ("id", models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name="ID")),
            ],
        ),
        migrations.CreateModel(
            name="OpenByDue",
            fields=[
                ("id", models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name="ID")),
                ("currency", models.CharField(max_length=3)),
                ("due_date", models.DateField()),
                ("issue_date", models.DateField()),
                ("amount_c", models.BigIntegerField(default=0)),
                ("n", models.IntegerField(default=0)),
            ],
            options={
                "constraints": [
                    models.UniqueConstraint(fields=("currency", "due_date", "issue_date"), name="risk_openbydue_key")
                ],
            },
        ),
        migrations.CreateModel(
            name="UnreleasedByDue",
            fields=[
                ("id", models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name="ID")),
                ("currency", models.CharField(max_length=3)),
                ("due_date", models.DateField()),
                ("created_on", models.DateField()),
                ("amount_c", models.BigIntegerField(default=0)),
                ("n", models.IntegerField(default=0)),
            ],
            options={
                "constraints": [
                    models.UniqueConstraint(
                        fields=("currency", "due_date", "created_on"), name="risk_unreleasedbydue_key"
                    )
                ],
            },
        ),
        migrations.CreateModel(
            name="OpenByClient",
            fields=[
                ("id", models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name="ID")),
                ("amount_c", models.BigIntegerField(default=0)),
                ("n", models.IntegerField(default=0)),
                (
                    "client",
                    models.OneToOneField(
                        db_constraint=False,
                        on_delete=django.db.models.deletion.DO_NOTHING,
                        related_name="+",
                        to="clients.client",
                    ),
                ),
            ],
        ),
        migrations.CreateModel(
            name="OpenByDebtor",
            fields=[
                ("id", models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name="ID")),
                ("currency", models.CharField(max_length=3)),
                ("amount_c", models.BigIntegerField(default=0)),
                ("clients", models.IntegerField(default=0)),
                (
                    "debtor",
                    models.ForeignKey(
                        db_constraint=False,
                        db_index=False,
                        on_delete=django.db.models.deletion.DO_NOTHING,
                        related_name="+",
                        to="clients.debtor",
                    ),
                ),
            ],
            options={
                "indexes": [models.Index(fields=["currency", "amount_c"], name="risk_openbydebtor_amount_idx")],
                "constraints": [models.UniqueConstraint(fields=("currency", "debtor"), name="risk_openbydebtor_key")],
            },
        ),
        migrations.CreateModel(
            name="OpenByPair",
            fields=[
                ("id", models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name="ID")),
                ("currency", models.CharField(max_length=3)),
                ("amount_c", models.BigIntegerField(default=0)),
                ("n", models.IntegerField(default=0)),
                (
                    "client",
                    models.ForeignKey(
                        db_constraint=False,
                        db_index=False,
                        on_delete=django.db.models.deletion.DO_NOTHING,
                        related_name="+",
                        to="clients.client",
                    ),
                ),
                (
                    "debtor",
                    models.ForeignKey(
                        db_constraint=False,
                        db_index=False,
                        on_delete=django.db.models.deletion.DO_NOTHING,
                        related_name="+",
                        to="clients.debtor",
                    ),
                ),
            ],
            options={
                "constraints": [
                    models.UniqueConstraint(fields=("client", "debtor", "currency"), name="risk_openbypair_key")
                ],
            },
        ),
        migrations.RunPython(forward, backward),
    ]
