"""Forms of the returns, refunds, buyer messages and billing pages; each checks what Allegro
checks before anything is sent."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from django import forms
from django.utils.translation import gettext_lazy as _
from django.utils.translation import npgettext

from aftersales.forms_disputes import MultipleFileField, MultipleFileInput
from aftersales.selectors_returns import ReturnQuery
from allegro.api import messaging as messaging_api
from allegro.api import refunds as refunds_api
from allegro.api import returns as returns_api
from ui.forms import BoundedDateField, LocalizedDecimalField, LocalizedIntegerField
from ui.labels import money_text
from ui.listing import ListFilterForm

RETURN_STATUS_LABELS = {
    "CREATED": _("Return announced"),
    "DISPATCHED": _("Parcel handed over"),
    "IN_TRANSIT": _("Parcel on its way"),
    "DELIVERED": _("Parcel delivered: waits for a refund"),
    "FINISHED": _("Finished"),
    "FINISHED_APT": _("Finished (parcel locker)"),
    "REJECTED": _("Refund rejected"),
    "COMMISSION_REFUND_CLAIMED": _("Commission refund claimed"),
    "COMMISSION_REFUNDED": _("Commission refunded"),
    "WAREHOUSE_DELIVERED": _("Delivered to the warehouse"),
    "WAREHOUSE_VERIFICATION": _("Verified by the warehouse"),
}
REJECTION_LABELS = {
    "REFUND_REJECTED": _("Refund rejected (give the reason)"),
    "NEW_ITEM_SENT": _("A new item was sent"),
    "ITEM_FIXED": _("The item was repaired"),
    "MISSING_PART_SENT": _("The missing part was sent"),
    "ITEM_MISMATCH": _("Not the item that was sold"),
    "BUSINESS_PURCHASE": _("A business purchase: no right of withdrawal"),
    "NO_RETURN_RIGHT": _("No right to return this item"),
}
REFUND_REASON_LABELS = {
    "REFUND": _("Return of goods"),
    "COMPLAINT": _("Complaint"),
    "PRODUCT_NOT_AVAILABLE": _("Product not available"),
    "PAID_VALUE_TOO_LOW": _("Paid amount too low"),
    "OVERPAID": _("Overpaid"),
    "CANCELLED_BY_BUYER": _("Cancelled by the buyer"),
    "NOT_COLLECTED": _("Parcel not collected"),
}
AMOUNT = {"max_digits": 12, "decimal_places": 2, "max_value": Decimal("1000000")}


class ReturnFilterForm(ListFilterForm):
    field_order = ("q", "account", "status", "order", "per_page")

    status = forms.MultipleChoiceField(
        label=_("Status"),
        required=False,
        choices=[(s, RETURN_STATUS_LABELS[s]) for s in returns_api.STATUSES],
        widget=forms.CheckboxSelectMultiple,
    )
    order = forms.CharField(label=_("Order id"), required=False, max_length=64)

    def query(self) -> ReturnQuery:
        data = self.valid_data()
        return ReturnQuery(
            q=data.get("q") or "",
            account_ids=tuple(self.account_ids()),
            statuses=tuple(data.get("status") or ()),
            order_id=(data.get("order") or "").strip(),
        )


class RejectForm(forms.Form):
    code = forms.ChoiceField(
        label=_("Why the refund is rejected"),
        choices=[(c, REJECTION_LABELS[c]) for c in returns_api.REJECTION_CODES],
    )
    reason = forms.CharField(
        label=_("Reason for the buyer"),
        required=False,
        max_length=returns_api.MAX_REASON_LENGTH,
        widget=forms.Textarea(attrs={"rows": 3, "maxlength": returns_api.MAX_REASON_LENGTH}),
    )
    confirm = forms.BooleanField(
        label=_("I confirm the rejection: Allegro tells the buyer at once.")
    )

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        data["reason"] = (data.get("reason") or "").strip()
        if data.get("code") in returns_api.REASON_REQUIRED and not data["reason"]:
            self.add_error("reason", _("Give the reason: Allegro requires it with this code."))
        return data


@dataclass(frozen=True)
class OrderLine:
    id: str
    name: str
    quantity: int
    price: Decimal
    refunded_quantity: int
    refunded_amount: Decimal
    currency: str = "PLN"

    @property
    def refundable_quantity(self) -> int:
        return max(0, self.quantity - self.refunded_quantity)

    @property
    def refundable_amount(self) -> Decimal:
        """What may still be refunded for this item as an amount (never below zero)."""
        return max(Decimal(0), self.price * self.quantity - self.refunded_amount)

    @property
    def refunded_text(self) -> str:
        """Pieces refunded, then amounts refunded on their own: "1 szt. · 60,00 PLN"."""
        pieces = npgettext(
            "pieces refunded", "%(count)d pc.", "%(count)d pcs.", self.refunded_quantity
        ) % {"count": self.refunded_quantity}
        return f"{pieces} · {money_text(self.refunded_amount, self.currency)}"


class RefundForm(forms.Form):
    """Per line item ``qty_<n>`` or ``amount_<n>``, plus delivery; never more than was paid."""

    command_id = forms.CharField(widget=forms.HiddenInput, max_length=64)
    reason = forms.ChoiceField(
        label=_("Reason"),
        choices=[(r, REFUND_REASON_LABELS[r]) for r in refunds_api.REFUND_REASONS],
    )
    delivery = LocalizedDecimalField(
        label=_("Delivery and surcharges to refund"),
        required=False,
        min_value=Decimal("0.01"),
        **AMOUNT,
    )
    comment = forms.CharField(
        label=_("Comment for the buyer"), required=False, max_length=refunds_api.MAX_COMMENT_LENGTH
    )

    def __init__(
        self,
        *args: Any,
        lines: list[OrderLine],
        paid: Decimal,
        refunded: Decimal,
        currency: str = "PLN",
        **kwargs: Any,
    ) -> None:
        super().__init__(*args, **kwargs)
        self.lines = lines
        self.paid = paid
        self.refunded = refunded
        self.currency = currency
        for n, line in enumerate(lines):
            self.fields[f"qty_{n}"] = LocalizedIntegerField(
                label=_("Quantity to refund: %(name)s") % {"name": line.name},
                required=False,
                min_value=0,
                max_value=line.refundable_quantity,
            )
            if n == 0:  # the form is the page's purpose ("r" in the inbox opens it): start here
                self.fields["qty_0"].widget.attrs["autofocus"] = True
            self.fields[f"amount_{n}"] = LocalizedDecimalField(
                label=_("Or an amount: %(name)s") % {"name": line.name},
                required=False,
                min_value=Decimal("0.01"),
                **AMOUNT,
            )

    def line_fields(self) -> list[tuple[OrderLine, Any, Any]]:
        return [(line, self[f"qty_{n}"], self[f"amount_{n}"]) for n, line in enumerate(self.lines)]

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        chosen: list[tuple[str, int | None, Decimal | None]] = []
        total = data.get("delivery") or Decimal(0)
        for n, line in enumerate(self.lines):
            qty, amount = data.get(f"qty_{n}"), data.get(f"amount_{n}")
            if qty and amount:
                self.add_error(f"amount_{n}", _("Refund a quantity or an amount, not both."))
                continue
            if qty:
                chosen.append((line.id, qty, None))
                total += line.price * qty
            elif amount:
                if amount > line.refundable_amount:
                    self.add_error(
                        f"amount_{n}",
                        _("At most %(left)s is left to refund for this item.")
                        % {"left": money_text(line.refundable_amount, line.currency)},
                    )
                    continue
                chosen.append((line.id, None, amount))
                total += amount
        if self.errors:
            return data
        if not chosen and not data.get("delivery"):
            raise forms.ValidationError(_("Choose what to refund."))
        if total + self.refunded > self.paid:
            raise forms.ValidationError(
                _("That is more than the buyer paid: %(paid)s paid, %(done)s already refunded.")
                % {
                    "paid": money_text(self.paid, self.currency),
                    "done": money_text(self.refunded, self.currency),
                }
            )
        data["lines"] = chosen
        data["total"] = total
        return data


class ClaimForm(forms.Form):
    line_item = forms.ChoiceField(label=_("Line item"))
    quantity = LocalizedIntegerField(label=_("Quantity"), min_value=1, max_value=10_000)

    def __init__(self, *args: Any, lines: list[OrderLine], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        field = self.fields["line_item"]
        assert isinstance(field, forms.ChoiceField)
        field.choices = [(line.id, line.name) for line in lines]
        self.lines = {line.id: line for line in lines}

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        line = self.lines.get(data.get("line_item") or "")
        if line and data.get("quantity") and data["quantity"] > line.quantity:
            self.add_error("quantity", _("More than was bought."))
        return data


class ThreadFilterForm(ListFilterForm):
    field_order = ("q", "account", "unread", "per_page")

    unread = forms.BooleanField(label=_("Unread only"), required=False)

    def query(self) -> dict[str, Any]:
        data = self.valid_data()
        return {
            "q": data.get("q") or "",
            "account_ids": tuple(self.account_ids()),
            "unread": bool(data.get("unread")),
        }


class MessageForm(forms.Form):
    text = forms.CharField(
        label=_("Message to the buyer"),
        max_length=messaging_api.MAX_TEXT_LENGTH,
        widget=forms.Textarea(attrs={"rows": 5, "maxlength": messaging_api.MAX_TEXT_LENGTH}),
    )
    attachments = MultipleFileField(
        label=_("Attachments"),
        required=False,
        help_text=_("Images or PDF, at most %(mb)s MB each.")
        % {"mb": messaging_api.MAX_ATTACHMENT_SIZE // (1024 * 1024)},
        widget=MultipleFileInput(attrs={"accept": ",".join(messaging_api.ATTACHMENT_TYPES)}),
    )

    def clean_text(self) -> str:
        text = (self.cleaned_data.get("text") or "").strip()
        if not text:
            raise forms.ValidationError(_("Write a message."))
        return text

    def clean_attachments(self) -> list[Any]:
        files = self.cleaned_data.get("attachments") or []
        for f in files:
            if f.size > messaging_api.MAX_ATTACHMENT_SIZE:
                raise forms.ValidationError(_("%(name)s is too large.") % {"name": f.name})
            if (f.content_type or "") not in messaging_api.ATTACHMENT_TYPES:
                raise forms.ValidationError(
                    _("%(name)s: only images or PDF files.") % {"name": f.name}
                )
        return list(files)


class NewMessageForm(MessageForm):
    login = forms.CharField(label=_("Buyer login"), max_length=128)
    order = forms.CharField(label=_("Order id"), max_length=64)
    account = forms.TypedChoiceField(label=_("Account"), coerce=int)

    field_order = ["account", "login", "order", "text", "attachments"]

    def __init__(self, *args: Any, accounts: list[Any], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        field = self.fields["account"]
        assert isinstance(field, forms.TypedChoiceField)
        field.choices = [(a.pk, a.login) for a in accounts]

    def clean_order(self) -> str:
        import uuid

        value = (self.cleaned_data.get("order") or "").strip()
        try:
            return str(uuid.UUID(value))
        except ValueError as exc:
            raise forms.ValidationError(_("Not an Allegro order id.")) from exc


class BillingFilterForm(ListFilterForm):
    field_order = ("q", "account", "since", "until", "group", "per_page")

    since = BoundedDateField(label=_("From"), required=False)
    until = BoundedDateField(label=_("To"), required=False)
    group = forms.ChoiceField(
        label=_("Group by"),
        required=False,
        choices=[("type", _("Fee type")), ("offer", _("Offer")), ("order", _("Order"))],
    )
