"""Mirror of disputes (post-purchase issues), ratings and return policies."""

from __future__ import annotations

from django.conf import settings
from django.contrib.postgres.indexes import GinIndex
from django.db import models
from django.db.models import Q
from django.db.models.functions import Coalesce
from django.utils.translation import gettext_lazy as _

from accounts.models import AllegroAccount

# A rating that may wait for the seller's answer (``aftersales.inbox``): negative, or neutral (a
# recommending rating with a rate of 3 stars or fewer), still on Allegro, neither answered nor
# reported for removal. Defined here so the inbox's filter and its partial index are one text.
NEUTRAL_RATE = 3
NEGATIVE_OR_NEUTRAL = (
    Q(recommended=False)
    | Q(rate_description__lte=NEUTRAL_RATE)
    | Q(rate_service__lte=NEUTRAL_RATE)
    | Q(rate_delivery_cost__lte=NEUTRAL_RATE)
    | Q(rate_delivery__lte=NEUTRAL_RATE)
)
UNANSWERED = Q(answer_message="", answer_created_at__isnull=True, removal_requested_at__isnull=True)
LIVE = Q(deleted_at__isnull=True)

# Chat authors who expect an answer; SYSTEM / FULFILLMENT notices do not change whose turn it is.
SPEAKERS = ("BUYER", "SELLER", "ADMIN")
OTHER_SIDE = ("BUYER", "ADMIN")
DISPUTE_ONGOING = "DISPUTE_ONGOING"
CLAIM_SUBMITTED = "CLAIM_SUBMITTED"
# A dispute or claim that waits for the seller (``aftersales.inbox``): open, and a claim awaiting
# the decision or a chat whose last word (by a person) is the buyer's or an advisor's, or empty.
# Read from the columns the mirror keeps (``Dispute.last_speaker``); one text for the inbox's
# filter and its partial index.
DISPUTE_WAITING = Q(status__in=[DISPUTE_ONGOING, CLAIM_SUBMITTED]) & (
    Q(status=CLAIM_SUBMITTED) | Q(last_speaker__in=[*OTHER_SIDE, ""])
)


class Dispute(models.Model):
    """A post-purchase issue (``GET /sale/issues``): a dispute or a claim."""

    account = models.ForeignKey(
        AllegroAccount, on_delete=models.CASCADE, related_name="disputes", verbose_name=_("account")
    )
    allegro_id = models.CharField(_("issue id"), max_length=64)
    type = models.CharField(_("type"), max_length=16, blank=True)
    status = models.CharField(_("status"), max_length=32, blank=True)
    subject = models.CharField(_("subject"), max_length=255, blank=True)
    reference_number = models.CharField(_("reference number"), max_length=64, blank=True)
    buyer_id = models.CharField(_("buyer id"), max_length=64, blank=True)
    buyer_login = models.CharField(_("buyer login"), max_length=128, blank=True)
    checkout_form_id = models.CharField(_("checkout form id"), max_length=64, blank=True)
    offer_id = models.CharField(_("offer id"), max_length=64, blank=True)
    opened_at = models.DateTimeField(_("opened at"), null=True, blank=True)
    decision_due_at = models.DateTimeField(_("decision due"), null=True, blank=True)
    # Allegro's ``currentState.chatActive``: ``False`` once the chat is closed (replies refused);
    # unknown (``None``) counts as open.
    chat_active = models.BooleanField(_("chat open"), null=True, blank=True)
    messages_count = models.IntegerField(_("messages"), null=True, blank=True)
    last_message_at = models.DateTimeField(_("last message at"), null=True, blank=True)
    # Kept from the chat by the mirror (``aftersales.sync.dispute_turns_refresh``) each time the
    # chat is written, so the inbox filters on columns instead of reading every chat:
    last_speaker = models.CharField(
        _("last word by"),
        max_length=16,
        blank=True,
        help_text=_(
            "BUYER, SELLER or ADMIN: who wrote last (system notices aside); empty: nobody."
        ),
    )
    waiting_since = models.DateTimeField(
        _("waiting since"),
        null=True,
        blank=True,
        help_text=_("The buyer's or Allegro advisor's last message, else the opening."),
    )
    synced_at = models.DateTimeField(_("last synchronised"))
    raw = models.JSONField(_("Allegro document"), default=dict, blank=True)

    class Meta:
        verbose_name = _("dispute")
        verbose_name_plural = _("disputes")
        ordering = ["-opened_at"]
        constraints = [
            models.UniqueConstraint(fields=["account", "allegro_id"], name="dispute_unique")
        ]
        indexes = [
            models.Index(fields=["account", "status"], name="dispute_account_status"),
            models.Index(fields=["checkout_form_id"], name="dispute_checkout_form"),
            models.Index(fields=["account", "-opened_at"], name="dispute_account_opened"),
            # the disputes list across accounts, newest opened first (a top-N read, no sort)
            models.Index(fields=["-opened_at", "-id"], name="dispute_opened"),
            # the inbox: the few disputes waiting for the seller, by how long they wait
            models.Index(
                fields=["account", "waiting_since"],
                name="dispute_waiting",
                condition=DISPUTE_WAITING,
            ),
        ]

    def __str__(self) -> str:
        return self.subject or self.allegro_id


