"""The message center and billing routes, spec validation on."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from sandbox.testing import SimulatorProcess
from tests.plugins.simulator import errors_of

pytestmark = pytest.mark.sandbox

PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 32


def threads(api: httpx.Client, **params: Any) -> list[dict[str, Any]]:
    response = api.get("/messaging/threads", params=params)
    assert response.status_code == 200, response.text
    items: list[dict[str, Any]] = response.json()["threads"]
    return items


def messages(api: httpx.Client, thread_id: str, **params: Any) -> list[dict[str, Any]]:
    response = api.get(f"/messaging/threads/{thread_id}/messages", params=params)
    assert response.status_code == 200, response.text
    items: list[dict[str, Any]] = response.json()["messages"]
    return items


def test_seeded_threads_newest_first_some_unread(api: httpx.Client) -> None:
    items = threads(api)
    assert len(items) == 5
    assert sum(1 for t in items if not t["read"]) == 3
    last = [t["lastMessageDateTime"] for t in items]
    assert last == sorted(last, reverse=True)
    assert [t["id"] for t in threads(api, limit=2, offset=1)] == [t["id"] for t in items[1:3]]
    first = messages(api, items[0]["id"])
    assert first[0]["relatesTo"]["order"]["id"]
    assert api.get(f"/messaging/threads/{items[0]['id']}").json() == items[0]
    assert api.get("/messaging/threads/nope").status_code == 404


def test_buyer_writes_seller_reads_and_answers_with_an_attachment(
    sim: SimulatorProcess, api: httpx.Client, seller_id: str
) -> None:
    order = api.get("/order/checkout-forms", params={"limit": 1}).json()["checkoutForms"][0]
    sent = sim.control(
        "POST", f"/sellers/{seller_id}/messages", {"orderId": order["id"], "text": "Halo?"}
    )
    thread_id = sent["thread"]["id"]
    top = threads(api)[0]
    assert top["id"] == thread_id
    assert top["read"] is False
    read = api.put(f"/messaging/threads/{thread_id}/read", json={"read": True})
    assert read.status_code == 200
    assert read.json()["read"] is True
    declared = api.post("/messaging/message-attachments", json={"filename": "a.png", "size": 40})
    assert declared.status_code == 201, declared.text
    att = declared.json()["id"]
    upload = api.put(
        f"/messaging/message-attachments/{att}", content=PNG, headers={"Content-Type": "image/png"}
    )
    assert upload.status_code == 200, upload.text
    answer = api.post(
        f"/messaging/threads/{thread_id}/messages",
        json={"text": "Wysłane dziś.", "attachments": [{"id": att}]},
    )
    assert answer.status_code == 201, answer.text
    body = answer.json()
    assert body["author"]["isInterlocutor"] is False
    assert body["relatesTo"]["order"]["id"] == order["id"]
    assert body["attachments"][0]["fileName"] == "a.png"
    newest = messages(api, thread_id)
    assert [m["id"] for m in newest[:2]] == [body["id"], sent["id"]]
    assert messages(api, thread_id, after=sent["createdAt"])[0]["id"] == body["id"]
    assert next(m["id"] for m in messages(api, thread_id, before=body["createdAt"])) == sent["id"]
    file = api.get(f"/messaging/message-attachments/{att}", headers={"Accept": "*/*"})
    assert file.content == PNG
    assert "a.png" in file.headers["content-disposition"]
    assert api.get(f"/messaging/messages/{body['id']}").json()["text"] == "Wysłane dziś."


def test_sending_is_limited_to_one_per_second_per_user(
    sim: SimulatorProcess, api: httpx.Client
) -> None:
    thread_id = threads(api)[0]["id"]
    first = api.post(f"/messaging/threads/{thread_id}/messages", json={"text": "Jeden"})
    assert first.status_code == 201, first.text
    second = api.post(f"/messaging/threads/{thread_id}/messages", json={"text": "Dwa"})
    assert second.status_code == 429
    assert second.headers["Retry-After"] == "1"
    assert [m["text"] for m in messages(api, thread_id)][:2] != ["Dwa", "Jeden"]
    sim.control("POST", "/clock", {"advance": 2})
    third = api.post(f"/messaging/threads/{thread_id}/messages", json={"text": "Trzy"})
    assert third.status_code == 201, third.text
    # a test may shorten the interval (``/settings``): the 429 then says how much
    sim.control("PUT", "/settings", {"message_send_interval": 0.2})
    fourth = api.post(f"/messaging/threads/{thread_id}/messages", json={"text": "Cztery"})
    assert fourth.status_code == 429
    assert fourth.headers["Retry-After"] == "0.2"
    sim.control("POST", "/clock", {"advance": 0.2})
    assert (
        api.post(f"/messaging/threads/{thread_id}/messages", json={"text": "Pięć"}).status_code
        == 201
    )


def test_new_message_to_an_orders_buyer(sim: SimulatorProcess, api: httpx.Client) -> None:
    order = api.get("/order/checkout-forms", params={"limit": 1, "offset": 3}).json()[
        "checkoutForms"
    ][0]
    wrong = api.post(
        "/messaging/messages",
        json={"recipient": {"login": "ktos-inny"}, "text": "Hej", "order": {"id": order["id"]}},
    )
    assert wrong.status_code == 422
    assert errors_of(wrong)[0]["path"] == "recipient.login"
    sent = api.post(
        "/messaging/messages",
        json={
            "recipient": {"login": order["buyer"]["login"]},
            "text": "Dzień dobry, mamy pytanie o adres.",
            "order": {"id": order["id"]},
        },
    )
    assert sent.status_code == 201, sent.text
    thread = api.get(f"/messaging/threads/{sent.json()['thread']['id']}").json()
    assert thread["interlocutor"]["login"] == order["buyer"]["login"]


@pytest.mark.allow_spec_violations
def test_message_limits_of_the_spec(api: httpx.Client) -> None:
    thread_id = threads(api)[0]["id"]
    long = api.post(f"/messaging/threads/{thread_id}/messages", json={"text": "x" * 2001})
    assert long.status_code == 422
    big = api.post("/messaging/message-attachments", json={"filename": "a.png", "size": 5242881})
    assert big.status_code == 422
    exe = api.post("/messaging/message-attachments", json={"filename": "a.exe", "size": 10})
    assert exe.status_code == 415
    assert api.get("/messaging/threads", params={"limit": 21}).status_code == 422


def test_billing_entries_newest_first_with_filters(
    sim: SimulatorProcess, api: httpx.Client
) -> None:
    response = api.get("/billing/billing-entries", headers={"Accept-Language": "pl-PL"})
    assert response.status_code == 200, response.text
    entries = response.json()["billingEntries"]
    assert entries
    occurred = [e["occurredAt"] for e in entries]
    assert occurred == sorted(occurred, reverse=True)
    assert {e["type"]["name"] for e in entries} >= {"Prowizja od sprzedaży"}
    with_order = next(e for e in entries if e.get("order"))
    mine = api.get("/billing/billing-entries", params={"order.id": with_order["order"]["id"]})
    assert with_order["id"] in [e["id"] for e in mine.json()["billingEntries"]]
    suc = api.get("/billing/billing-entries", params={"type.id": ["SUC"]}).json()
    assert {e["type"]["id"] for e in suc["billingEntries"]} == {"SUC"}
    window = api.get(
        "/billing/billing-entries",
        params={"occurredAt.gte": occurred[2], "occurredAt.lte": occurred[0]},
    ).json()["billingEntries"]
    assert [e["occurredAt"] for e in window] == [o for o in occurred if o >= occurred[2]]
    # a new sale's fees arrive on top, with the running balance
    form = api.get("/order/checkout-forms", params={"limit": 1}).json()["checkoutForms"][0]
    charged = sim.control("POST", f"/orders/{form['id']}/fees")["billingEntries"]
    top = api.get("/billing/billing-entries", params={"limit": 1}).json()["billingEntries"][0]
    assert top["id"] == charged[-1]["id"]
    types = api.get("/billing/billing-types")
    assert {"SUC", "REF"} <= {t["id"] for t in types.json()}
