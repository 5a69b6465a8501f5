"""Receivables and transactions lose their single-column client index: the (client, due_date) and
(client, date) indexes start with the client and serve every lookup by client alone (the foreign key's
PROTECT check included). One index fewer to maintain per row an import writes (as ledger 0006 did for
postings by account).
"""

import django.db.models.deletion
from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("clients", "0005_portfolio_receivable_open_due_index"),
    ]

    operations = [
        migrations.AlterField(
            model_name="receivable",
            name="client",
            field=models.ForeignKey(
                db_index=False,
                on_delete=django.db.models.deletion.PROTECT,
                related_name="receivables",
                to="clients.client",
            ),
        ),
        migrations.AlterField(
            model_name="transaction",
            name="client",
            field=models.ForeignKey(
                db_index=False,
                on_delete=django.db.models.deletion.PROTECT,
                related_name="transactions",
                to="clients.client",
            ),
        ),
    ]