class DisputeMessage(models.Model):
    """A chat message of an issue (``GET /sale/issues/{id}/chat``)."""

    account = models.ForeignKey(
        AllegroAccount, on_delete=models.CASCADE, related_name="+", verbose_name=_("account")
    )
    dispute = models.ForeignKey(
        Dispute, on_delete=models.CASCADE, related_name="messages", verbose_name=_("dispute")
    )
    allegro_id = models.CharField(_("message id"), max_length=64)
    text = models.TextField(_("text"), blank=True)
    author_login = models.CharField(_("author"), max_length=128, blank=True)
    author_role = models.CharField(_("author role"), max_length=16, blank=True)
    attachments = models.JSONField(_("attachments"), default=list, blank=True)
    created_at = models.DateTimeField(_("sent at"), null=True, blank=True)
    raw = models.JSONField(_("Allegro document"), default=dict, blank=True)

    class Meta:
        verbose_name = _("dispute message")
        verbose_name_plural = _("dispute messages")
        ordering = ["dispute_id", "created_at"]
        constraints = [
            models.UniqueConstraint(fields=["account", "allegro_id"], name="dispute_message_unique")
        ]
        indexes = [
            # the chat in order, and "who spoke last" (the inbox) read from its end
            models.Index(fields=["dispute", "-created_at", "-id"], name="dispute_message_latest"),
        ]

    def __str__(self) -> str:
        return self.text[:60]


