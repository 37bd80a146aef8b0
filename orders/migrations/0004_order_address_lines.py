"""What the order page shows of the addresses (delivery, pickup point, invoice) as fields,
filled from the stored documents by the same parse the sync uses."""

from typing import Any

from django.db import migrations, models

from allegro.api.orders import CheckoutForm

BATCH = 2000
FIELDS = [
    "delivery_address_lines",
    "pickup_point_id",
    "pickup_point_lines",
    "invoice_address_lines",
    "invoice_tax_id",
]


def fill_address_lines(apps: Any, schema_editor: Any) -> None:
    order_model = apps.get_model("orders", "Order")
    changed = []
    for order in order_model.objects.only("id", "raw").iterator(chunk_size=BATCH):
        if not isinstance(order.raw, dict) or "id" not in order.raw:
            continue
        form = CheckoutForm.parse(order.raw)
        delivery, pickup, invoice = (
            form.delivery.address,
            form.delivery.pickup_point,
            form.invoice.address,
        )
        order.delivery_address_lines = list(delivery.lines) if delivery else []
        order.pickup_point_id = pickup.id if pickup else ""
        order.pickup_point_lines = list(pickup.lines) if pickup else []
        order.invoice_address_lines = list(invoice.lines) if invoice else []
        order.invoice_tax_id = invoice.tax_id if invoice else ""
        changed.append(order)
        if len(changed) >= BATCH:
            order_model.objects.bulk_update(changed, FIELDS)
            changed = []
    order_model.objects.bulk_update(changed, FIELDS)


class Migration(migrations.Migration):
    dependencies = [
        ("orders", "0003_dispatch_window"),
    ]

    operations = [
        migrations.AddField(
            model_name="order",
            name="delivery_address_lines",
            field=models.JSONField(blank=True, default=list, verbose_name="delivery address lines"),
        ),
        migrations.AddField(
            model_name="order",
            name="invoice_address_lines",
            field=models.JSONField(blank=True, default=list, verbose_name="invoice address lines"),
        ),
        migrations.AddField(
            model_name="order",
            name="invoice_tax_id",
            field=models.CharField(blank=True, max_length=32, verbose_name="invoice tax id"),
        ),
        migrations.AddField(
            model_name="order",
            name="pickup_point_id",
            field=models.CharField(blank=True, max_length=64, verbose_name="pickup point id"),
        ),
        migrations.AddField(
            model_name="order",
            name="pickup_point_lines",
            field=models.JSONField(blank=True, default=list, verbose_name="pickup point lines"),
        ),
        migrations.RunPython(fill_address_lines, migrations.RunPython.noop, elidable=True),
    ]
