"""``make demo``'s simulator seed leaves work in the after-sales inbox of the demo sellers:
negative or neutral ratings without an answer whose removal window is still open, an open
dispute whose last word is the buyer's and a claim awaiting the decision."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import orjson
import pytest

from backoffice.demo import SEED
from sandbox.config import SandboxConfig
from sandbox.seed import SeedOptions, seed
from sandbox.state import State, iso

pytestmark = pytest.mark.sandbox
DEMO_SELLERS = {"10000001": "SklepKowalski", "10000002": "ElektroMax_PL"}
PEOPLE = ("BUYER", "SELLER", "ADMIN")


def _docs(state: State, sql: str, params: tuple[Any, ...]) -> list[dict[str, Any]]:
    return [orjson.loads(row[0]) for row in state.store.all(sql, params)]


def _waits(rating: dict[str, Any]) -> bool:
    rates = [v for v in (rating.get("rates") or {}).values() if isinstance(v, int)]
    negative_or_neutral = not rating["recommended"] or any(v <= 3 for v in rates)
    return negative_or_neutral and not rating.get("answer") and "request" not in rating["removal"]


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> State:
    data: Path = tmp_path_factory.mktemp("demo-sim")
    state = State.open(SandboxConfig(data_dir=data))
    seed(state, SeedOptions(reset=True, **SEED))
    return state


@pytest.mark.parametrize("seller_id", sorted(DEMO_SELLERS))
def test_demo_sellers_have_ratings_and_disputes_waiting(demo: State, seller_id: str) -> None:
    now = iso(demo.clock.now())
    ratings = _docs(
        demo, "SELECT doc FROM documents WHERE kind = 'rating' AND seller_id = ?", (seller_id,)
    )
    waiting = [r for r in ratings if _waits(r)]
    assert any(r["removal"].get("possibleTo", "") > now for r in waiting), DEMO_SELLERS[seller_id]
    assert any(not r["recommended"] for r in waiting)

    issues = _docs(
        demo, "SELECT doc FROM documents WHERE kind = 'issue' AND seller_id = ?", (seller_id,)
    )
    buyer_last = []
    for issue in issues:
        chat = _docs(
            demo,
            "SELECT doc FROM documents WHERE kind = 'issue_message' AND k1 = ? ORDER BY sort_key",
            (issue["id"],),
        )
        people = [m["author"]["role"] for m in chat if m["author"]["role"] in PEOPLE]
        if issue["currentState"]["status"] == "DISPUTE_ONGOING" and people[-1:] == ["BUYER"]:
            buyer_last.append(issue["id"])
    assert buyer_last, DEMO_SELLERS[seller_id]
    assert any(i["currentState"]["status"] == "CLAIM_SUBMITTED" for i in issues)