class Rating(models.Model):
    """A buyer's rating of the seller (``GET /sale/user-ratings``)."""

    account = models.ForeignKey(
        AllegroAccount, on_delete=models.CASCADE, related_name="ratings", verbose_name=_("account")
    )
    allegro_id = models.CharField(_("rating id"), max_length=64)
    buyer_id = models.CharField(_("buyer id"), max_length=64, blank=True)
    buyer_login = models.CharField(_("buyer login"), max_length=128, blank=True)
    recommended = models.BooleanField(_("recommended"))
    comment = models.TextField(_("comment"), blank=True)
    rate_description = models.SmallIntegerField(_("description rate"), null=True, blank=True)
    rate_service = models.SmallIntegerField(_("service rate"), null=True, blank=True)
    rate_delivery_cost = models.SmallIntegerField(_("delivery cost rate"), null=True, blank=True)
    rate_delivery = models.SmallIntegerField(_("delivery rate"), null=True, blank=True)
    checkout_form_id = models.CharField(_("checkout form id"), max_length=64, blank=True)
    answer_message = models.TextField(_("answer"), blank=True)
    answer_created_at = models.DateTimeField(_("answered at"), null=True, blank=True)
    removal_requested_at = models.DateTimeField(_("removal requested at"), null=True, blank=True)
    removal_message = models.TextField(_("removal request"), blank=True)
    removal_source = models.CharField(_("removal requested by"), max_length=16, blank=True)
    removal_possible_to = models.DateTimeField(_("removal possible until"), null=True, blank=True)
    excluded_from_average = models.BooleanField(_("excluded from average"), null=True, blank=True)
    excluded_reason = models.TextField(_("exclusion reason"), blank=True)
    created_at = models.DateTimeField(_("created at"), null=True, blank=True)
    edited_at = models.DateTimeField(_("edited at"), null=True, blank=True)
    last_changed_at = models.DateTimeField(_("last changed"), null=True, blank=True)
    deleted_at = models.DateTimeField(
        _("deleted at"), null=True, blank=True, help_text=_("When the rating vanished on Allegro.")
    )
    synced_at = models.DateTimeField(_("last synchronised"))
    raw = models.JSONField(_("Allegro document"), default=dict, blank=True)

    class Meta:
        verbose_name = _("rating")
        verbose_name_plural = _("ratings")
        ordering = ["-last_changed_at"]
        constraints = [
            models.UniqueConstraint(fields=["account", "allegro_id"], name="rating_unique")
        ]
        indexes = [
            models.Index(fields=["account", "-last_changed_at"], name="rating_account_changed"),
            models.Index(fields=["account", "recommended"], name="rating_account_recommended"),
            # the ratings list across accounts, newest change first
            models.Index(
                fields=["-last_changed_at", "-id"], name="rating_live_changed", condition=LIVE
            ),
            # the ratings list filtered to unanswered ones (of an account, recommending or not):
            # its page read in order and its count from the index alone
            models.Index(
                fields=["account", "recommended", "-last_changed_at", "-id"],
                name="rating_unanswered_changed",
                condition=Q(answer_message="", answer_created_at__isnull=True) & LIVE,
            ),
            # the inbox: the few ratings that may wait for an answer, by the buyer's last word
            # (``inbox.ratings_waiting``'s ``waiting_since``) or by the removal window
            models.Index(
                Coalesce("edited_at", "created_at", "synced_at"),
                name="rating_waiting",
                condition=NEGATIVE_OR_NEUTRAL & UNANSWERED & LIVE,
            ),
            models.Index(
                fields=["removal_possible_to"],
                name="rating_waiting_removal",
                condition=NEGATIVE_OR_NEUTRAL & UNANSWERED & LIVE,
            ),
            # the search: buyer login and comment (ILIKE), order and rating ids
            GinIndex(fields=["buyer_login"], name="rating_login_trgm", opclasses=["gin_trgm_ops"]),
            GinIndex(fields=["comment"], name="rating_comment_trgm", opclasses=["gin_trgm_ops"]),
            models.Index(fields=["checkout_form_id"], name="rating_checkout_form"),
            models.Index(fields=["allegro_id"], name="rating_allegro_id"),
        ]

    def __str__(self) -> str:
        return self.allegro_id


class RatingRevision(models.Model):
    """Local history of a rating: each version we saw, and its deletion."""

    class Kind(models.TextChoices):
        CREATED = "created", _("Created")
        EDITED = "edited", _("Edited")
        DELETED = "deleted", _("Deleted")

    account = models.ForeignKey(
        AllegroAccount, on_delete=models.CASCADE, related_name="+", verbose_name=_("account")
    )
    rating = models.ForeignKey(
        Rating, on_delete=models.CASCADE, related_name="revisions", verbose_name=_("rating")
    )
    kind = models.CharField(_("kind"), max_length=8, choices=Kind.choices)
    last_changed_at = models.DateTimeField(_("last changed"), null=True, blank=True)
    recorded_at = models.DateTimeField(_("recorded at"))
    snapshot = models.JSONField(_("Allegro document"), default=dict, blank=True)

    class Meta:
        verbose_name = _("rating revision")
        verbose_name_plural = _("rating revisions")
        ordering = ["rating_id", "recorded_at", "id"]
        indexes = [models.Index(fields=["rating", "recorded_at"], name="rating_revision_rating")]

    def __str__(self) -> str:
        return f"{self.rating_id} {self.kind}"


class ReturnPolicy(models.Model):
    """A return policy (``GET /after-sales-service-conditions/return-policies``)."""

    account = models.ForeignKey(
        AllegroAccount,
        on_delete=models.CASCADE,
        related_name="return_policies",
        verbose_name=_("account"),
    )
    allegro_id = models.CharField(_("return policy id"), max_length=64)
    name = models.CharField(_("name"), max_length=255)
    availability = models.CharField(_("availability"), max_length=16, blank=True)
    withdrawal_period = models.CharField(_("withdrawal period"), max_length=16, blank=True)
    return_cost_covered_by = models.CharField(_("return cost paid by"), max_length=16, blank=True)
    is_fulfillment = models.BooleanField(_("fulfilment"), default=False)
    synced_at = models.DateTimeField(_("last synchronised"))
    raw = models.JSONField(_("Allegro document"), default=dict, blank=True)

    class Meta:
        verbose_name = _("return policy")
        verbose_name_plural = _("return policies")
        ordering = ["name"]
        constraints = [
            models.UniqueConstraint(fields=["account", "allegro_id"], name="return_policy_unique")
        ]

    def __str__(self) -> str:
        return self.name


