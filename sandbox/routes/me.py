"""``GET /me``: the seller behind the token."""

from __future__ import annotations

from starlette.responses import Response

from sandbox.http import Ctx, RouteTable, raw_response

table = RouteTable()


@table.route("GET", "/me", scope="profile:read")
async def me(ctx: Ctx) -> Response:
    doc = ctx.store.scalar("SELECT doc FROM sellers WHERE id = ?", (ctx.seller_id,))
    return raw_response(bytes(doc), media=ctx.route.media)
