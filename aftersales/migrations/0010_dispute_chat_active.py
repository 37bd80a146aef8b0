"""``Dispute.chat_active``: the chat's state as a column (read by the dispute page), filled for the
disputes already mirrored from the Allegro document they keep."""

from django.db import migrations, models


def fill(apps, schema_editor):
    Dispute = apps.get_model("aftersales", "Dispute")
    for value in (True, False):
        Dispute.objects.filter(raw__currentState__chatActive=value).update(chat_active=value)


class Migration(migrations.Migration):
    dependencies = [("aftersales", "0009_list_indexes")]

    operations = [
        migrations.AddField(
            model_name="dispute",
            name="chat_active",
            field=models.BooleanField(blank=True, null=True, verbose_name="chat open"),
        ),
        migrations.RunPython(fill, migrations.RunPython.noop),
    ]