# --- local work state: never sent to Allegro -----------------------------------------------

# What an inbox state or note is about: exactly one of these is set.
INBOX_TARGETS = ("rating", "dispute", "customer_return", "thread")


def _exactly_one(names: tuple[str, ...]) -> Q:
    condition = Q()
    for name in names:
        condition |= Q(
            **{f"{other}__isnull": other != name for other in names},
        )
    return condition


ONE_TARGET = _exactly_one(INBOX_TARGETS)


class InboxState(models.Model):
    """The back-office's own state of one inbox item (a rating, a dispute, a customer return or
    a buyer message thread): who handles it, and whether it was marked handled. Kept here only;
    Allegro never sees it.

    ``handled_at`` hides the item until something new happens on Allegro: a rating edited or a
    new buyer message after that moment brings it back.
    """

    account = models.ForeignKey(
        AllegroAccount, on_delete=models.CASCADE, related_name="+", verbose_name=_("account")
    )
    rating = models.OneToOneField(
        Rating,
        on_delete=models.CASCADE,
        null=True,
        blank=True,
        related_name="inbox_state",
        verbose_name=_("rating"),
    )
    dispute = models.OneToOneField(
        Dispute,
        on_delete=models.CASCADE,
        null=True,
        blank=True,
        related_name="inbox_state",
        verbose_name=_("dispute"),
    )
    customer_return = models.OneToOneField(
        "CustomerReturn",
        on_delete=models.CASCADE,
        null=True,
        blank=True,
        related_name="inbox_state",
        verbose_name=_("return"),
    )
    thread = models.OneToOneField(
        "MessageThread",
        on_delete=models.CASCADE,
        null=True,
        blank=True,
        related_name="inbox_state",
        verbose_name=_("message thread"),
    )
    assignee = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("assigned to"),
    )
    handled_at = models.DateTimeField(_("marked handled at"), null=True, blank=True)
    handled_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("marked handled by"),
    )
    updated_at = models.DateTimeField(_("updated at"), auto_now=True)

    class Meta:
        verbose_name = _("inbox item state")
        verbose_name_plural = _("inbox item states")
        constraints = [models.CheckConstraint(condition=ONE_TARGET, name="inbox_state_one_target")]
        indexes = [models.Index(fields=["assignee"], name="inbox_state_assignee")]

    def __str__(self) -> str:
        for target in INBOX_TARGETS:
            if getattr(self, f"{target}_id"):
                return f"{target} {getattr(self, f'{target}_id')}"
        return ""


class InboxNote(models.Model):
    """An internal note on an inbox item (staff only, never sent to Allegro)."""

    account = models.ForeignKey(
        AllegroAccount, on_delete=models.CASCADE, related_name="+", verbose_name=_("account")
    )
    rating = models.ForeignKey(
        Rating,
        on_delete=models.CASCADE,
        null=True,
        blank=True,
        related_name="notes",
        verbose_name=_("rating"),
    )
    dispute = models.ForeignKey(
        Dispute,
        on_delete=models.CASCADE,
        null=True,
        blank=True,
        related_name="notes",
        verbose_name=_("dispute"),
    )
    customer_return = models.ForeignKey(
        "CustomerReturn",
        on_delete=models.CASCADE,
        null=True,
        blank=True,
        related_name="notes",
        verbose_name=_("return"),
    )
    thread = models.ForeignKey(
        "MessageThread",
        on_delete=models.CASCADE,
        null=True,
        blank=True,
        related_name="notes",
        verbose_name=_("message thread"),
    )
    author = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("author"),
    )
    text = models.TextField(_("note"), max_length=2000)
    created_at = models.DateTimeField(_("written at"), auto_now_add=True)

    class Meta:
        verbose_name = _("internal note")
        verbose_name_plural = _("internal notes")
        ordering = ["created_at", "id"]
        constraints = [models.CheckConstraint(condition=ONE_TARGET, name="inbox_note_one_target")]

    def __str__(self) -> str:
        return self.text[:60]


