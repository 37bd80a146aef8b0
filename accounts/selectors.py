"""Read access to accounts. Every query for account-owned data goes through these selectors."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any

from django.db.models import Exists, OuterRef, Q, QuerySet, Subquery, Value
from django.http import Http404, HttpRequest

from accounts.models import AccountGrant, AccountStatus, AccountToken, AllegroAccount, Role

if TYPE_CHECKING:
    from django.contrib.auth.models import AbstractBaseUser, AnonymousUser

    AnyUser = AbstractBaseUser | AnonymousUser

SCOPE_SESSION_KEY = "account_scope"
# Where ``accounts_with_roles`` keeps its answer on the user object.
ROLES_MEMO = "_accounts_with_roles"


def accounts_visible_to(*, user: AnyUser) -> QuerySet[AllegroAccount]:
    """The accounts ``user`` may see: all for a superuser, the granted ones for staff."""
    if not user.is_authenticated or not user.is_active:
        return AllegroAccount.objects.none()
    if getattr(user, "is_superuser", False):
        return AllegroAccount.objects.all()
    return AllegroAccount.objects.filter(grants__user_id=user.pk)


def account_get_for_user(*, user: AnyUser, account_id: int | str) -> AllegroAccount:
    """One visible account, or ``Http404`` when the user has no grant on it (or it is unknown)."""
    try:
        return accounts_visible_to(user=user).get(pk=int(account_id))
    except (AllegroAccount.DoesNotExist, ValueError, TypeError) as exc:
        raise Http404("No such Allegro account.") from exc


def account_role_for(*, user: AnyUser, account: AllegroAccount) -> Role | None:
    """The user's role on ``account``: manager for a superuser, ``None`` without a grant."""
    if not user.is_authenticated or not user.is_active:
        return None
    if getattr(user, "is_superuser", False):
        return Role.MANAGER
    role = (
        AccountGrant.objects.filter(user_id=user.pk, account=account)
        .values_list("role", flat=True)
        .first()
    )
    return Role(role) if role is not None else None


def account_scope_id(*, request: HttpRequest) -> int | None:
    """The account id chosen in the switcher, or ``None`` for all granted accounts."""
    raw = request.session.get(SCOPE_SESSION_KEY)
    return raw if isinstance(raw, int) else None


def accounts_in_scope(*, request: HttpRequest) -> QuerySet[AllegroAccount]:
    """The visible accounts narrowed by the account switcher (session key ``account_scope``).

    A scope pointing at an account the user can no longer see falls back to all granted
    accounts, so a revoked grant never leaks data.
    """
    visible = accounts_visible_to(user=request.user)
    scope = account_scope_id(request=request)
    if scope is None or not visible.filter(pk=scope).exists():
        return visible
    return visible.filter(pk=scope)


def accounts_scoped(*, user: AnyUser, scope: int | None = None) -> QuerySet[AllegroAccount]:
    """The accounts ``user`` may see, narrowed to ``scope`` (the switcher's account id).

    A scope the user cannot see (a revoked grant, a forged id) falls back to every visible
    account, as ``accounts_in_scope`` does; decided inside the query, so this costs none.
    """
    visible = accounts_visible_to(user=user)
    if scope is None:
        return visible
    return visible.filter(Q(pk=scope) | ~Exists(visible.filter(pk=scope)))


def role_expression(*, user: AnyUser, account_ref: str = "pk") -> Any:
    """An annotation: the user's role on the row's account (``OuterRef(account_ref)``), read in
    the row's own query; ``Role.MANAGER`` for a superuser, ``None`` without a grant."""
    if getattr(user, "is_superuser", False):
        return Value(int(Role.MANAGER))
    return Subquery(
        AccountGrant.objects.filter(user_id=user.pk or 0, account_id=OuterRef(account_ref))
        .order_by()
        .values("role")[:1]
    )


