"""Disputes and claims (beta ``/sale/issues``): list, get, chat, messages, status, attachments."""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from sandbox.config import REPO_ROOT
from sandbox.http import BETA
from sandbox.testing import SimulatorProcess
from tests.plugins.simulator import api_client, errors_of

pytestmark = pytest.mark.sandbox


@pytest.fixture
def beta(sim: SimulatorProcess, seller_token: str) -> Iterator[httpx.Client]:
    with api_client(sim, seller_token, accept=BETA) as client:
        yield client


def issues(beta: httpx.Client, **params: Any) -> list[dict[str, Any]]:
    response = beta.get("/sale/issues", params=params)
    assert response.status_code == 200, response.text
    assert response.headers["content-type"].startswith(BETA)
    items: list[dict[str, Any]] = response.json()["issues"]
    return items


def one(beta: httpx.Client, status: str) -> dict[str, Any]:
    return issues(beta, status=status)[0]


def chat(beta: httpx.Client, issue_id: str, **params: Any) -> list[dict[str, Any]]:
    response = beta.get(f"/sale/issues/{issue_id}/chat", params=params)
    assert response.status_code == 200, response.text
    items: list[dict[str, Any]] = response.json()["chat"]
    return items


def test_seeded_issues_newest_first_with_every_state(beta: httpx.Client) -> None:
    items = issues(beta, limit=100)
    assert {i["currentState"]["status"] for i in items} == {
        "DISPUTE_ONGOING",
        "DISPUTE_UNRESOLVED",
        "DISPUTE_CLOSED",
        "CLAIM_SUBMITTED",
        "CLAIM_ACCEPTED",
        "CLAIM_REJECTED",
    }
    opened = [i["openedDate"] for i in items]
    assert opened == sorted(opened, reverse=True)
    assert len(issues(beta)) == min(10, len(items))
    closed = [i for i in items if i["currentState"]["status"] == "DISPUTE_CLOSED"]
    assert [i["currentState"]["chatActive"] for i in closed] == [False]
    claims = [i for i in items if i["type"] == "CLAIM"]
    assert all(c["referenceNumber"] and c["reason"]["type"] for c in claims)
    assert all(c["product"]["id"] and c["reason"]["description"] for c in claims)
    assert all(d["subject"] and d["reason"] is None for d in items if d["type"] == "DISPUTE")


def test_issues_are_tied_to_real_orders(beta: httpx.Client, api: httpx.Client) -> None:
    issue = one(beta, "DISPUTE_ONGOING")
    order = api.get(f"/order/checkout-forms/{issue['checkoutForm']['id']}")
    assert order.status_code == 200
    assert order.json()["buyer"]["login"] == issue["buyer"]["login"]
    assert issue["offer"]["id"] in {li["offer"]["id"] for li in order.json()["lineItems"]}


def test_filters_and_paging(beta: httpx.Client) -> None:
    everything = issues(beta, limit=100)
    both = issues(beta, status=["DISPUTE_ONGOING", "CLAIM_SUBMITTED"])
    assert {i["currentState"]["status"] for i in both} == {"DISPUTE_ONGOING", "CLAIM_SUBMITTED"}
    form_id = everything[0]["checkoutForm"]["id"]
    assert [i["id"] for i in issues(beta, **{"checkoutForm.id": form_id})] == [everything[0]["id"]]
    assert issues(beta, **{"checkoutForm.id": "00000000-0000-4000-8000-000000000000"}) == []
    pages = issues(beta, limit=2, offset=0) + issues(beta, limit=2, offset=2)
    assert [i["id"] for i in pages] == [i["id"] for i in everything[:4]]


@pytest.mark.allow_spec_violations
@pytest.mark.parametrize(
    "params",
    [{"limit": 0}, {"limit": 101}, {"offset": -1}, {"status": "OPEN"}, {"checkoutForm.id": "x"}],
)
def test_bad_list_parameters_are_422(beta: httpx.Client, params: dict[str, Any]) -> None:
    response = beta.get("/sale/issues", params=params)
    assert response.status_code == 422
    assert errors_of(response)[0]["path"] == next(iter(params))


def test_v1_accept_is_406_and_scope_is_checked(sim: SimulatorProcess, api: httpx.Client) -> None:
    assert api.get("/sale/issues").status_code == 406
    token = sim.token("10000001", scopes=["allegro:api:orders:read"])
    with api_client(sim, token, accept=BETA) as client:
        assert client.get("/sale/issues").status_code == 403