class SavedReply(models.Model):
    """A reply template for ratings (and disputes): one account's, or shared by all
    (``account`` empty). Placeholders: ``{buyer_login}``, ``{order_id}``, ``{offer_title}``."""

    account = models.ForeignKey(
        AllegroAccount,
        on_delete=models.CASCADE,
        null=True,
        blank=True,
        related_name="saved_replies",
        verbose_name=_("account"),
        help_text=_("Empty: shared by every account."),
    )
    title = models.CharField(_("title"), max_length=100)
    text = models.TextField(_("text"), max_length=500)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("created by"),
    )
    updated_at = models.DateTimeField(_("updated at"), auto_now=True)

    class Meta:
        verbose_name = _("saved reply")
        verbose_name_plural = _("saved replies")
        ordering = ["title", "id"]

    def __str__(self) -> str:
        return self.title


# --- warranties (read only here: mirrored from Allegro) -------------------------------------


class Warranty(models.Model):
    """A warranty (``GET /after-sales-service-conditions/warranties/{id}``)."""

    account = models.ForeignKey(
        AllegroAccount,
        on_delete=models.CASCADE,
        related_name="warranties",
        verbose_name=_("account"),
    )
    allegro_id = models.CharField(_("warranty id"), max_length=64)
    name = models.CharField(_("name"), max_length=255)
    type = models.CharField(_("type"), max_length=16, blank=True)
    individual_period = models.CharField(_("period for consumers"), max_length=16, blank=True)
    individual_lifetime = models.BooleanField(_("lifetime for consumers"), default=False)
    corporate_period = models.CharField(_("period for businesses"), max_length=16, blank=True)
    corporate_lifetime = models.BooleanField(_("lifetime for businesses"), default=False)
    attachment_name = models.CharField(_("attachment"), max_length=255, blank=True)
    description = models.TextField(_("description"), blank=True)
    synced_at = models.DateTimeField(_("last synchronised"))
    raw = models.JSONField(_("Allegro document"), default=dict, blank=True)

    class Meta:
        verbose_name = _("warranty")
        verbose_name_plural = _("warranties")
        ordering = ["name", "id"]
        constraints = [
            models.UniqueConstraint(fields=["account", "allegro_id"], name="warranty_unique")
        ]

    def __str__(self) -> str:
        return self.name


class ImpliedWarranty(models.Model):
    """An implied warranty (rękojmia) (``GET …/implied-warranties/{id}``)."""

    account = models.ForeignKey(
        AllegroAccount,
        on_delete=models.CASCADE,
        related_name="implied_warranties",
        verbose_name=_("account"),
    )
    allegro_id = models.CharField(_("implied warranty id"), max_length=64)
    name = models.CharField(_("name"), max_length=255)
    individual_period = models.CharField(_("period for consumers"), max_length=16, blank=True)
    corporate_period = models.CharField(_("period for businesses"), max_length=16, blank=True)
    address = models.CharField(_("address"), max_length=700, blank=True)
    description = models.TextField(_("description"), blank=True)
    synced_at = models.DateTimeField(_("last synchronised"))
    raw = models.JSONField(_("Allegro document"), default=dict, blank=True)

    class Meta:
        verbose_name = _("implied warranty")
        verbose_name_plural = _("implied warranties")
        ordering = ["name", "id"]
        constraints = [
            models.UniqueConstraint(
                fields=["account", "allegro_id"], name="implied_warranty_unique"
            )
        ]

    def __str__(self) -> str:
        return self.name


# --- customer returns, refunds, commission claims, buyer messages, billing (issue 14) ---------


class CustomerReturn(models.Model):
    """A buyer's return (``GET /order/customer-returns``)."""

    account = models.ForeignKey(
        AllegroAccount, on_delete=models.CASCADE, related_name="+", verbose_name=_("account")
    )
    allegro_id = models.CharField(_("return id"), max_length=64)
    reference_number = models.CharField(_("reference number"), max_length=64, blank=True)
    order_id = models.CharField(_("checkout form id"), max_length=64, blank=True)
    status = models.CharField(_("status"), max_length=32, blank=True)
    buyer_login = models.CharField(_("buyer login"), max_length=128, blank=True)
    buyer_email = models.CharField(_("buyer e-mail"), max_length=254, blank=True)
    marketplace_id = models.CharField(_("marketplace"), max_length=32, blank=True)
    created_at = models.DateTimeField(_("created at"), null=True, blank=True)
    rejection_code = models.CharField(_("rejection"), max_length=32, blank=True)
    rejection_reason = models.TextField(_("rejection reason"), blank=True)
    rejected_at = models.DateTimeField(_("rejected at"), null=True, blank=True)
    synced_at = models.DateTimeField(_("last synchronised"))
    raw = models.JSONField(_("Allegro document"), default=dict, blank=True)

    class Meta:
        verbose_name = _("customer return")
        verbose_name_plural = _("customer returns")
        ordering = ["-created_at"]
        constraints = [
            models.UniqueConstraint(fields=["account", "allegro_id"], name="customer_return_unique")
        ]
        indexes = [
            models.Index(fields=["account", "status"], name="return_account_status"),
            models.Index(fields=["account", "order_id"], name="return_account_order"),
        ]

    def __str__(self) -> str:
        return self.reference_number or self.allegro_id


