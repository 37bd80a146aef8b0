"""Whose turn it is in a dispute, kept on the dispute (``last_speaker``, ``waiting_since``) so
the inbox filters on indexed columns instead of reading every chat; filled here for the disputes
already mirrored (the mirror keeps them from now on: ``aftersales.sync.dispute_turns_refresh``)."""

from typing import Any

from django.db import migrations, models
from django.db.models import F, OuterRef, Subquery, Value
from django.db.models.functions import Coalesce

SPEAKERS = ("BUYER", "SELLER", "ADMIN")
OTHER_SIDE = ("BUYER", "ADMIN")


def fill(apps: Any, schema_editor: Any) -> None:
    Dispute = apps.get_model("aftersales", "Dispute")
    DisputeMessage = apps.get_model("aftersales", "DisputeMessage")

    def latest(roles: tuple[str, ...], column: str) -> Subquery:
        return Subquery(
            DisputeMessage.objects.filter(dispute_id=OuterRef("pk"), author_role__in=roles)
            .order_by("-created_at", "-id")
            .values(column)[:1]
        )

    Dispute.objects.using(schema_editor.connection.alias).update(
        last_speaker=Coalesce(latest(SPEAKERS, "author_role"), Value("")),
        waiting_since=Coalesce(latest(OTHER_SIDE, "created_at"), F("opened_at"), F("synced_at")),
    )


class Migration(migrations.Migration):
    dependencies = [
        ("aftersales", "0006_inbox_and_search_indexes"),
    ]

    operations = [
        migrations.AddField(
            model_name="dispute",
            name="last_speaker",
            field=models.CharField(
                blank=True,
                help_text="BUYER, SELLER or ADMIN: who wrote last (system notices aside); "
                "empty: nobody.",
                max_length=16,
                verbose_name="last word by",
            ),
        ),
        migrations.AddField(
            model_name="dispute",
            name="waiting_since",
            field=models.DateTimeField(
                blank=True,
                help_text="The buyer's or Allegro advisor's last message, else the opening.",
                null=True,
                verbose_name="waiting since",
            ),
        ),
        migrations.RunPython(fill, migrations.RunPython.noop, elidable=True),
        migrations.AddIndex(
            model_name="dispute",
            index=models.Index(
                condition=models.Q(
                    ("status__in", ["DISPUTE_ONGOING", "CLAIM_SUBMITTED"]),
                    models.Q(
                        ("status", "CLAIM_SUBMITTED"),
                        ("last_speaker__in", ["BUYER", "ADMIN", ""]),
                        _connector="OR",
                    ),
                ),
                fields=["account", "waiting_since"],
                name="dispute_waiting",
            ),
        ),
    ]
