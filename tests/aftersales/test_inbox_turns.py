"""Whose turn it is in a dispute, kept on the dispute (``last_speaker``, ``waiting_since``): the
rule from the chat (system notices do not count, an Allegro advisor counts as the other side),
the data migration that fills the disputes mirrored before the columns existed, and the inbox's
filter reading the columns."""

from __future__ import annotations

import uuid
from datetime import timedelta
from typing import Any

import pytest
from django.db import connection
from django.db.migrations.executor import MigrationExecutor
from django.utils import timezone

from aftersales.inbox import disputes_waiting
from aftersales.models import Dispute, DisputeMessage
from aftersales.sync import dispute_turns_refresh

BEFORE = [("aftersales", "0006_inbox_and_search_indexes")]
AFTER = [("aftersales", "0007_dispute_last_speaker")]


def _dispute(account: Any, status: str = "DISPUTE_ONGOING") -> Dispute:
    return Dispute.objects.create(
        account=account,
        allegro_id=uuid.uuid4().hex,
        type="CLAIM" if status.startswith("CLAIM") else "DISPUTE",
        status=status,
        opened_at=timezone.now() - timedelta(days=3),
        synced_at=timezone.now(),
    )


def _say(dispute: Dispute, *roles: str) -> list[DisputeMessage]:
    assert dispute.opened_at is not None
    return [
        DisputeMessage.objects.create(
            account_id=dispute.account_id,
            dispute=dispute,
            allegro_id=uuid.uuid4().hex,
            author_role=role,
            text=f"{role} {i}",
            created_at=dispute.opened_at + timedelta(hours=i + 1),
        )
        for i, role in enumerate(roles)
    ]


@pytest.mark.django_db
def test_turns_follow_the_people_in_the_chat(account: Any) -> None:
    cases = {
        "buyer last": (("BUYER", "SELLER", "BUYER"), "BUYER", 2),
        "seller last": (("BUYER", "SELLER"), "SELLER", 0),
        "advisor, then a notice": (("BUYER", "SELLER", "ADMIN", "SYSTEM"), "ADMIN", 2),
        "only notices": (("SYSTEM", "FULFILLMENT"), "", None),
        "nobody": ((), "", None),
    }
    made = {}
    for name, (roles, _speaker, _index) in cases.items():
        dispute = _dispute(account)
        made[name] = (dispute, _say(dispute, *roles))
    assert dispute_turns_refresh(dispute_ids=[d.pk for d, _m in made.values()]) == len(cases)
    for name, (_roles, speaker, index) in cases.items():
        dispute, messages = made[name]
        dispute.refresh_from_db()
        assert dispute.last_speaker == speaker, name
        expected = messages[index].created_at if index is not None else dispute.opened_at
        assert dispute.waiting_since == expected, name
    waiting = set(disputes_waiting(accounts=[account]).values_list("pk", flat=True))
    assert waiting == {
        made[name][0].pk
        for name in ("buyer last", "advisor, then a notice", "only notices", "nobody")
    }


@pytest.mark.django_db
def test_a_claim_waits_for_the_decision_whoever_spoke_last(account: Any) -> None:
    claim = _dispute(account, "CLAIM_SUBMITTED")
    _say(claim, "BUYER", "SELLER")
    closed = _dispute(account, "DISPUTE_CLOSED")
    _say(closed, "BUYER")
    dispute_turns_refresh(dispute_ids=[claim.pk, closed.pk])
    assert list(disputes_waiting(accounts=[account]).values_list("pk", flat=True)) == [claim.pk]


@pytest.mark.django_db(transaction=True)
def test_the_migration_fills_the_disputes_already_mirrored(account: Any) -> None:
    executor = MigrationExecutor(connection)
    executor.migrate(BEFORE)
    old = MigrationExecutor(connection).loader.project_state(BEFORE).apps
    OldDispute = old.get_model("aftersales", "Dispute")
    OldMessage = old.get_model("aftersales", "DisputeMessage")
    opened = timezone.now() - timedelta(days=2)
    ids = {}
    chats = {"buyer": ("SELLER", "BUYER"), "seller": ("BUYER", "SELLER"), "none": ()}
    for name, roles in chats.items():
        dispute = OldDispute.objects.create(
            account_id=account.pk,
            allegro_id=uuid.uuid4().hex,
            type="DISPUTE",
            status="DISPUTE_ONGOING",
            opened_at=opened,
            synced_at=timezone.now(),
        )
        ids[name] = dispute.pk
        for i, role in enumerate(roles):
            OldMessage.objects.create(
                account_id=account.pk,
                dispute_id=dispute.pk,
                allegro_id=uuid.uuid4().hex,
                author_role=role,
                created_at=opened + timedelta(hours=i + 1),
            )
    executor = MigrationExecutor(connection)
    executor.loader.build_graph()
    executor.migrate(executor.loader.graph.leaf_nodes())  # forward again, to the latest

    filled = {d.pk: d for d in Dispute.objects.filter(pk__in=ids.values())}
    assert filled[ids["buyer"]].last_speaker == "BUYER"
    assert filled[ids["buyer"]].waiting_since == opened + timedelta(hours=2)
    assert filled[ids["seller"]].last_speaker == "SELLER"
    assert filled[ids["seller"]].waiting_since == opened + timedelta(hours=1)
    assert filled[ids["none"]].last_speaker == ""
    assert filled[ids["none"]].waiting_since == opened
    waiting = set(disputes_waiting(accounts=[account]).values_list("pk", flat=True))
    assert waiting == {ids["buyer"], ids["none"]}