class CustomerReturnItem(models.Model):
    customer_return = models.ForeignKey(
        CustomerReturn, on_delete=models.CASCADE, related_name="items", verbose_name=_("return")
    )
    position = models.PositiveSmallIntegerField(_("position"), default=0)
    offer_id = models.CharField(_("offer id"), max_length=64, blank=True)
    name = models.CharField(_("name"), max_length=255, blank=True)
    quantity = models.PositiveIntegerField(_("quantity"), default=0)
    price = models.DecimalField(_("price"), max_digits=12, decimal_places=2, null=True, blank=True)
    currency = models.CharField(_("currency"), max_length=3, blank=True)
    reason_type = models.CharField(_("reason"), max_length=64, blank=True)
    reason_comment = models.TextField(_("buyer's comment"), blank=True)

    class Meta:
        verbose_name = _("returned item")
        verbose_name_plural = _("returned items")
        ordering = ["customer_return_id", "position"]

    def __str__(self) -> str:
        return self.name


class CustomerReturnParcel(models.Model):
    customer_return = models.ForeignKey(
        CustomerReturn, on_delete=models.CASCADE, related_name="parcels", verbose_name=_("return")
    )
    position = models.PositiveSmallIntegerField(_("position"), default=0)
    waybill = models.CharField(_("waybill"), max_length=64, blank=True)
    carrier_id = models.CharField(_("carrier"), max_length=64, blank=True)
    transporting_waybill = models.CharField(_("transporting waybill"), max_length=64, blank=True)
    transporting_carrier_id = models.CharField(_("transporting carrier"), max_length=64, blank=True)
    created_at = models.DateTimeField(_("created at"), null=True, blank=True)

    class Meta:
        verbose_name = _("return parcel")
        verbose_name_plural = _("return parcels")
        ordering = ["customer_return_id", "position"]

    def __str__(self) -> str:
        return self.waybill


class Refund(models.Model):
    """A payment refund: created here (``command_id`` stored before it is sent) or mirrored
    from ``GET /payments/refunds`` (then without a command id)."""

    class Local(models.TextChoices):
        PENDING = "pending", _("Waiting to be sent")
        SENT = "sent", _("Sent to Allegro")
        FAILED = "failed", _("Refused by Allegro")
        MIRRORED = "mirrored", _("From Allegro")

    account = models.ForeignKey(
        AllegroAccount, on_delete=models.CASCADE, related_name="+", verbose_name=_("account")
    )
    allegro_id = models.CharField(_("refund id"), max_length=64, blank=True)
    command_id = models.CharField(_("command id"), max_length=64, blank=True)
    local_state = models.CharField(
        _("state here"), max_length=16, choices=Local.choices, default=Local.MIRRORED
    )
    order_id = models.CharField(_("checkout form id"), max_length=64)
    payment_id = models.CharField(_("payment id"), max_length=64, blank=True)
    customer_return = models.ForeignKey(
        CustomerReturn,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="refunds",
        verbose_name=_("return"),
    )
    reason = models.CharField(_("reason"), max_length=32)
    status = models.CharField(_("status"), max_length=32, blank=True)
    total = models.DecimalField(_("total"), max_digits=12, decimal_places=2, null=True, blank=True)
    delivery = models.DecimalField(
        _("delivery"), max_digits=12, decimal_places=2, null=True, blank=True
    )
    currency = models.CharField(_("currency"), max_length=3, blank=True)
    seller_comment = models.CharField(_("comment"), max_length=250, blank=True)
    request = models.JSONField(_("request"), default=dict, blank=True)
    error = models.TextField(_("Allegro's message"), blank=True)
    error_field = models.CharField(_("field Allegro named"), max_length=128, blank=True)
    requested_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("requested by"),
    )
    created_at = models.DateTimeField(_("created at"), null=True, blank=True)
    synced_at = models.DateTimeField(_("last synchronised"), null=True, blank=True)
    raw = models.JSONField(_("Allegro document"), default=dict, blank=True)

    class Meta:
        verbose_name = _("refund")
        verbose_name_plural = _("refunds")
        ordering = ["-created_at"]
        constraints = [
            models.UniqueConstraint(
                fields=["account", "allegro_id"],
                condition=~models.Q(allegro_id=""),
                name="refund_unique",
            ),
            models.UniqueConstraint(
                fields=["account", "command_id"],
                condition=~models.Q(command_id=""),
                name="refund_command_unique",
            ),
        ]
        indexes = [models.Index(fields=["account", "order_id"], name="refund_account_order")]

    def __str__(self) -> str:
        return self.allegro_id or self.command_id


