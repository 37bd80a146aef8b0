"""A partial index for "active but out of stock" and (status, stock) statistics for the planner.

Allegro ends an offer whose stock reaches 0, so active offers with no stock are rare. Without
multivariate statistics PostgreSQL multiplies the two columns' selectivities (70 % active x
20 % at zero stock: ~14 % of the table instead of the real ~0.3 %) and pages that filter by
scanning the primary key backwards. The MCV statistics give the real figure, and the plan
uses the partial index. SQLite (embedded demo) has no such statistics: skipped there.
"""

from django.db import migrations, models

STATISTICS = "offer_status_stock_stats"


def create_statistics(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(
            f"CREATE STATISTICS IF NOT EXISTS {STATISTICS} (mcv) "
            "ON status, stock_available FROM offers_offer"
        )
        schema_editor.execute("ANALYZE offers_offer")


def drop_statistics(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(f"DROP STATISTICS IF EXISTS {STATISTICS}")


class Migration(migrations.Migration):
    dependencies = [
        ("accounts", "0002_account_token"),
        ("offers", "0001_initial"),
    ]

    operations = [
        migrations.AddIndex(
            model_name="offer",
            index=models.Index(
                condition=models.Q(
                    ("status__in", ["ACTIVE", "ACTIVATING"]), ("stock_available__lte", 0)
                ),
                fields=["account", "id"],
                name="offer_active_no_stock",
            ),
        ),
        migrations.RunPython(create_statistics, drop_statistics),
    ]
