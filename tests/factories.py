"""factory-boy factories for the models, for tests where the sync path is not the point.

Offer, Order (with ``line_items=n`` lines), Rating and Dispute (with ``messages=n``) carry
plausible mirrored values; tests of the sync itself (``tests/mirror/``) use the real path."""

from __future__ import annotations

import uuid
from datetime import timedelta
from decimal import Decimal
from typing import Any

import factory
from django.utils import timezone
from factory.django import DjangoModelFactory

from accounts.models import AccountGrant, AllegroAccount, AuditLogEntry, Environment, Role, User

PASSWORD = "Correct-horse-battery-42"


class UserFactory(DjangoModelFactory[User]):
    class Meta:
        model = User
        django_get_or_create = ("email",)

    username = factory.Sequence(lambda n: f"staff{n}")
    email = factory.LazyAttribute(lambda o: f"{o.username}@example.com")
    first_name = factory.Faker("first_name")
    last_name = factory.Faker("last_name")
    password = factory.django.Password(PASSWORD)
    is_staff = False
    is_active = True


class SuperuserFactory(UserFactory):
    is_staff = True
    is_superuser = True


class AllegroAccountFactory(DjangoModelFactory[AllegroAccount]):
    class Meta:
        model = AllegroAccount

    allegro_user_id = factory.Sequence(lambda n: str(40000000 + n))
    login = factory.Sequence(lambda n: f"seller-{n}")
    company_name = factory.LazyAttribute(lambda o: f"{o.login} sp. z o.o.")
    environment = Environment.SIMULATOR


class AccountGrantFactory(DjangoModelFactory[AccountGrant]):
    class Meta:
        model = AccountGrant

    user = factory.SubFactory(UserFactory)
    account = factory.SubFactory(AllegroAccountFactory)
    role = Role.OPERATOR


class AuditLogEntryFactory(DjangoModelFactory[AuditLogEntry]):
    class Meta:
        model = AuditLogEntry

    actor = factory.SubFactory(UserFactory)
    account = factory.SubFactory(AllegroAccountFactory)
    action = "test.action"
    target = "object:1"


def _ago(minutes: int) -> Any:
    return timezone.now() - timedelta(minutes=minutes)


class OfferFactory(DjangoModelFactory[Any]):
    class Meta:
        model = "offers.Offer"

    account = factory.SubFactory(AllegroAccountFactory)
    allegro_id = factory.Sequence(lambda n: str(17000000000 + n))
    name = factory.Sequence(lambda n: f"Kubek ceramiczny {n}")
    external_id = factory.Sequence(lambda n: f"SKU-{n:05d}")
    status = "ACTIVE"
    selling_format = "BUY_NOW"
    price_amount = Decimal("49.99")
    price_currency = "PLN"
    marketplace_prices = factory.LazyAttribute(
        lambda o: {"allegro-pl": {"amount": str(o.price_amount), "currency": o.price_currency}}
    )
    stock_available = 10
    stock_sold = 0
    started_at = factory.LazyFunction(lambda: _ago(60 * 24))
    allegro_updated_at = factory.LazyFunction(lambda: _ago(60))
    synced_at = factory.LazyFunction(timezone.now)


class OrderLineItemFactory(DjangoModelFactory[Any]):
    class Meta:
        model = "orders.OrderLineItem"

    order = factory.SubFactory("tests.factories.OrderFactory")
    account = factory.SelfAttribute("order.account")
    allegro_id = factory.LazyFunction(uuid.uuid4)
    offer_id = factory.Sequence(lambda n: str(17000000000 + n))
    offer_name = factory.Sequence(lambda n: f"Kubek ceramiczny {n}")
    quantity = 1
    price_amount = Decimal("49.99")
    price_currency = "PLN"
    bought_at = factory.SelfAttribute("order.bought_at")


class OrderFactory(DjangoModelFactory[Any]):
    """``OrderFactory(line_items=2)`` adds two lines; the total is their sum."""

    class Meta:
        model = "orders.Order"

    account = factory.SubFactory(AllegroAccountFactory)
    allegro_id = factory.LazyFunction(uuid.uuid4)
    buyer_id = factory.Sequence(lambda n: str(90000000 + n))
    buyer_login = factory.Sequence(lambda n: f"kupujacy_{n}")
    buyer_email = factory.LazyAttribute(lambda o: f"{o.buyer_login}@allegromail.pl")
    buyer_first_name = "Jan"
    buyer_last_name = "Kowalski"
    delivery_method_name = "Allegro Paczkomaty InPost"
    payment_type = "ONLINE"
    status = "READY_FOR_PROCESSING"
    fulfillment_status = "NEW"
    line_items_sent = "NONE"
    revision = factory.Sequence(lambda n: f"rev-{n}")
    currency = "PLN"
    paid_currency = "PLN"
    marketplace = "allegro-pl"
    bought_at = factory.LazyFunction(lambda: _ago(120))
    payment_finished_at = factory.LazyFunction(lambda: _ago(110))
    allegro_updated_at = factory.LazyFunction(lambda: _ago(110))
    synced_at = factory.LazyFunction(timezone.now)

    @classmethod
    def _create(cls, model_class: Any, *args: Any, **kwargs: Any) -> Any:
        count = kwargs.pop("line_items", 1)
        order = super()._create(model_class, *args, **kwargs)
        lines = OrderLineItemFactory.create_batch(count, order=order, account=order.account)
        total = sum((line.price_amount * line.quantity for line in lines), Decimal("0"))
        order.total_amount = order.paid_amount = total
        order.save(update_fields=["total_amount", "paid_amount"])
        return order


