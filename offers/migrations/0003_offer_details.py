"""When an offer's product-offer details (its EAN) were read, and the index the details pass
reads the due offers by (never read first, then the oldest read)."""

from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("accounts", "0002_account_token"),
        ("offers", "0002_active_no_stock"),
    ]

    operations = [
        migrations.AddField(
            model_name="offer",
            name="details_synced_at",
            field=models.DateTimeField(blank=True, null=True, verbose_name="details synchronised"),
        ),
        migrations.AddIndex(
            model_name="offer",
            index=models.Index(
                fields=["account", "details_synced_at", "id"], name="offer_account_details"
            ),
        ),
    ]
