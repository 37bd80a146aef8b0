"""The "active but out of stock" indexes for the lists at scale, and a larger sample for the
(status, stock_available) statistics.

With 100 entries (the default target) the MCV list of ``offer_status_stock_stats`` holds only
the commonest (status, stock) pairs; where stock levels spread over hundreds of values
("ACTIVE", 0) falls out of it, the planner multiplies the two columns' selectivities again
(70 % x 20 % instead of ~0.35 %) and the list and its count scan the table (EXPLAIN at
5 x 500,000 offers: a sequential scan reading 280,000 rows for the first 1,001). A target of 1000
keeps the pair in the list. SQLite (embedded demo) has no such statistics: skipped there.
"""

from django.db import migrations, models

STATISTICS = "offer_status_stock_stats"


def larger_sample(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(f"ALTER STATISTICS {STATISTICS} SET STATISTICS 1000")
        schema_editor.execute("ANALYZE offers_offer")


def default_sample(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(f"ALTER STATISTICS {STATISTICS} SET STATISTICS -1")


class Migration(migrations.Migration):
    dependencies = [
        ("accounts", "0002_account_token"),
        ("offers", "0004_ended_index"),
    ]

    operations = [
        migrations.RemoveIndex(
            model_name="offer",
            name="offer_active_no_stock",
        ),
        migrations.AddIndex(
            model_name="offer",
            index=models.Index(
                condition=models.Q(
                    ("status__in", ["ACTIVE", "ACTIVATING"]), ("stock_available__lte", 0)
                ),
                fields=["-id"],
                include=("account", "status"),
                name="offer_active_no_stock",
            ),
        ),
        migrations.AddIndex(
            model_name="offer",
            index=models.Index(
                condition=models.Q(
                    ("status__in", ["ACTIVE", "ACTIVATING"]), ("stock_available__lte", 0)
                ),
                fields=["account", "status", "allegro_updated_at"],
                name="offer_active_no_stock_changed",
            ),
        ),
        migrations.RunPython(larger_sample, default_sample),
    ]
