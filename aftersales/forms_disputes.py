"""Forms of the dispute pages: the list's filters, the reply (text and files) and the claim
decision; each checks what Allegro checks before a request is sent."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from django import forms
from django.utils.translation import gettext_lazy as _

from aftersales.disputes import MAX_FILES, MAX_TEXT, STATUSES, TYPES, DisputeQuery
from allegro.api import issues as issues_api
from ui.forms import BoundedDateField, LocalizedDecimalField
from ui.listing import ListFilterForm

TYPE_LABELS = {"DISPUTE": _("Dispute"), "CLAIM": _("Claim")}
STATUS_LABELS = {
    "DISPUTE_ONGOING": _("Dispute ongoing"),
    "DISPUTE_UNRESOLVED": _("Dispute unresolved"),
    "DISPUTE_CLOSED": _("Dispute closed"),
    "CLAIM_SUBMITTED": _("Claim submitted"),
    "CLAIM_ACCEPTED": _("Claim accepted"),
    "CLAIM_REJECTED": _("Claim rejected"),
}
MESSAGE_TYPE_LABELS = {
    "REGULAR": _("Message"),
    "END_REQUEST": _("Message asking the buyer to end the dispute"),
    "RETURN_REQUIRED_SELLER_LABEL": _("Return required: we send a shipping label"),
    "RETURN_REQUIRED_CUSTOM": _("Return required: the buyer sends it their way"),
    "RETURN_NOT_REQUIRED": _("Return not required"),
}
DECISION_LABELS = {
    "ACCEPTED_REPAIR": _("Accept: repair"),
    "ACCEPTED_REFUND": _("Accept: refund"),
    "ACCEPTED_EXCHANGE": _("Accept: exchange"),
    "ACCEPTED_PARTIAL_REFUND": _("Accept: partial refund"),
    "REJECTED_ADDITIONAL_REQUIREMENTS_NOT_COMPLETED": _(
        "Reject: additional requirements not completed"
    ),
    "REJECTED_PRODUCT_NOT_RETURNED": _("Reject: product not returned"),
    "REJECTED_PRODUCT_DAMAGED_BY_USER": _("Reject: product damaged by the buyer"),
    "REJECTED_PRODUCT_CONFORMS_TO_CONTRACT": _("Reject: product conforms to the contract"),
    "REJECTED_MINOR_DEFECT": _("Reject: minor defect"),
    "REJECTED_OTHER": _("Reject: other reason"),
    "REJECTED_CLAIM_WITHDRAWN_BY_BUYER": _("Reject: claim withdrawn by the buyer"),
}
WAITING_CHOICES = [("", _("Any")), ("yes", _("Waits for us")), ("no", _("Does not wait"))]
CURRENCIES = [("PLN", "PLN"), ("CZK", "CZK"), ("EUR", "EUR"), ("HUF", "HUF")]


class DisputeFilterForm(ListFilterForm):
    field_order = ("q", "account", "type", "status", "waiting", "due_to", "overdue", "per_page")

    type = forms.MultipleChoiceField(
        label=_("Type"),
        required=False,
        choices=[(t, TYPE_LABELS[t]) for t in TYPES],
        widget=forms.CheckboxSelectMultiple,
    )
    status = forms.MultipleChoiceField(
        label=_("Status"),
        required=False,
        choices=[(s, STATUS_LABELS[s]) for s in STATUSES],
        widget=forms.CheckboxSelectMultiple,
    )
    waiting = forms.ChoiceField(label=_("Waiting for us"), required=False, choices=WAITING_CHOICES)
    due_to = BoundedDateField(label=_("Decision due by"), required=False)
    overdue = forms.BooleanField(label=_("Overdue"), required=False)

    def query(self) -> DisputeQuery:
        data = self.valid_data()
        return DisputeQuery(
            q=data.get("q") or "",
            account_ids=self.account_ids(),
            types=list(data.get("type") or []),
            statuses=list(data.get("status") or []),
            waiting={"yes": True, "no": False}.get(data.get("waiting") or ""),
            due_to=data.get("due_to"),
            overdue=bool(data.get("overdue")),
        )


class MultipleFileInput(forms.ClearableFileInput):
    allow_multiple_selected = True


class MultipleFileField(forms.FileField):
    widget = MultipleFileInput

    def clean(self, data: Any, initial: Any = None) -> list[Any]:
        single = super().clean
        if isinstance(data, list | tuple):
            return [single(d, initial) for d in data if d]
        return [single(data, initial)] if data else []


class ReplyForm(forms.Form):
    text = forms.CharField(
        label=_("Message to the buyer"),
        required=False,
        max_length=MAX_TEXT,
        widget=forms.Textarea(attrs={"rows": 5, "maxlength": MAX_TEXT}),
    )
    type = forms.ChoiceField(label=_("Kind of message"))
    attachments = MultipleFileField(
        label=_("Attachments"),
        required=False,
        help_text=_(
            "Images (PNG, JPEG, GIF, BMP, TIFF) or PDF, at most %(count)s files of %(mb)s MB."
        )
        % {"count": MAX_FILES, "mb": issues_api.MAX_ATTACHMENT_SIZE // (1024 * 1024)},
        widget=MultipleFileInput(attrs={"accept": ",".join(issues_api.ATTACHMENT_TYPES)}),
    )

    def __init__(self, *args: Any, message_types: tuple[str, ...], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        field = self.fields["type"]
        assert isinstance(field, forms.ChoiceField)
        field.choices = [(t, MESSAGE_TYPE_LABELS[t]) for t in message_types]
        field.initial = "REGULAR"

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        if not (data.get("text") or "").strip() and not data.get("attachments") and not self.errors:
            raise forms.ValidationError(_("Write a message or attach a file."))
        return data


class ClaimDecisionForm(forms.Form):
    decision = forms.ChoiceField(
        label=_("Decision"), choices=[(d, DECISION_LABELS[d]) for d in issues_api.CLAIM_DECISIONS]
    )
    message = forms.CharField(
        label=_("Message for the buyer"),
        max_length=MAX_TEXT,
        widget=forms.Textarea(attrs={"rows": 3, "maxlength": MAX_TEXT}),
    )
    refund = LocalizedDecimalField(
        label=_("Amount to refund"),
        required=False,
        min_value=Decimal("0.01"),
        max_value=1_000_000,
        max_digits=12,
        decimal_places=2,
    )
    currency = forms.ChoiceField(label=_("Currency"), choices=CURRENCIES, initial="PLN")
    confirm = forms.BooleanField(
        label=_("I confirm this decision: Allegro tells the buyer at once and it cannot be undone.")
    )

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        if data.get("decision") == "ACCEPTED_PARTIAL_REFUND" and not data.get("refund"):
            self.add_error("refund", _("Give the amount to refund."))
        if data.get("decision") and data.get("decision") != "ACCEPTED_PARTIAL_REFUND":
            data["refund"] = None
        if not (data.get("message") or "").strip() and "message" not in self.errors:
            self.add_error("message", _("Write a message for the buyer."))
        return data