def accounts_with_roles(*, user: AnyUser, scope: int | None = None) -> list[Any]:
    """The list pages' accounts (``accounts_scoped``, by login) with ``viewer_role``.

    One query per user object and scope: the list is kept on ``user`` (``request.user`` lives
    for one request), so a list view and the selectors it calls share it.
    """
    memo: dict[int | None, list[Any]] | None = getattr(user, ROLES_MEMO, None)
    if memo is None:
        memo = {}
        setattr(user, ROLES_MEMO, memo)
    if scope not in memo:
        memo[scope] = list(
            accounts_scoped(user=user, scope=scope)
            .order_by("login", "id")
            .annotate(viewer_role=role_expression(user=user))
        )
    return list(memo[scope])


def accounts_for_switcher(*, user: AnyUser) -> list[AllegroAccount]:
    """Every account ``user`` may see, by login: the list ``accounts_with_roles`` already read
    for this request when the switcher's scope is "all" (a list page), else one small query."""
    memo: dict[int | None, list[Any]] = getattr(user, ROLES_MEMO, None) or {}
    if None in memo:
        return list(memo[None])
    return list(accounts_visible_to(user=user).only("id", "login", "environment", "status"))


def roles_by_account(*, user: AnyUser) -> dict[int, int]:
    """``{account id: role}`` for the user's grants (superusers: managers of every account)."""
    if not user.is_authenticated:
        return {}
    if getattr(user, "is_superuser", False):
        return {pk: Role.MANAGER for pk in AllegroAccount.objects.values_list("pk", flat=True)}
    return dict(AccountGrant.objects.filter(user_id=user.pk).values_list("account_id", "role"))


def accounts_for_sync() -> QuerySet[AllegroAccount]:
    """Accounts background sync may call: active only (not unlinked, not awaiting re-auth)."""
    return AllegroAccount.objects.filter(status=AccountStatus.ACTIVE)


def user_can_link_accounts(*, user: AnyUser) -> bool:
    """Who may link a new Allegro account: superusers, holders of ``accounts.add_allegroaccount``
    and managers of any account (they become manager of what they link)."""
    if not user.is_authenticated or not user.is_active:
        return False
    if getattr(user, "is_superuser", False) or getattr(user, "has_perm", lambda _: False)(
        "accounts.add_allegroaccount"
    ):
        return True
    return AccountGrant.objects.filter(user_id=user.pk, role__gte=Role.MANAGER).exists()


@dataclass(frozen=True, kw_only=True)
class AccountRow:
    """One line of the Accounts page."""

    account: AllegroAccount
    role: Role
    token_expires_at: datetime | None

    @property
    def can_manage(self) -> bool:
        return self.role >= Role.MANAGER


def account_rows_for(*, user: AnyUser) -> list[AccountRow]:
    """The accounts page: visible accounts with the user's role and token expiry (2 queries)."""
    accounts = list(accounts_visible_to(user=user).select_related("token").order_by("login", "id"))
    roles: dict[int, int] = {}
    if getattr(user, "is_superuser", False):
        roles = {account.pk: Role.MANAGER for account in accounts}
    elif user.pk is not None:
        grants = AccountGrant.objects.filter(user_id=user.pk).values_list("account_id", "role")
        roles = {account_id: role for account_id, role in grants}
    return [
        AccountRow(
            account=account,
            role=Role(roles.get(account.pk, Role.VIEWER)),
            token_expires_at=_token_expiry(account),
        )
        for account in accounts
    ]


def _token_expiry(account: AllegroAccount) -> datetime | None:
    try:
        return account.token.expires_at
    except AccountToken.DoesNotExist:
        return None


def accounts_needing_reauth_for(*, user: AnyUser) -> QuerySet[AllegroAccount]:
    """Visible accounts waiting for re-authorisation (the banner in the base layout)."""
    return accounts_visible_to(user=user).filter(status=AccountStatus.REAUTH_REQUIRED)