def test_get_one_and_404s(beta: httpx.Client, sim: SimulatorProcess) -> None:
    issue = one(beta, "CLAIM_SUBMITTED")
    response = beta.get(f"/sale/issues/{issue['id']}")
    assert response.status_code == 200
    assert response.json() == issue
    assert beta.get("/sale/issues/00000000-0000-4000-8000-000000000000").status_code == 404
    with api_client(sim, sim.token("10000002"), accept=BETA) as other:
        assert other.get(f"/sale/issues/{issue['id']}").status_code == 404
        assert other.get(f"/sale/issues/{issue['id']}/chat").status_code == 404


def test_chat_newest_first_with_paging(beta: httpx.Client) -> None:
    issue = one(beta, "DISPUTE_ONGOING")
    messages = chat(beta, issue["id"], limit=100)
    assert len(messages) == issue["chat"]["messagesCount"] >= 3
    created = [m["createdAt"] for m in messages]
    assert created == sorted(created, reverse=True)
    assert messages[-1]["id"] == issue["chat"]["initialMessage"]["id"]
    assert messages[-1]["author"]["role"] == "BUYER"
    assert {m["author"]["role"] for m in messages} == {"BUYER", "SELLER"}
    assert chat(beta, issue["id"], limit=1, offset=1) == messages[1:2]


def test_seller_message_updates_chat_and_summary(beta: httpx.Client) -> None:
    issue = one(beta, "CLAIM_SUBMITTED")
    assert issue["chat"]["lastMessage"]["status"] == "NEW"
    response = beta.post(
        f"/sale/issues/{issue['id']}/message",
        json={"text": "Dzień dobry, proszę odesłać towar.", "type": "REGULAR"},
    )
    assert response.status_code == 201
    message = response.json()
    assert message["author"] == {"login": "SklepKowalski", "role": "SELLER"}
    assert chat(beta, issue["id"])[0] == message
    after = beta.get(f"/sale/issues/{issue['id']}").json()
    assert after["chat"]["messagesCount"] == issue["chat"]["messagesCount"] + 1
    assert after["chat"]["lastMessage"] == {
        "status": "SELLER_REPLIED",
        "createdAt": message["createdAt"],
    }


def test_return_decision_in_a_claim(beta: httpx.Client) -> None:
    issue = one(beta, "CLAIM_SUBMITTED")
    response = beta.post(
        f"/sale/issues/{issue['id']}/message",
        json={"text": "Proszę odesłać na nasz koszt.", "type": "RETURN_REQUIRED_SELLER_LABEL"},
    )
    assert response.status_code == 201
    assert beta.get(f"/sale/issues/{issue['id']}").json()["currentState"]["returnRequired"] is True
    beta.post(
        f"/sale/issues/{issue['id']}/message",
        json={"text": "Jednak nie trzeba odsyłać.", "type": "RETURN_NOT_REQUIRED"},
    )
    assert beta.get(f"/sale/issues/{issue['id']}").json()["currentState"]["returnRequired"] is False


@pytest.mark.parametrize(
    ("status", "type_"),
    [("CLAIM_SUBMITTED", "END_REQUEST"), ("DISPUTE_ONGOING", "RETURN_NOT_REQUIRED")],
)
def test_message_types_belong_to_their_issue_type(
    beta: httpx.Client, status: str, type_: str
) -> None:
    issue = one(beta, status)
    response = beta.post(f"/sale/issues/{issue['id']}/message", json={"text": "x", "type": type_})
    assert response.status_code == 422
    assert errors_of(response)[0]["path"] == "type"


def test_end_request_in_a_dispute(beta: httpx.Client) -> None:
    issue = one(beta, "DISPUTE_UNRESOLVED")
    response = beta.post(
        f"/sale/issues/{issue['id']}/message",
        json={"text": "Czy możemy zamknąć dyskusję?", "type": "END_REQUEST"},
    )
    assert response.status_code == 201


@pytest.mark.allow_spec_violations
@pytest.mark.parametrize(
    ("body", "path"),
    [
        ({"text": "x" * 20001, "type": "REGULAR"}, "text"),
        ({"text": "", "type": "REGULAR"}, "text"),
        ({"text": "hej"}, "type"),
        ({"text": "hej", "type": "SHOUT"}, "type"),
        ({"type": "REGULAR", "attachments": [{"id": "nope"}]}, "attachments.id"),
    ],
)
def test_invalid_messages_are_422(beta: httpx.Client, body: dict[str, Any], path: str) -> None:
    issue = one(beta, "DISPUTE_ONGOING")
    response = beta.post(f"/sale/issues/{issue['id']}/message", json=body)
    assert response.status_code == 422
    assert errors_of(response)[0]["path"] == path
    assert beta.get(f"/sale/issues/{issue['id']}").json()["chat"] == issue["chat"]


def test_longest_text_is_accepted(beta: httpx.Client) -> None:
    issue = one(beta, "DISPUTE_ONGOING")
    response = beta.post(
        f"/sale/issues/{issue['id']}/message", json={"text": "x" * 20000, "type": "REGULAR"}
    )
    assert response.status_code == 201


