"""What the offer and order lists share: the filter form's common fields (search, account,
page size), the filter bar's options and the query string that keeps filters in links."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, ClassVar
from urllib.parse import urlencode

from django import forms
from django.http import QueryDict
from django.utils.translation import gettext_lazy as _

from accounts.models import AllegroAccount

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
