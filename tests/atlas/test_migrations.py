import pytest
from django.core.management import call_command


@pytest.mark.django_db
def test_models_and_migrations_agree():
    """Every model change has its migration (makemigrations --check exits non-zero otherwise)."""
    call_command("makemigrations", "--check", "--dry-run", verbosity=0)


RAW_INDEXES = {  # created by raw SQL (partial indexes), unknown to Django's model state
    "clients_receivable": {"receivable_open_idx", "receivable_open_currency_idx", "receivable_open_due_idx"},
}
TRIGGER_TABLES = {"clients_receivable", "ledger_reservetranche"}  # risk 0003: the maintained totals


@pytest.mark.django_db
def test_later_migrations_keep_the_raw_sql_indexes_and_triggers():
    """A later migration that rebuilds a table (SQLite's AlterField does) would drop what Django does not know
    of: the partial indexes of clients 0004/0005 and the risk totals' triggers. They must all be there."""
    from django.db import connection

    with connection.cursor() as cursor:
        for table, names in RAW_INDEXES.items():
            assert names <= set(connection.introspection.get_constraints(cursor, table)), table
        if connection.vendor == "sqlite":
            cursor.execute("SELECT DISTINCT tbl_name FROM sqlite_master WHERE type = 'trigger'")
        else:
            cursor.execute("SELECT DISTINCT event_object_table FROM information_schema.triggers")
        with_triggers = {row[0] for row in cursor.fetchall()}
    assert with_triggers >= TRIGGER_TABLES
