"""Two partial covering indexes of the receivables still open (owned by risk: the portfolio pages'
aggregates read them, see docs/risk.md "Fast portfolio reads"). One leads with the client (debtor
concentration per client), the other with the currency (totals and aging per currency, top debtors),
so that each GROUP BY reads its index in order instead of sorting.

``face_value > collected + written_off`` is the maintained open test; the risk selectors put the
same term in their WHERE clause (``risk.selectors.OPEN_MAINTAINED``) so that SQLite's planner uses
these indexes (it matches a partial index only on the same term) and PostgreSQL's too. They list
every column those aggregates read, so they never visit the table. Raw SQL (the same on both
engines) because the term must stay exactly as written; the models' state is unchanged.
"""

from django.db import migrations

OPEN = "WHERE face_value > collected + written_off"
AMOUNTS = "due_date, issue_date, face_value, collected, written_off"


class Migration(migrations.Migration):
    dependencies = [
        ("clients", "0003_currency_labels"),
    ]

    operations = [
        migrations.RunSQL(
            sql=(
                "CREATE INDEX receivable_open_idx ON clients_receivable "
                f"(client_id, debtor_id, currency, {AMOUNTS}) {OPEN}"
            ),
            reverse_sql="DROP INDEX receivable_open_idx",
        ),
        migrations.RunSQL(
            sql=(
                "CREATE INDEX receivable_open_currency_idx ON clients_receivable "
                f"(currency, debtor_id, client_id, {AMOUNTS}) {OPEN}"
            ),
            reverse_sql="DROP INDEX receivable_open_currency_idx",
        ),
    ]