class RatingFactory(DjangoModelFactory[Any]):
    class Meta:
        model = "aftersales.Rating"

    account = factory.SubFactory(AllegroAccountFactory)
    allegro_id = factory.LazyFunction(lambda: str(uuid.uuid4()))
    buyer_id = factory.Sequence(lambda n: str(90000000 + n))
    buyer_login = factory.Sequence(lambda n: f"kupujacy_{n}")
    recommended = True
    comment = "Szybka wysyłka, polecam."
    rate_description = 5
    rate_service = 5
    rate_delivery = 5
    created_at = factory.LazyFunction(lambda: _ago(60 * 24))
    last_changed_at = factory.SelfAttribute("created_at")
    synced_at = factory.LazyFunction(timezone.now)


def _turns_refresh(dispute: Any) -> None:
    from aftersales.sync import dispute_turns_refresh

    dispute_turns_refresh(dispute_ids=[dispute.pk])
    dispute.refresh_from_db(fields=["last_speaker", "waiting_since"])


class DisputeFactory(DjangoModelFactory[Any]):
    """``DisputeFactory(messages=3)`` adds three chat messages, buyer and seller in turn."""

    class Meta:
        model = "aftersales.Dispute"

    account = factory.SubFactory(AllegroAccountFactory)
    allegro_id = factory.LazyFunction(lambda: str(uuid.uuid4()))
    type = "DISPUTE"
    status = "ONGOING"
    subject = "Produkt niezgodny z opisem"
    reference_number = factory.Sequence(lambda n: f"DS-{n:06d}")
    buyer_id = factory.Sequence(lambda n: str(90000000 + n))
    buyer_login = factory.Sequence(lambda n: f"kupujacy_{n}")
    checkout_form_id = factory.LazyFunction(lambda: str(uuid.uuid4()))
    opened_at = factory.LazyFunction(lambda: _ago(60 * 24))
    synced_at = factory.LazyFunction(timezone.now)

    @classmethod
    def _create(cls, model_class: Any, *args: Any, **kwargs: Any) -> Any:
        count = kwargs.pop("messages", 0)
        dispute = super()._create(model_class, *args, **kwargs)
        for i in range(count):
            DisputeMessageFactory(
                dispute=dispute,
                account=dispute.account,
                author_role="BUYER" if i % 2 == 0 else "SELLER",
                created_at=dispute.opened_at + timedelta(hours=i),
            )
        if count:
            dispute.messages_count = count
            dispute.last_message_at = dispute.opened_at + timedelta(hours=count - 1)
            dispute.save(update_fields=["messages_count", "last_message_at"])
        _turns_refresh(dispute)
        return dispute


class DisputeMessageFactory(DjangoModelFactory[Any]):
    class Meta:
        model = "aftersales.DisputeMessage"

    dispute = factory.SubFactory(DisputeFactory)
    account = factory.SelfAttribute("dispute.account")
    allegro_id = factory.LazyFunction(lambda: str(uuid.uuid4()))
    text = factory.Sequence(lambda n: f"Wiadomość {n}")
    author_login = factory.SelfAttribute("dispute.buyer_login")
    author_role = "BUYER"
    created_at = factory.LazyFunction(timezone.now)

    @classmethod
    def _create(cls, model_class: Any, *args: Any, **kwargs: Any) -> Any:
        message = super()._create(model_class, *args, **kwargs)
        _turns_refresh(message.dispute)  # as the mirror does whenever it writes a chat
        return message


class CustomerReturnFactory(DjangoModelFactory[Any]):
    """A buyer's return whose parcel came back (``DELIVERED``): it waits for the refund."""

    class Meta:
        model = "aftersales.CustomerReturn"

    account = factory.SubFactory(AllegroAccountFactory)
    allegro_id = factory.LazyFunction(lambda: str(uuid.uuid4()))
    reference_number = factory.Sequence(lambda n: f"ZW/2026/{n:05d}")
    order_id = factory.LazyFunction(lambda: str(uuid.uuid4()))
    status = "DELIVERED"
    buyer_login = factory.Sequence(lambda n: f"zwracajacy_{n}")
    created_at = factory.LazyFunction(lambda: _ago(60 * 24))
    synced_at = factory.LazyFunction(timezone.now)


class MessageThreadFactory(DjangoModelFactory[Any]):
    """A buyer's message thread, unread on Allegro."""

    class Meta:
        model = "aftersales.MessageThread"

    account = factory.SubFactory(AllegroAccountFactory)
    allegro_id = factory.LazyFunction(lambda: str(uuid.uuid4()))
    read = False
    last_message_at = factory.LazyFunction(lambda: _ago(90))
    interlocutor_login = factory.Sequence(lambda n: f"piszacy_{n}")
    order_id = factory.LazyFunction(lambda: str(uuid.uuid4()))
    synced_at = factory.LazyFunction(timezone.now)


def staff_member(name: str, role: str, *accounts: AllegroAccount) -> User:
    """A staff member signed up as ``name@example.com``, granted ``accounts`` with ``role``."""
    user: User = UserFactory(email=f"{name}@example.com", username=name)
    for account in accounts:
        AccountGrant.objects.create(user=user, account=account, role=role)
    return user