class RefundLine(models.Model):
    refund = models.ForeignKey(
        Refund, on_delete=models.CASCADE, related_name="lines", verbose_name=_("refund")
    )
    line_item_id = models.CharField(_("line item id"), max_length=64)
    type = models.CharField(_("type"), max_length=16)  # QUANTITY | AMOUNT
    quantity = models.PositiveIntegerField(_("quantity"), null=True, blank=True)
    amount = models.DecimalField(
        _("amount"), max_digits=12, decimal_places=2, null=True, blank=True
    )

    class Meta:
        verbose_name = _("refund line")
        verbose_name_plural = _("refund lines")

    def __str__(self) -> str:
        return self.line_item_id


class RefundClaim(models.Model):
    """A commission refund claim (``/order/refund-claims``)."""

    account = models.ForeignKey(
        AllegroAccount, on_delete=models.CASCADE, related_name="+", verbose_name=_("account")
    )
    allegro_id = models.CharField(_("claim id"), max_length=64)
    status = models.CharField(_("status"), max_length=32, blank=True)
    type = models.CharField(_("type"), max_length=16, blank=True)
    quantity = models.PositiveIntegerField(_("quantity"), default=0)
    commission = models.DecimalField(
        _("commission"), max_digits=12, decimal_places=2, null=True, blank=True
    )
    currency = models.CharField(_("currency"), max_length=3, blank=True)
    buyer_id = models.CharField(_("buyer id"), max_length=64, blank=True)
    line_item_id = models.CharField(_("line item id"), max_length=64, blank=True)
    offer_id = models.CharField(_("offer id"), max_length=64, blank=True)
    bought_at = models.DateTimeField(_("bought at"), null=True, blank=True)
    created_at = models.DateTimeField(_("created at"), null=True, blank=True)
    synced_at = models.DateTimeField(_("last synchronised"))
    raw = models.JSONField(_("Allegro document"), default=dict, blank=True)

    class Meta:
        verbose_name = _("commission refund claim")
        verbose_name_plural = _("commission refund claims")
        ordering = ["-created_at"]
        constraints = [
            models.UniqueConstraint(fields=["account", "allegro_id"], name="refund_claim_unique")
        ]

    def __str__(self) -> str:
        return self.allegro_id


class MessageThread(models.Model):
    """A message-center thread with a buyer (``GET /messaging/threads``)."""

    account = models.ForeignKey(
        AllegroAccount, on_delete=models.CASCADE, related_name="+", verbose_name=_("account")
    )
    allegro_id = models.CharField(_("thread id"), max_length=64)
    read = models.BooleanField(_("read"), default=True)
    last_message_at = models.DateTimeField(_("last message at"), null=True, blank=True)
    interlocutor_login = models.CharField(_("buyer login"), max_length=128, blank=True)
    interlocutor_avatar = models.URLField(_("avatar"), max_length=500, blank=True)
    order_id = models.CharField(_("checkout form id"), max_length=64, blank=True)
    offer_id = models.CharField(_("offer id"), max_length=64, blank=True)
    messages_synced_to = models.CharField(_("messages read up to"), max_length=40, blank=True)
    synced_at = models.DateTimeField(_("last synchronised"))
    raw = models.JSONField(_("Allegro document"), default=dict, blank=True)

    class Meta:
        verbose_name = _("message thread")
        verbose_name_plural = _("message threads")
        ordering = ["read", "-last_message_at"]
        constraints = [
            models.UniqueConstraint(fields=["account", "allegro_id"], name="message_thread_unique")
        ]
        indexes = [
            models.Index(fields=["account", "read", "-last_message_at"], name="thread_unread"),
            models.Index(fields=["account", "order_id"], name="thread_account_order"),
        ]

    def __str__(self) -> str:
        return self.interlocutor_login or self.allegro_id