def test_closed_dispute_answers_409(beta: httpx.Client) -> None:
    issue = one(beta, "DISPUTE_CLOSED")
    response = beta.post(
        f"/sale/issues/{issue['id']}/message", json={"text": "Halo?", "type": "REGULAR"}
    )
    assert response.status_code == 409
    assert (
        beta.post(
            "/sale/issues/00000000-0000-4000-8000-000000000000/message",
            json={"text": "Halo?", "type": "REGULAR"},
        ).status_code
        == 404
    )


def test_buyer_activity_through_the_control_plane(
    beta: httpx.Client, sim: SimulatorProcess
) -> None:
    opened = sim.control(
        "POST", "/sellers/10000001/issues", {"type": "DISPUTE", "text": "Gdzie moja paczka?"}
    )
    assert issues(beta)[0]["id"] == opened["id"]
    assert opened["chat"]["initialMessage"]["text"] == "Gdzie moja paczka?"
    beta.post(
        f"/sale/issues/{opened['id']}/message", json={"text": "Już sprawdzam.", "type": "REGULAR"}
    )
    written = sim.control("POST", f"/issues/{opened['id']}/messages", {"text": "Dziękuję!"})
    assert written["author"]["role"] == "BUYER"
    now = beta.get(f"/sale/issues/{opened['id']}").json()
    assert now["chat"]["lastMessage"]["status"] == "BUYER_REPLIED"
    assert now["chat"]["messagesCount"] == 3
    closed = sim.control("POST", f"/issues/{opened['id']}/status", {"status": "DISPUTE_CLOSED"})
    assert closed["currentState"]["chatActive"] is False
    refused = beta.post(
        f"/sale/issues/{opened['id']}/message", json={"text": "Jeszcze jedno", "type": "REGULAR"}
    )
    assert refused.status_code == 409
    reopened = sim.control("POST", f"/issues/{opened['id']}/status", {"status": "DISPUTE_ONGOING"})
    assert reopened["currentState"]["chatActive"] is True
    claim = sim.control("POST", "/sellers/10000001/issues", {"type": "CLAIM"})
    assert claim["currentState"]["status"] == "CLAIM_SUBMITTED"
    assert claim["decisionDueDate"] == claim["currentState"]["statusDueDate"]


def test_claim_decision(beta: httpx.Client) -> None:
    issue = one(beta, "CLAIM_SUBMITTED")
    url = f"/sale/issues/{issue['id']}/status"
    partial = beta.post(url, json={"status": "ACCEPTED_PARTIAL_REFUND", "message": "OK"})
    assert partial.status_code == 400
    assert errors_of(partial)[0]["path"] == "partialRefund"
    accepted = beta.post(
        url,
        json={
            "status": "ACCEPTED_PARTIAL_REFUND",
            "message": "Zwracamy 30 zł.",
            "partialRefund": {"amount": "30.00", "currency": "PLN"},
        },
    )
    assert accepted.status_code == 200
    after = beta.get(f"/sale/issues/{issue['id']}").json()
    assert after["currentState"]["status"] == "CLAIM_ACCEPTED"
    assert after["currentState"]["statusDueDate"] is None
    assert chat(beta, issue["id"])[0]["text"] == "Zwracamy 30 zł."
    again = beta.post(url, json={"status": "REJECTED_OTHER", "message": "Jednak nie"})
    assert again.status_code == 400
    dispute = one(beta, "DISPUTE_ONGOING")
    not_claim = beta.post(
        f"/sale/issues/{dispute['id']}/status", json={"status": "REJECTED_OTHER", "message": "x"}
    )
    assert not_claim.status_code == 400


def test_attachment_declare_upload_send_download(beta: httpx.Client) -> None:
    pdf = b"%PDF-1.4\n% test attachment\n"
    declared = beta.post("/sale/issues/attachments", json={"fileName": "faktura.pdf", "size": 64})
    assert declared.status_code == 201
    attachment_id = declared.json()["id"]
    location = declared.headers["Location"]
    assert location.endswith(f"/sale/issues/attachments/{attachment_id}")
    uploaded = beta.put(location, content=pdf, headers={"Content-Type": "application/pdf"})
    assert uploaded.status_code == 200
    assert uploaded.json() == {"id": attachment_id}
    issue = one(beta, "DISPUTE_ONGOING")
    sent = beta.post(
        f"/sale/issues/{issue['id']}/message",
        json={
            "text": "Faktura w załączniku.",
            "type": "REGULAR",
            "attachments": [{"id": attachment_id}],
        },
    )
    assert sent.status_code == 201
    assert sent.json()["attachments"] == [{"fileName": "faktura.pdf", "url": location}]
    downloaded = beta.get(location, headers={"Accept": "*/*"})
    assert downloaded.status_code == 200
    assert downloaded.content == pdf
    assert downloaded.headers["content-type"].startswith("application/pdf")


