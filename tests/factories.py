"""factory-boy factories for the accounts models."""

from __future__ import annotations

import factory
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
