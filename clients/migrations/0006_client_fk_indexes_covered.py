"""Receivables and transactions lose their single-column client index: the (client, due_date) and
(client, date) indexes start with the client and serve every lookup by client alone (the foreign key's
PROTECT check included). One index fewer to maintain per row an import writes (as ledger 0006 did for
postings by account).

The index is dropped by name, not by ``AlterField``: on SQLite ``AlterField`` rebuilds the table, which
would silently drop the partial indexes of 0004/0005 (raw SQL, unknown to Django's model state) and the
risk totals' triggers (risk 0003). ``tests/atlas/test_migrations.py`` checks they survive.
"""

import django.db.models.deletion
from django.db import migrations, models

TABLES = ("clients_receivable", "clients_transaction")


def _client_indexes(schema_editor, table: str) -> list[str]:
    """The plain indexes on exactly (client_id) of ``table``."""
    with schema_editor.connection.cursor() as cursor:
        constraints = schema_editor.connection.introspection.get_constraints(cursor, table)
    return [
        name
        for name, c in constraints.items()
        if c["index"] and not c["unique"] and not c["primary_key"] and c["columns"] == ["client_id"]
    ]


def drop_client_indexes(apps, schema_editor):
    for table in TABLES:
        for name in _client_indexes(schema_editor, table):
            schema_editor.execute(f"DROP INDEX {schema_editor.quote_name(name)}")


def create_client_indexes(apps, schema_editor):
    for table in TABLES:
        if not _client_indexes(schema_editor, table):
            name = schema_editor.quote_name(f"{table}_client_id_idx")
            schema_editor.execute(f"CREATE INDEX {name} ON {table} (client_id)")


def _fk(related_name: str):
    return models.ForeignKey(
        db_index=False,
        on_delete=django.db.models.deletion.PROTECT,
        related_name=related_name,
        to="clients.client",
    )


class Migration(migrations.Migration):
    dependencies = [
        ("clients", "0005_portfolio_receivable_open_due_index"),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            state_operations=[
                migrations.AlterField(model_name="receivable", name="client", field=_fk("receivables")),
                migrations.AlterField(model_name="transaction", name="client", field=_fk("transactions")),
            ],
            database_operations=[migrations.RunPython(drop_client_indexes, create_client_indexes)],
        ),
    ]
