"""A partial covering index of the reserve tranches not yet released, for the dashboard's "reserve
releases due" per currency (``risk.selectors.releases_due_by_currency``; see docs/risk.md "Fast
portfolio reads"). It indexes a ledger table from a risk migration because the read is risk's and
the ledger's models do not change (raw SQL, the same on both engines; the models' state is unchanged).
"""

from django.db import migrations


class Migration(migrations.Migration):
    dependencies = [
        ("risk", "0001_initial"),
        ("ledger", "0004_adjustment_requests"),
    ]

    operations = [
        migrations.RunSQL(
            sql=(
                "CREATE INDEX tranche_unreleased_idx ON ledger_reservetranche "
                "(currency, due_date, created_on, amount, released_entry_id) WHERE released_entry_id IS NULL"
            ),
            reverse_sql="DROP INDEX tranche_unreleased_idx",
        ),
    ]
