"""What the staff lists share: the filter form's common fields (search, account, page size), the
filter bar's options, the query string that keeps filters in links, and :class:`ListPage`, the
filter form → query → page source → capped paginator → template context pipeline.

A list page's template extends ``ui/list.html`` and includes the kit's partials
(``ui/_filters.html``, ``ui/_bulkbar.html``, ``ui/_filter_state.html``, ``ui/_sort.html``,
``ui/_pager.html``); HTMX requests render only its ``rows`` partial (:func:`list_template`).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from typing import Any, ClassVar
from urllib.parse import urlencode

from django import forms
from django.db.models import QuerySet
from django.http import HttpRequest, QueryDict
from django.utils.translation import gettext_lazy as _

from accounts.models import AccountStatus, AllegroAccount
from accounts.selectors import account_scope_id, accounts_with_roles
from ui.forms import is_db_id
from ui.paging import CappedPaginator

DEFAULT_PAGE_SIZE = 50
# Allegro's marketplaces, for a list's marketplace filter ("" = any).
MARKETPLACE_CHOICES = [
    ("", _("Any marketplace")),
    ("allegro-pl", "allegro.pl"),
    ("allegro-cz", "allegro.cz"),
    ("allegro-sk", "allegro.sk"),
    ("allegro-hu", "allegro.hu"),
]


class ListFilterForm(forms.Form):
    """A list's query string. Invalid values are reported and otherwise ignored.

    Subclasses add their filters and a ``sort`` field, list every field in ``field_order``
    (the order of the filter bar and of the links' query string) and may set ``page_sizes``.
    """

    page_sizes: ClassVar[tuple[int, ...]] = (25, 50, 100)

    q = forms.CharField(label=_("Search"), required=False, max_length=100)
    account = forms.TypedChoiceField(label=_("Account"), required=False, coerce=int)
    per_page = forms.TypedChoiceField(
        label=_("Per page"), required=False, coerce=int, initial=DEFAULT_PAGE_SIZE
    )

    def __init__(self, *args: Any, accounts: Sequence[AllegroAccount], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        if self.is_bound and not self.data.get("per_page"):
            data = QueryDict(mutable=True)
            data.update(self.data)
            data["per_page"] = str(DEFAULT_PAGE_SIZE)
            self.data = data
        account_field = self.fields["account"]
        assert isinstance(account_field, forms.TypedChoiceField)
        account_field.choices = [("", _("All accounts in view"))] + [
            (a.pk, a.login) for a in accounts
        ]
        per_page = self.fields["per_page"]
        assert isinstance(per_page, forms.TypedChoiceField)
        per_page.choices = [(n, str(n)) for n in self.page_sizes]

    def query(self) -> Any:
        """The selector's query (with at least a ``sort``) built from the valid fields."""
        raise NotImplementedError

    def valid_data(self) -> dict[str, Any]:
        """The cleaned values of the fields that did validate."""
        if self.is_valid():
            return self.cleaned_data
        return {k: v for k, v in getattr(self, "cleaned_data", {}).items() if k not in self.errors}

    def account_ids(self) -> list[int]:
        account = self.valid_data().get("account")
        return [account] if account else []

    def page_size(self) -> int:
        return int(self.valid_data().get("per_page") or DEFAULT_PAGE_SIZE)


def filter_querystring(params: QueryDict, keys: Sequence[str], **overrides: Any) -> str:
    """``params`` narrowed to the list's filter ``keys`` (empty values dropped), with
    ``overrides`` replacing or, when ``None``, removing a key; for the pager and sort links."""
    pairs: list[tuple[str, str]] = []
    for key in keys:
        if key in overrides:
            continue
        pairs.extend((key, v) for v in params.getlist(key) if v != "")
    pairs.extend((k, str(v)) for k, v in overrides.items() if v not in (None, ""))
    return urlencode(pairs)


def filter_options(form: forms.Form) -> dict[str, list[tuple[str, str, bool]]]:
    """``{field: [(value, label, selected)]}`` for the choice fields of a filter form.

    The list pages print their filter bar from this instead of rendering widget templates
    (a measurable share of the page's time).
    """
    options: dict[str, list[tuple[str, str, bool]]] = {}
    for name, field in form.fields.items():
        if not isinstance(field, forms.ChoiceField):
            continue
        value = form[name].value()
        chosen = {str(v) for v in (value if isinstance(value, list | tuple) else [value])}
        choices: list[tuple[Any, Any]] = list(field.choices)  # type: ignore[arg-type]
        options[name] = [(str(k), str(label), str(k) in chosen) for k, label in choices]
    return options


# --- a list page -----------------------------------------------------------------------------
# ``(rows to page through, queryset to count)`` for ``user=, query=, scope=``: a domain's
# ``*_page_source`` selector.
PageSource = Callable[..., tuple[Any, QuerySet[Any]]]


class ListPage:
    """One page of a staff list for ``request``: the accounts in view (``accounts``, with the
    user's ``viewer_role``), ``form_class`` bound to ``params``, its query handed to ``source``,
    paged with a :class:`~ui.paging.CappedPaginator` at the ``page`` named in ``params``.

    :meth:`context` is what every list template reads: the form and its bar's ``options``
    (left out for HTMX, which swaps only the rows), the ``page``, the query strings the pager
    (``filters_qs``) and the sort links (``filters_qs_sortless``) carry, and the ``sort``.
    """

    def __init__(
        self,
        request: HttpRequest,
        params: QueryDict,
        *,
        form_class: type[ListFilterForm],
        source: PageSource,
    ) -> None:
        self.htmx = bool(getattr(request, "htmx", False))
        self.params = params
        scope = account_scope_id(request=request)
        self.accounts = accounts_with_roles(user=request.user, scope=scope)
        self.form = form_class(params or None, accounts=self.accounts)
        self.query = self.form.query()
        rows, count_qs = source(user=request.user, query=self.query, scope=scope)
        paginator = CappedPaginator(
            rows,
            self.form.page_size(),
            count_qs=count_qs,
            after=params.get("after", ""),
            before=params.get("before", ""),
        )
        self.page = paginator.get_page(params.get("page"))

    def context(self) -> dict[str, Any]:
        keys = list(self.form.field_order or ())
        return {
            "form": self.form,
            "options": filter_options(self.form) if not self.htmx else {},
            "page": self.page,
            "filters_qs": filter_querystring(self.params, keys),
            "filters_qs_sortless": filter_querystring(self.params, keys, sort=None),
            "sort": self.query.sort,
        }


def list_template(template: str, *, htmx: bool) -> str:
    """The list's template, or only its ``rows`` partial for an HTMX request."""
    return f"{template}#rows" if htmx else template


def selected_ids(data: QueryDict, name: str) -> set[int]:
    """The ticked rows' primary keys in ``data`` (a refused bulk form); anything else dropped."""
    return {int(v) for v in data.getlist(name) if is_db_id(v)}


def writable_account_ids(accounts: Iterable[AllegroAccount], *, role: int) -> list[int]:
    """The accounts (annotated with ``viewer_role``) whose rows the user may tick for a bulk
    action needing ``role``: granted at least that role and still linked."""
    return [
        a.pk
        for a in accounts
        if (getattr(a, "viewer_role", None) or 0) >= role and a.status != AccountStatus.UNLINKED
    ]


def unlinked_accounts(accounts: Iterable[AllegroAccount]) -> list[AllegroAccount]:
    """The accounts shown read-only (the banner above a list)."""
    return [a for a in accounts if a.status == AccountStatus.UNLINKED]
