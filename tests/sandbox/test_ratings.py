"""Ratings: list with filters and paging, get, answer, removal request, summary, buyer activity."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from sandbox.http import BETA
from sandbox.testing import SimulatorProcess
from tests.plugins.simulator import api_client, errors_of

pytestmark = pytest.mark.sandbox


def ratings(api: httpx.Client, **params: Any) -> list[dict[str, Any]]:
    response = api.get("/sale/user-ratings", params=params)
    assert response.status_code == 200, response.text
    items: list[dict[str, Any]] = response.json()["ratings"]
    return items


def new_rating(sim: SimulatorProcess, seller: str = "10000001", **body: Any) -> dict[str, Any]:
    rating: dict[str, Any] = sim.control("POST", f"/sellers/{seller}/ratings", body)
    return rating


def test_seeded_list_is_newest_change_first_with_default_limit(api: httpx.Client) -> None:
    items = ratings(api)
    assert 0 < len(items) <= 20
    changed = [r["lastChangedAt"] for r in items]
    assert changed == sorted(changed, reverse=True)
    assert all(r["removal"]["possibleTo"] > r["createdAt"] for r in items)
    everything = ratings(api, limit=100)
    assert any("answer" in r for r in everything)
    assert any("comment" in r for r in everything)
    assert any(not r["recommended"] for r in everything)


def test_recommended_filter(api: httpx.Client) -> None:
    good = ratings(api, recommended="true", limit=100)
    bad = ratings(api, recommended="false", limit=100)
    assert good
    assert bad
    assert all(r["recommended"] for r in good)
    assert not any(r["recommended"] for r in bad)
    assert len(good) + len(bad) == len(ratings(api, limit=100))


def test_paging(api: httpx.Client) -> None:
    everything = ratings(api, limit=100)
    first = ratings(api, limit=3, offset=0)
    second = ratings(api, limit=3, offset=3)
    assert [r["id"] for r in first + second] == [r["id"] for r in everything[:6]]
    assert ratings(api, offset=20000) == []


@pytest.mark.allow_spec_violations
@pytest.mark.parametrize(
    "params",
    [
        {"limit": 0},
        {"limit": 101},
        {"offset": 20001},
        {"recommended": "yes"},
        {"lastChangedAt.gte": "yesterday"},
    ],
)
def test_bad_filters_are_422(api: httpx.Client, params: dict[str, Any]) -> None:
    response = api.get("/sale/user-ratings", params=params)
    assert response.status_code == 422
    assert errors_of(response)[0]["path"] == next(iter(params))


def test_last_changed_filters_see_new_and_edited_ratings(
    api: httpx.Client, sim: SimulatorProcess
) -> None:
    old = ratings(api, limit=100)[-1]
    sim.control("POST", "/clock", {"advance": 3600})
    marker = sim.control("GET", "/clock")["now"]
    created = new_rating(sim, recommended=False, comment="Paczka nie dotarła.")
    edited = sim.control("PATCH", f"/ratings/{old['id']}", {"comment": "Jednak wszystko OK."})
    assert edited["editedAt"] == edited["lastChangedAt"] >= marker
    recent = ratings(api, **{"lastChangedAt.gte": marker})
    assert {r["id"] for r in recent} == {created["id"], old["id"]}
    assert recent[0]["id"] == old["id"]  # edited last
    before = ratings(api, limit=100, **{"lastChangedAt.lte": "2000-01-01T00:00:00+01:00"})
    assert before == []
    with_offset = ratings(api, **{"lastChangedAt.gte": marker.replace("Z", "+00:00")})
    assert len(with_offset) == 2


def test_get_one_and_404s(api: httpx.Client, sim: SimulatorProcess) -> None:
    rating = ratings(api, limit=1)[0]
    response = api.get(f"/sale/user-ratings/{rating['id']}")
    assert response.status_code == 200
    assert response.json() == rating
    assert api.get("/sale/user-ratings/000000000000000000000000").status_code == 404
    with api_client(sim, sim.token("10000002")) as other:
        assert other.get(f"/sale/user-ratings/{rating['id']}").status_code == 404


def test_answer_is_stored_and_replaced(api: httpx.Client) -> None:
    rating = ratings(api, recommended="false", limit=1)[0]
    response = api.put(
        f"/sale/user-ratings/{rating['id']}/answer", json={"message": "Przepraszamy, wymienimy."}
    )
    assert response.status_code == 201
    answer = response.json()
    assert answer["message"] == "Przepraszamy, wymienimy."
    assert api.get(f"/sale/user-ratings/{rating['id']}").json()["answer"] == answer
    again = api.put(f"/sale/user-ratings/{rating['id']}/answer", json={"message": "x" * 500})
    assert again.status_code == 201
    assert api.get(f"/sale/user-ratings/{rating['id']}").json()["answer"]["message"] == "x" * 500


@pytest.mark.allow_spec_violations
@pytest.mark.parametrize("body", [{"message": "x" * 501}, {"message": "  "}, {}])
def test_answer_rejects_bad_messages_with_400(api: httpx.Client, body: dict[str, Any]) -> None:
    rating = ratings(api, limit=1)[0]
    response = api.put(f"/sale/user-ratings/{rating['id']}/answer", json=body)
    assert response.status_code == 400
    assert errors_of(response)[0]["path"] == "message"
    assert api.get(f"/sale/user-ratings/{rating['id']}").json().get("answer") == rating.get(
        "answer"
    )


def test_answer_unknown_rating_is_404(api: httpx.Client) -> None:
    response = api.put("/sale/user-ratings/ffffffffffffffffffffffff/answer", json={"message": "Hi"})
    assert response.status_code == 404


def test_removal_request_once_and_within_the_window(
    api: httpx.Client, sim: SimulatorProcess
) -> None:
    fresh = new_rating(sim, recommended=False)
    url = f"/sale/user-ratings/{fresh['id']}/removal"
    response = api.put(url, json={"request": {"message": "Problem rozwiązany telefonicznie."}})
    assert response.status_code == 201
    removal = response.json()
    assert removal["possibleTo"] == fresh["removal"]["possibleTo"]
    assert removal["request"]["message"] == "Problem rozwiązany telefonicznie."
    assert removal["request"]["source"] == "SELLER"
    assert api.get(f"/sale/user-ratings/{fresh['id']}").json()["removal"] == removal
    twice = api.put(url, json={"request": {"message": "Jeszcze raz"}})
    assert twice.status_code == 400
    assert errors_of(twice)[0]["code"] == "REMOVAL_ALREADY_REQUESTED"
    late = new_rating(sim)
    sim.control("POST", "/clock", {"advance": 15 * 86400})
    with api_client(sim, sim.token("10000001")) as later:  # the old token has expired
        expired = later.put(
            f"/sale/user-ratings/{late['id']}/removal", json={"request": {"message": "Za późno?"}}
        )
    assert expired.status_code == 400
    assert errors_of(expired)[0]["code"] == "REMOVAL_PERIOD_EXPIRED"


@pytest.mark.allow_spec_violations
def test_removal_validates_the_message(api: httpx.Client) -> None:
    rating = ratings(api, limit=1)[0]
    url = f"/sale/user-ratings/{rating['id']}/removal"
    assert api.put(url, json={}).status_code == 400
    too_long = api.put(url, json={"request": {"message": "y" * 501}})
    assert too_long.status_code == 400
    assert errors_of(too_long)[0]["path"] == "request.message"


def test_summary_counts_and_follows_buyer_activity(
    api: httpx.Client, sim: SimulatorProcess
) -> None:
    url = "/users/10000001/ratings-summary"
    before = api.get(url).json()
    assert before["statistics"]["received"]["total"] == len(ratings(api, limit=100))
    assert float(before["recommendedPercentage"]) > 50
    created = new_rating(sim, recommended=True)
    after_new = api.get(url).json()
    assert after_new["recommended"]["total"] == before["recommended"]["total"] + 1
    sim.control("DELETE", f"/ratings/{created['id']}")
    after_delete = api.get(url).json()
    assert after_delete["recommended"]["total"] == before["recommended"]["total"]
    assert after_delete["statistics"]["removed"]["byBuyer"] == 1
    assert api.get(f"/sale/user-ratings/{created['id']}").status_code == 404
    with api_client(sim, sim.token("10000002")) as other:
        theirs = other.get("/sale/user-ratings", params={"limit": 100}).json()["ratings"]
    summary = api.get("/users/10000002/ratings-summary").json()
    assert summary["statistics"]["received"]["total"] == len(theirs)


def test_summary_of_unknown_user_is_404(api: httpx.Client) -> None:
    assert api.get("/users/99999999/ratings-summary").status_code == 404


def test_control_rating_for_an_order_once(api: httpx.Client, sim: SimulatorProcess) -> None:
    order = api.get(
        "/order/checkout-forms", params={"status": "READY_FOR_PROCESSING", "limit": 1}
    ).json()["checkoutForms"][0]
    existing = [r for r in ratings(api, limit=100) if r["order"]["id"] == order["id"]]
    if existing:
        sim.control("DELETE", f"/ratings/{existing[0]['id']}")
    rating = new_rating(sim, orderId=order["id"], recommended=True, comment="Super!")
    assert rating["order"]["id"] == order["id"]
    assert rating["buyer"]["login"] == order["buyer"]["login"]
    assert [o["id"] for o in rating["order"]["offers"]] == [
        li["offer"]["id"] for li in order["lineItems"]
    ]
    assert ratings(api, limit=1)[0]["id"] == rating["id"]
    with httpx.Client(base_url=sim.url) as raw:
        dup = raw.post("/__sandbox__/sellers/10000001/ratings", json={"orderId": order["id"]})
    assert dup.status_code == 409


def test_scope_and_media_type(sim: SimulatorProcess) -> None:
    token = sim.token("10000001", scopes=["allegro:api:orders:read"])
    with api_client(sim, token) as client:
        assert client.get("/sale/user-ratings").status_code == 403
    with api_client(sim, sim.token("10000001")) as client:
        response = client.get("/sale/user-ratings", headers={"Accept": "application/json"})
        assert response.status_code == 406


def test_beta_representation(api: httpx.Client, sim: SimulatorProcess) -> None:
    v1 = ratings(api, limit=100)
    with api_client(sim, sim.token("10000001"), accept=BETA) as beta:
        response = beta.get("/sale/user-ratings", params={"limit": 100})
        assert response.status_code == 200
        assert response.headers["content-type"].startswith(BETA)
        items = response.json()["ratings"]
        assert [r["id"] for r in items] == [r["id"] for r in v1]
        by_id = {r["id"]: r for r in v1}
        for item in items:
            plain = by_id[item["id"]]
            if "comment" in plain:
                assert item["comment"] == {"text": plain["comment"], "language": "pl-PL"}
            if "answer" in plain:
                assert item["answer"]["text"] == plain["answer"]["message"]
        negatives = sorted((r for r in items if not r["recommended"]), key=lambda r: r["createdAt"])
        assert negatives[0]["firstNegativeReviewInLast30Days"] is True
        assert all(r["firstNegativeReviewInLast30Days"] is False for r in items if r["recommended"])
        one = beta.get(f"/sale/user-ratings/{items[0]['id']}")
        assert one.headers["content-type"].startswith(BETA)
        assert one.json() == items[0]


def test_control_plane_rejects_bad_input(sim: SimulatorProcess, api: httpx.Client) -> None:
    rating = ratings(api, limit=1)[0]
    with httpx.Client(base_url=f"{sim.url}/__sandbox__") as control:
        assert (
            control.patch(f"/ratings/{rating['id']}", json={"rates": {"service": 9}}).status_code
            == 400
        )
        assert control.patch(f"/ratings/{rating['id']}", json={"rates": [5]}).status_code == 400
        assert control.patch(f"/ratings/{rating['id']}", json={"comment": 5}).status_code == 400
        assert control.patch("/ratings/000000000000000000000000", json={}).status_code == 404
        assert (
            control.delete(f"/ratings/{rating['id']}", params={"by": "NOBODY"}).status_code == 400
        )
        assert control.post("/sellers/99999999/ratings", json={}).status_code == 404
    assert api.get(f"/sale/user-ratings/{rating['id']}").json() == rating


def test_no_token_is_401(sim: SimulatorProcess) -> None:
    response = httpx.get(
        f"{sim.url}/sale/user-ratings", headers={"Accept": "application/vnd.allegro.public.v1+json"}
    )
    assert response.status_code == 401
    assert response.json()["error"]