@pytest.mark.allow_spec_violations
def test_attachment_errors(beta: httpx.Client) -> None:
    assert beta.post("/sale/issues/attachments", json={"fileName": "a.png"}).status_code == 422
    declared = beta.post("/sale/issues/attachments", json={"fileName": "a.png", "size": 4})
    location = declared.headers["Location"]
    too_big = beta.put(location, content=b"12345678", headers={"Content-Type": "image/png"})
    assert too_big.status_code == 413
    wrong_type = beta.put(location, content=b"1234", headers={"Content-Type": "text/plain"})
    assert wrong_type.status_code == 415
    assert beta.get(location, headers={"Accept": "*/*"}).status_code == 404  # not uploaded yet


def cli(*args: str) -> Any:
    result = subprocess.run(
        [sys.executable, "-m", "sandbox", *args],
        cwd=REPO_ROOT,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    return json.loads(result.stdout)


def test_after_sales_cli(sim: SimulatorProcess, beta: httpx.Client, api: httpx.Client) -> None:
    url = ("--url", sim.url)
    rating = cli("rate", "10000001", "--negative", "--comment", "Słabo", *url)
    assert rating["recommended"] is False
    assert rating["comment"] == "Słabo"
    edited = cli("rating-edit", rating["id"], "--recommended", "true", *url)
    assert edited["recommended"] is True
    assert cli("rating-delete", rating["id"], *url) == {"removed": rating["id"], "by": "BUYER"}
    assert api.get(f"/sale/user-ratings/{rating['id']}").status_code == 404
    claim = cli("dispute", "10000001", "--claim", "--text", "Nie działa", *url)
    assert claim["type"] == "CLAIM"
    dispute = cli("dispute", "10000001", *url)
    message = cli("issue-message", dispute["id"], "Halo?", *url)
    assert chat(beta, dispute["id"])[0]["id"] == message["id"]
    closed = cli("issue-status", dispute["id"], "DISPUTE_CLOSED", *url)
    assert closed["currentState"]["chatActive"] is False


def test_background_market_includes_after_sales(sim: SimulatorProcess) -> None:
    def open_issues() -> int:
        total = 0
        for seller in ("10000001", "10000002"):
            with api_client(sim, sim.token(seller), accept=BETA) as client:
                total += len(client.get("/sale/issues", params={"limit": 100}).json()["issues"])
        return total

    before = open_issues()
    actions = sim.control("POST", "/market/step", {"count": 200})["actions"]
    assert {"purchase", "rating", "issue", "issue-message"} <= set(actions)
    assert open_issues() == before + actions.count("issue")


def test_attachment_only_message(beta: httpx.Client) -> None:
    declared = beta.post("/sale/issues/attachments", json={"fileName": "zdjecie.png", "size": 8})
    location = declared.headers["Location"]
    beta.put(location, content=b"\x89PNG\r\n\x1a\n", headers={"Content-Type": "image/png"})
    issue = one(beta, "DISPUTE_ONGOING")
    sent = beta.post(
        f"/sale/issues/{issue['id']}/message",
        json={"type": "REGULAR", "attachments": [{"id": declared.json()["id"]}]},
    )
    assert sent.status_code == 201, sent.text
    assert sent.json()["text"] == ""
    assert sent.json()["attachments"][0]["fileName"] == "zdjecie.png"


def test_control_plane_rejects_bad_input(sim: SimulatorProcess, beta: httpx.Client) -> None:
    issue = one(beta, "DISPUTE_ONGOING")
    with httpx.Client(base_url=f"{sim.url}/__sandbox__") as control:
        assert (
            control.post("/sellers/10000001/issues", json={"type": "COMPLAINT"}).status_code == 400
        )
        assert control.post("/sellers/10000001/issues", json={"text": 7}).status_code == 400
        assert control.post("/sellers/99999999/issues", json={}).status_code == 404
        assert control.post(f"/issues/{issue['id']}/messages", json={"text": ""}).status_code == 400
        bad_role = control.post(
            f"/issues/{issue['id']}/messages", json={"text": "x", "role": "SELLER"}
        )
        assert bad_role.status_code == 400
        wrong_kind = control.post(
            f"/issues/{issue['id']}/status", json={"status": "CLAIM_ACCEPTED"}
        )
        assert wrong_kind.status_code == 400
    assert beta.get(f"/sale/issues/{issue['id']}").json() == issue


def test_no_token_is_401(sim: SimulatorProcess) -> None:
    response = httpx.get(f"{sim.url}/sale/issues", headers={"Accept": BETA})
    assert response.status_code == 401
