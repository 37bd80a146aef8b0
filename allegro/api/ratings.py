"""Seller ratings: list (by last change), details, answers, removal requests."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime

from allegro import paging
from allegro.api._base import (
    JsonDict,
    Traced,
    body,
    dig,
    items,
    opt_bool,
    opt_int,
    opt_str,
    parse_time,
)
from allegro.client import AllegroClient

MAX_ANSWER_LENGTH = 500


@dataclass(frozen=True, kw_only=True)
class Rates:
    """The buyer's 1-5 rates (``None`` where the buyer gave none)."""

    description: int | None = None
    service: int | None = None
    delivery_cost: int | None = None
    delivery: int | None = None


@dataclass(frozen=True, kw_only=True)
class Rating(Traced):
    """``UserRating``. ``created_at`` and ``last_changed_at`` are Allegro's text (filter values);
    ``created``, ``edited`` and ``last_changed`` are the parsed moments."""

    id: str
    recommended: bool
    comment: str | None
    buyer_id: str | None = None
    buyer_login: str | None
    rates: Rates = Rates()
    created_at: str
    last_changed_at: str | None
    created: datetime | None = None
    edited: datetime | None = None
    last_changed: datetime | None = None
    answer: str | None
    answer_created_at: datetime | None = None
    order_id: str | None
    removal_possible_to: str | None
    removal_possible_until: datetime | None = None
    removal_requested_at: datetime | None = None
    removal_message: str | None = None
    removal_source: str | None = None
    excluded_from_average: bool | None = None
    excluded_reason: str | None = None

    @classmethod
    def parse(cls, data: JsonDict, *, trace_id: str | None = None) -> Rating:
        return cls(
            id=str(data["id"]),
            recommended=bool(data.get("recommended")),
            comment=opt_str(data.get("comment")),
            buyer_id=opt_str(dig(data, "buyer", "id")),
            buyer_login=opt_str(dig(data, "buyer", "login")),
            rates=Rates(
                description=opt_int(dig(data, "rates", "description")),
                service=opt_int(dig(data, "rates", "service")),
                delivery_cost=opt_int(dig(data, "rates", "deliveryCost")),
                delivery=opt_int(dig(data, "rates", "delivery")),
            ),
            created_at=str(data.get("createdAt") or ""),
            last_changed_at=opt_str(data.get("lastChangedAt")),
            created=parse_time(data.get("createdAt")),
            edited=parse_time(data.get("editedAt")),
            last_changed=parse_time(data.get("lastChangedAt")),
            answer=opt_str(dig(data, "answer", "message")),
            answer_created_at=parse_time(dig(data, "answer", "createdAt")),
            order_id=opt_str(dig(data, "order", "id")),
            removal_possible_to=opt_str(dig(data, "removal", "possibleTo")),
            removal_possible_until=parse_time(dig(data, "removal", "possibleTo")),
            removal_requested_at=parse_time(dig(data, "removal", "request", "createdAt")),
            removal_message=opt_str(dig(data, "removal", "request", "message")),
            removal_source=opt_str(dig(data, "removal", "request", "source")),
            excluded_from_average=opt_bool(data.get("excludedFromAverageRates")),
            excluded_reason=opt_str(data.get("excludedFromAverageRatesReason")),
            trace_id=trace_id,
            raw=data,
        )


@dataclass(frozen=True, kw_only=True)
class RatingsPage(Traced):
    ratings: list[Rating]


def list_ratings(
    client: AllegroClient,
    *,
    recommended: bool | None = None,
    last_changed_gte: str | None = None,
    last_changed_lte: str | None = None,
    offset: int = 0,
    limit: int = 20,
) -> RatingsPage:
    params = {
        "recommended": None if recommended is None else ("true" if recommended else "false"),
        "lastChangedAt.gte": last_changed_gte,
        "lastChangedAt.lte": last_changed_lte,
        "offset": offset,
        "limit": limit,
    }
    response = client.get("/sale/user-ratings", params=params)
    data = body(response)
    return RatingsPage(
        ratings=[Rating.parse(r) for r in items(data, "ratings")],
        trace_id=response.trace_id,
        raw=data,
    )


