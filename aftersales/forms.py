"""Forms of the inbox, the rating pages and the saved replies; each checks Allegro's limits
(a message of 1-500 characters) before a request is sent."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from django import forms
from django.utils.translation import gettext_lazy as _

from accounts.models import AllegroAccount
from aftersales.inbox import KIND_CHOICES, InboxQuery
from aftersales.selectors import RatingQuery
from aftersales.services import MAX_ANSWER, MAX_NOTE
from ui.forms import BoundedDateField
from ui.listing import ListFilterForm

YES_NO = [("", _("Any")), ("yes", _("Yes")), ("no", _("No"))]
RATE_CHOICES = [(str(n), "★" * n) for n in range(1, 6)]
ASSIGNED_CHOICES = [("", _("Anyone")), ("me", _("Assigned to me")), ("none", _("Unassigned"))]


def _yes_no(value: str | None) -> bool | None:
    return {"yes": True, "no": False}.get(value or "")


class InboxFilterForm(ListFilterForm):
    field_order = ("account", "kind", "assigned", "overdue", "per_page")

    kind = forms.MultipleChoiceField(
        label=_("Kind"), required=False, choices=KIND_CHOICES, widget=forms.CheckboxSelectMultiple
    )
    assigned = forms.ChoiceField(label=_("Assigned"), required=False, choices=ASSIGNED_CHOICES)
    overdue = forms.BooleanField(label=_("Overdue"), required=False)

    def query(self) -> InboxQuery:
        data = self.valid_data()
        return InboxQuery(
            account_ids=self.account_ids(),
            kinds=list(data.get("kind") or []),
            assigned=data.get("assigned") or "",
            overdue=bool(data.get("overdue")),
        )


class RatingFilterForm(ListFilterForm):
    field_order = (
        "q",
        "account",
        "recommended",
        "rate",
        "answered",
        "removal",
        "created_from",
        "created_to",
        "per_page",
    )

    recommended = forms.ChoiceField(label=_("Recommends"), required=False, choices=YES_NO)
    rate = forms.TypedMultipleChoiceField(
        label=_("Rates"),
        required=False,
        coerce=int,
        choices=RATE_CHOICES,
        widget=forms.CheckboxSelectMultiple,
    )
    answered = forms.ChoiceField(label=_("Answered"), required=False, choices=YES_NO)
    removal = forms.ChoiceField(label=_("Removal requested"), required=False, choices=YES_NO)
    created_from = BoundedDateField(label=_("Rated from"), required=False)
    created_to = BoundedDateField(label=_("Rated to"), required=False)

    def query(self) -> RatingQuery:
        data = self.valid_data()
        return RatingQuery(
            q=data.get("q") or "",
            account_ids=self.account_ids(),
            recommended=_yes_no(data.get("recommended")),
            rates=list(data.get("rate") or []),
            answered=_yes_no(data.get("answered")),
            removal_requested=_yes_no(data.get("removal")),
            created_from=data.get("created_from"),
            created_to=data.get("created_to"),
        )


class MessageField(forms.CharField):
    """1-500 characters after trimming, as Allegro accepts."""

    def __init__(self, **kwargs: Any) -> None:
        kwargs.setdefault("max_length", MAX_ANSWER)
        kwargs.setdefault("strip", True)
        kwargs.setdefault(
            "widget",
            forms.Textarea(attrs={"rows": 5, "maxlength": MAX_ANSWER, "data-counter": ""}),
        )
        super().__init__(**kwargs)


class AnswerForm(forms.Form):
    message = MessageField(label=_("Your answer"))


class RemovalForm(forms.Form):
    message = MessageField(label=_("Why should Allegro remove this rating?"))


class NoteForm(forms.Form):
    text = forms.CharField(
        label=_("Internal note"),
        max_length=MAX_NOTE,
        strip=True,
        widget=forms.Textarea(attrs={"rows": 2, "maxlength": MAX_NOTE}),
    )


class AssignForm(forms.Form):
    assignee = forms.TypedChoiceField(label=_("Assigned to"), required=False, coerce=int)

    def __init__(self, *args: Any, staff: Sequence[Any], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        field = self.fields["assignee"]
        assert isinstance(field, forms.TypedChoiceField)
        field.choices = [("", _("Nobody"))] + [(u.pk, u.get_username()) for u in staff]
        self.staff = {u.pk: u for u in staff}

    def chosen_assignee(self) -> Any | None:
        pk = self.cleaned_data.get("assignee")
        return self.staff.get(pk) if pk else None


class SavedReplyForm(forms.Form):
    title = forms.CharField(label=_("Title"), max_length=100, strip=True)
    account = forms.TypedChoiceField(label=_("Account"), required=False, coerce=int)
    text = MessageField(
        label=_("Text"),
        help_text=_("Placeholders: {buyer_login}, {order_id}, {offer_title}."),
    )

    def __init__(self, *args: Any, accounts: Sequence[AllegroAccount], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        field = self.fields["account"]
        assert isinstance(field, forms.TypedChoiceField)
        field.choices = [("", _("Shared by every account"))] + [(a.pk, a.login) for a in accounts]
        self.accounts = {a.pk: a for a in accounts}

    def chosen_account(self) -> AllegroAccount | None:
        pk = self.cleaned_data.get("account")
        return self.accounts.get(pk) if pk else None
