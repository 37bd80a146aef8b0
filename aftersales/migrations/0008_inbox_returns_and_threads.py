# The inbox also holds customer returns waiting for a refund and unread buyer threads: their
# local state (assignee, handled) and internal notes; still exactly one target each.

import django.db.models.deletion
from django.conf import settings
from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("accounts", "0002_account_token"),
        ("aftersales", "0007_dispute_last_speaker"),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.RemoveConstraint(
            model_name="inboxnote",
            name="inbox_note_one_target",
        ),
        migrations.RemoveConstraint(
            model_name="inboxstate",
            name="inbox_state_one_target",
        ),
        migrations.AddField(
            model_name="inboxnote",
            name="customer_return",
            field=models.ForeignKey(
                blank=True,
                null=True,
                on_delete=django.db.models.deletion.CASCADE,
                related_name="notes",
                to="aftersales.customerreturn",
                verbose_name="return",
            ),
        ),
        migrations.AddField(
            model_name="inboxnote",
            name="thread",
            field=models.ForeignKey(
                blank=True,
                null=True,
                on_delete=django.db.models.deletion.CASCADE,
                related_name="notes",
                to="aftersales.messagethread",
                verbose_name="message thread",
            ),
        ),
        migrations.AddField(
            model_name="inboxstate",
            name="customer_return",
            field=models.OneToOneField(
                blank=True,
                null=True,
                on_delete=django.db.models.deletion.CASCADE,
                related_name="inbox_state",
                to="aftersales.customerreturn",
                verbose_name="return",
            ),
        ),
        migrations.AddField(
            model_name="inboxstate",
            name="thread",
            field=models.OneToOneField(
                blank=True,
                null=True,
                on_delete=django.db.models.deletion.CASCADE,
                related_name="inbox_state",
                to="aftersales.messagethread",
                verbose_name="message thread",
            ),
        ),
        migrations.AddConstraint(
            model_name="inboxnote",
            constraint=models.CheckConstraint(
                condition=models.Q(
                    models.Q(
                        ("customer_return__isnull", True),
                        ("dispute__isnull", True),
                        ("rating__isnull", False),
                        ("thread__isnull", True),
                    ),
                    models.Q(
                        ("customer_return__isnull", True),
                        ("dispute__isnull", False),
                        ("rating__isnull", True),
                        ("thread__isnull", True),
                    ),
                    models.Q(
                        ("customer_return__isnull", False),
                        ("dispute__isnull", True),
                        ("rating__isnull", True),
                        ("thread__isnull", True),
                    ),
                    models.Q(
                        ("customer_return__isnull", True),
                        ("dispute__isnull", True),
                        ("rating__isnull", True),
                        ("thread__isnull", False),
                    ),
                    _connector="OR",
                ),
                name="inbox_note_one_target",
            ),
        ),
        migrations.AddConstraint(
            model_name="inboxstate",
            constraint=models.CheckConstraint(
                condition=models.Q(
                    models.Q(
                        ("customer_return__isnull", True),
                        ("dispute__isnull", True),
                        ("rating__isnull", False),
                        ("thread__isnull", True),
                    ),
                    models.Q(
                        ("customer_return__isnull", True),
                        ("dispute__isnull", False),
                        ("rating__isnull", True),
                        ("thread__isnull", True),
                    ),
                    models.Q(
                        ("customer_return__isnull", False),
                        ("dispute__isnull", True),
                        ("rating__isnull", True),
                        ("thread__isnull", True),
                    ),
                    models.Q(
                        ("customer_return__isnull", True),
                        ("dispute__isnull", True),
                        ("rating__isnull", True),
                        ("thread__isnull", False),
                    ),
                    _connector="OR",
                ),
                name="inbox_state_one_target",
            ),
        ),
    ]