def iter_ratings(
    client: AllegroClient,
    *,
    last_changed_gte: str | None = None,
    last_changed_lte: str | None = None,
    page_size: int = 100,
) -> Iterator[Rating]:
    """Newest change first; offset paging stops at 20000 (narrow ``lastChangedAt`` beyond)."""

    def fetch(offset: int, limit: int) -> list[Rating]:
        return list_ratings(
            client,
            last_changed_gte=last_changed_gte,
            last_changed_lte=last_changed_lte,
            offset=offset,
            limit=limit,
        ).ratings

    return paging.iter_offset(fetch, limits=paging.RATINGS, page_size=page_size)


def get_rating(client: AllegroClient, *, rating_id: str) -> Rating:
    response = client.get(f"/sale/user-ratings/{rating_id}")
    return Rating.parse(body(response), trace_id=response.trace_id)


@dataclass(frozen=True, kw_only=True)
class RatingAnswer(Traced):
    message: str
    created_at: str


def answer_rating(client: AllegroClient, *, rating_id: str, message: str) -> RatingAnswer:
    response = client.request(
        "PUT", f"/sale/user-ratings/{rating_id}/answer", json={"message": message}, ok=(201,)
    )
    data = body(response)
    return RatingAnswer(
        message=str(data.get("message") or ""),
        created_at=str(data.get("createdAt") or ""),
        trace_id=response.trace_id,
        raw=data,
    )


@dataclass(frozen=True, kw_only=True)
class RatingRemoval(Traced):
    possible_to: str
    requested_at: str | None
    message: str | None


def request_rating_removal(client: AllegroClient, *, rating_id: str, message: str) -> RatingRemoval:
    response = client.request(
        "PUT",
        f"/sale/user-ratings/{rating_id}/removal",
        json={"request": {"message": message}},
        ok=(201,),
    )
    data = body(response)
    return RatingRemoval(
        possible_to=str(data.get("possibleTo") or ""),
        requested_at=opt_str(dig(data, "request", "createdAt")),
        message=opt_str(dig(data, "request", "message")),
        trace_id=response.trace_id,
        raw=data,
    )


# --- the seller's ratings summary -------------------------------------------------------------


def _count(value: object) -> int:
    return value if isinstance(value, int) and not isinstance(value, bool) else 0


@dataclass(frozen=True, kw_only=True)
class RatingsSummary(Traced):
    """``UserRatingSummaryResponseV2``: unique buyers recommending or not, the percentage as
    Allegro writes it (``"99,8"``), and how many ratings were received, excluded and removed."""

    recommended_unique: int
    recommended_total: int
    not_recommended_unique: int
    not_recommended_total: int
    recommended_percentage: str
    received_total: int
    excluded_total: int
    removed_total: int
    user_since: str | None

    @classmethod
    def parse(cls, data: JsonDict, *, trace_id: str | None = None) -> RatingsSummary:
        percentage = data.get("recommendedPercentage")
        return cls(
            recommended_unique=_count(dig(data, "recommended", "unique")),
            recommended_total=_count(dig(data, "recommended", "total")),
            not_recommended_unique=_count(dig(data, "notRecommended", "unique")),
            not_recommended_total=_count(dig(data, "notRecommended", "total")),
            recommended_percentage=str(percentage) if percentage is not None else "",
            received_total=_count(dig(data, "statistics", "received", "total")),
            excluded_total=_count(dig(data, "statistics", "excluded", "total")),
            removed_total=_count(dig(data, "statistics", "removed", "total")),
            user_since=opt_str(dig(data, "user", "createdAt")),
            trace_id=trace_id,
            raw=data,
        )


def get_ratings_summary(client: AllegroClient, *, user_id: str) -> RatingsSummary:
    """``GET /users/{userId}/ratings-summary`` (scope ``profile:read``)."""
    response = client.get(f"/users/{user_id}/ratings-summary")
    return RatingsSummary.parse(body(response), trace_id=response.trace_id)
