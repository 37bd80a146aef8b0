"""Seller ratings: list (by last change), details, answers, removal requests."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

from allegro import paging
from allegro.api._base import JsonDict, Traced, body, dig, items, opt_str
from allegro.client import AllegroClient

MAX_ANSWER_LENGTH = 500


@dataclass(frozen=True, kw_only=True)
class Rating(Traced):
    id: str
    recommended: bool
    comment: str | None
    buyer_login: str | None
    created_at: str
    last_changed_at: str | None
    answer: str | None
    order_id: str | None
    removal_possible_to: str | None

    @classmethod
    def parse(cls, data: JsonDict, *, trace_id: str | None = None) -> Rating:
        return cls(
            id=str(data["id"]),
            recommended=bool(data.get("recommended")),
            comment=opt_str(data.get("comment")),
            buyer_login=opt_str(dig(data, "buyer", "login")),
            created_at=str(data.get("createdAt") or ""),
            last_changed_at=opt_str(data.get("lastChangedAt")),
            answer=opt_str(dig(data, "answer", "message")),
            order_id=opt_str(dig(data, "order", "id")),
            removal_possible_to=opt_str(dig(data, "removal", "possibleTo")),
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
