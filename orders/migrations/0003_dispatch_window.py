"""Allegro's dispatch window on orders, filled from the stored documents, and the partial
indexes of the dashboard (orders to ship by deadline, quarantined orders)."""

from datetime import UTC, datetime
from typing import Any

from django.db import migrations, models

BATCH = 2000


def _instant(value: Any) -> datetime | None:
    if not isinstance(value, str) or not value:
        return None
    try:
        parsed = datetime.fromisoformat(value)
    except ValueError:
        return None
    return parsed if parsed.tzinfo is not None else parsed.replace(tzinfo=UTC)


def fill_dispatch_window(apps: Any, schema_editor: Any) -> None:
    order_model = apps.get_model("orders", "Order")
    changed = []
    for order in order_model.objects.only("id", "raw").iterator(chunk_size=BATCH):
        raw = order.raw if isinstance(order.raw, dict) else {}
        window = ((raw.get("delivery") or {}).get("time") or {}).get("dispatch") or {}
        if not isinstance(window, dict) or not window:
            continue
        order.dispatch_from = _instant(window.get("from"))
        order.dispatch_by = _instant(window.get("to"))
        changed.append(order)
        if len(changed) >= BATCH:
            order_model.objects.bulk_update(changed, ["dispatch_from", "dispatch_by"])
            changed = []
    order_model.objects.bulk_update(changed, ["dispatch_from", "dispatch_by"])


class Migration(migrations.Migration):
    dependencies = [
        ("accounts", "0002_account_token"),
        ("orders", "0002_fulfillment_marketplace_index"),
    ]

    operations = [
        migrations.AddField(
            model_name="order",
            name="dispatch_by",
            field=models.DateTimeField(blank=True, null=True, verbose_name="dispatch by"),
        ),
        migrations.AddField(
            model_name="order",
            name="dispatch_from",
            field=models.DateTimeField(blank=True, null=True, verbose_name="dispatch from"),
        ),
        migrations.RunPython(fill_dispatch_window, migrations.RunPython.noop, elidable=True),
        migrations.AddIndex(
            model_name="order",
            index=models.Index(
                condition=models.Q(
                    ("fulfillment_status__in", ("NEW", "PROCESSING", "READY_FOR_SHIPMENT")),
                    ("merged_into__isnull", True),
                    ("status", "READY_FOR_PROCESSING"),
                ),
                fields=["account", "dispatch_by"],
                name="order_to_ship",
            ),
        ),
        migrations.AddIndex(
            model_name="order",
            index=models.Index(
                condition=models.Q(("quarantined", True)),
                fields=["account"],
                name="order_quarantined",
            ),
        ),
    ]