class Message(models.Model):
    """A message of a thread; one written here is ``sending`` until its job sent it."""

    class Local(models.TextChoices):
        SENDING = "sending", _("Sending")
        SENT = "sent", _("Sent")
        FAILED = "failed", _("Not sent")
        MIRRORED = "mirrored", _("From Allegro")

    account = models.ForeignKey(
        AllegroAccount, on_delete=models.CASCADE, related_name="+", verbose_name=_("account")
    )
    thread = models.ForeignKey(
        MessageThread,
        on_delete=models.CASCADE,
        null=True,
        blank=True,
        related_name="messages",
        verbose_name=_("thread"),
    )
    allegro_id = models.CharField(_("message id"), max_length=64, blank=True)
    local_state = models.CharField(
        _("state here"), max_length=16, choices=Local.choices, default=Local.MIRRORED
    )
    status = models.CharField(_("status"), max_length=16, blank=True)
    type = models.CharField(_("type"), max_length=16, blank=True)
    created_at = models.DateTimeField(_("sent at"), null=True, blank=True)
    author_login = models.CharField(_("author"), max_length=128, blank=True)
    author_is_buyer = models.BooleanField(_("written by the buyer"), default=False)
    text = models.TextField(_("text"), blank=True)
    subject = models.CharField(_("subject"), max_length=255, blank=True)
    order_id = models.CharField(_("checkout form id"), max_length=64, blank=True)
    offer_id = models.CharField(_("offer id"), max_length=64, blank=True)
    recipient_login = models.CharField(_("recipient"), max_length=128, blank=True)
    attachments = models.JSONField(_("attachments"), default=list, blank=True)
    error = models.TextField(_("Allegro's message"), blank=True)
    sent_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("sent by"),
    )
    raw = models.JSONField(_("Allegro document"), default=dict, blank=True)

    class Meta:
        verbose_name = _("message")
        verbose_name_plural = _("messages")
        ordering = ["thread_id", "created_at"]
        constraints = [
            models.UniqueConstraint(
                fields=["account", "allegro_id"],
                condition=~models.Q(allegro_id=""),
                name="message_unique",
            )
        ]

    def __str__(self) -> str:
        return self.text[:60]


class BillingEntry(models.Model):
    """A fee or credit on the seller's Allegro account (``GET /billing/billing-entries``)."""

    account = models.ForeignKey(
        AllegroAccount, on_delete=models.CASCADE, related_name="+", verbose_name=_("account")
    )
    allegro_id = models.CharField(_("entry id"), max_length=64)
    occurred_at = models.DateTimeField(_("occurred at"), null=True, blank=True)
    type_id = models.CharField(_("type"), max_length=16, blank=True)
    type_name = models.CharField(_("type name"), max_length=255, blank=True)
    offer_id = models.CharField(_("offer id"), max_length=64, blank=True)
    offer_name = models.CharField(_("offer"), max_length=255, blank=True)
    order_id = models.CharField(_("checkout form id"), max_length=64, blank=True)
    amount = models.DecimalField(_("amount"), max_digits=12, decimal_places=2, null=True)
    currency = models.CharField(_("currency"), max_length=3, blank=True)
    balance = models.DecimalField(
        _("balance"), max_digits=14, decimal_places=2, null=True, blank=True
    )
    tax_percentage = models.CharField(_("VAT"), max_length=16, blank=True)
    synced_at = models.DateTimeField(_("last synchronised"))
    raw = models.JSONField(_("Allegro document"), default=dict, blank=True)

    class Meta:
        verbose_name = _("billing entry")
        verbose_name_plural = _("billing entries")
        ordering = ["-occurred_at"]
        constraints = [
            models.UniqueConstraint(fields=["account", "allegro_id"], name="billing_entry_unique")
        ]
        indexes = [
            models.Index(fields=["account", "-occurred_at"], name="billing_account_occurred"),
            models.Index(fields=["account", "order_id"], name="billing_account_order"),
            models.Index(fields=["account", "type_id"], name="billing_account_type"),
        ]

    def __str__(self) -> str:
        return f"{self.type_name} {self.amount}"
