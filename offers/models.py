"""Mirror of the sellers' offers on Allegro, written by ``offers.sync``."""

from __future__ import annotations

from django.contrib.postgres.indexes import GinIndex
from django.db import models
from django.utils.translation import gettext_lazy as _

from accounts.models import AllegroAccount

# Active (or being activated) with nothing left to sell: rare, Allegro ends such an offer.
ACTIVE_NO_STOCK = models.Q(status__in=["ACTIVE", "ACTIVATING"], stock_available__lte=0)


class Offer(models.Model):
    """One offer as listed by ``GET /sale/offers`` (``OfferListingDto``), kept per account.

    The listing has no EAN: ``ean`` comes from the product-offer details
    (``GET /sale/product-offers/{offerId}``), read by the mirror's offer-details pass, which
    records ``details_synced_at``; a change seen by the offer sync clears it.
    """

    account = models.ForeignKey(
        AllegroAccount, on_delete=models.CASCADE, related_name="offers", verbose_name=_("account")
    )
    allegro_id = models.CharField(_("Allegro offer id"), max_length=64)
    name = models.CharField(_("title"), max_length=255, blank=True)
    external_id = models.CharField(_("external id (SKU)"), max_length=128, blank=True)
    ean = models.CharField(_("EAN"), max_length=64, blank=True)
    category_id = models.CharField(_("category id"), max_length=64, blank=True)
    primary_image_url = models.CharField(_("primary image"), max_length=1024, blank=True)
    status = models.CharField(_("publication status"), max_length=16, blank=True)
    selling_format = models.CharField(_("selling format"), max_length=16, blank=True)
    price_amount = models.DecimalField(
        _("price"), max_digits=14, decimal_places=2, null=True, blank=True
    )
    price_currency = models.CharField(_("currency"), max_length=3, blank=True)
    marketplace_prices = models.JSONField(
        _("prices per marketplace"),
        default=dict,
        blank=True,
        help_text=_("Marketplace id → {amount, currency}, the base marketplace included."),
    )
    stock_available = models.IntegerField(_("stock available"), null=True, blank=True)
    stock_sold = models.IntegerField(_("sold"), null=True, blank=True)
    starting_at = models.DateTimeField(_("publication starts"), null=True, blank=True)
    started_at = models.DateTimeField(_("published at"), null=True, blank=True)
    ending_at = models.DateTimeField(_("publication ends"), null=True, blank=True)
    ended_at = models.DateTimeField(_("ended at"), null=True, blank=True)
    return_policy_id = models.CharField(_("return policy id"), max_length=64, blank=True)
    product_linked = models.BooleanField(_("linked to a product"), null=True, blank=True)
    allegro_updated_at = models.DateTimeField(_("last changed on Allegro"), null=True, blank=True)
    synced_at = models.DateTimeField(_("last synchronised"))
    # When the product-offer details (EAN) were last read; empty while they are due.
    details_synced_at = models.DateTimeField(_("details synchronised"), null=True, blank=True)
    raw = models.JSONField(_("Allegro document"), default=dict, blank=True)

    class Meta:
        verbose_name = _("offer")
        verbose_name_plural = _("offers")
        ordering = ["account_id", "-allegro_updated_at", "allegro_id"]
        constraints = [
            models.UniqueConstraint(
                fields=["account", "allegro_id"], name="offer_unique_per_account"
            )
        ]
        indexes = [
            models.Index(fields=["account", "status"], name="offer_account_status"),
            models.Index(fields=["account", "price_amount"], name="offer_account_price"),
            models.Index(fields=["account", "stock_available"], name="offer_account_stock"),
            models.Index(fields=["account", "stock_sold"], name="offer_account_sold"),
            models.Index(fields=["account", "allegro_updated_at"], name="offer_account_updated"),
            models.Index(fields=["account", "external_id"], name="offer_account_external"),
            models.Index(fields=["account", "synced_at"], name="offer_account_synced"),
            # The offer-details pass reads the due offers (never read, or changed since) first.
            models.Index(
                fields=["account", "details_synced_at", "id"], name="offer_account_details"
            ),
            # "Active but out of stock" is rare (Allegro ends an offer at 0): two small partial
            # indexes. The list's filter, newest first, and its count read the first one alone
            # (index-only: the account and status are in it); the dashboard's "ended or sold out
            # since" ranges over the second. The planner picks them thanks to the
            # (status, stock_available) statistics of migrations 0002 and 0005.
            models.Index(
                fields=["-id"],
                include=["account", "status"],
                name="offer_active_no_stock",
                condition=ACTIVE_NO_STOCK,
            ),
            models.Index(
                fields=["account", "status", "allegro_updated_at"],
                name="offer_active_no_stock_changed",
                condition=ACTIVE_NO_STOCK,
            ),
            # The dashboard's "ended since yesterday": a range over the ended offers only.
            models.Index(
                fields=["account", "ended_at"],
                name="offer_account_ended",
                condition=models.Q(status="ENDED"),
            ),
            GinIndex(fields=["name"], name="offer_name_trgm", opclasses=["gin_trgm_ops"]),
            GinIndex(
                fields=["external_id"], name="offer_external_trgm", opclasses=["gin_trgm_ops"]
            ),
            GinIndex(fields=["ean"], name="offer_ean_trgm", opclasses=["gin_trgm_ops"]),
        ]

    def __str__(self) -> str:
        return f"{self.name} ({self.allegro_id})"
