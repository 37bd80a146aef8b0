"""Generated input over every form of the inbox, the rating pages and the saved replies (the
answer, the removal request, saved reply create/edit/delete, assign, mark handled, note and the
filters of the inbox and of the ratings list): never a 500, and never a request Allegro would
refuse as malformed (the simulator validates every request against the spec, and the
``sim`` fixture fails the test on any violation)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from django.urls import reverse
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from accounts.models import AccountGrant, Role
from aftersales.models import InboxNote, InboxState, Rating, SavedReply
from tests.factories import CustomerReturnFactory, MessageThreadFactory, UserFactory, staff_member
from tests.mirror.conftest import drive
from tests.plugins.allegro_accounts import SELLER_LOGIN

pytestmark = pytest.mark.django_db(transaction=False)

SETTINGS = settings(
    max_examples=25,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
TEXT = st.one_of(
    st.text(st.characters(exclude_categories=["Cs"]), max_size=80),
    st.sampled_from(
        ["", " ", "\n\t ", "Dziękujemy!", "x" * 500, "x" * 501, " " + "y" * 500, "\x00abc"]
    ),
)
LONG = st.one_of(TEXT, st.just("ą" * 2001), st.text(min_size=490, max_size=520))
ID = st.one_of(
    st.integers(min_value=-(2**70), max_value=2**70).map(str),
    st.sampled_from(["", "me", "0", "-1", "9" * 30, "1e3", "1,5"]),
    TEXT,
)
NEXT = st.one_of(
    st.sampled_from(["", "/after-sales/", "https://evil.example/", "//evil", "javascript:x"]),
    TEXT,
)
# Accepted answers to a POST: done (302), refused with the form (422), not allowed (403),
# no such thing (404). Never a 500: the test client raises on an exception in the view.
POST_OK = {302, 403, 404, 422}


def _no_500(sim_stats: Any) -> None:
    statuses = sim_stats()["statuses"]
    assert not any(int(code) >= 500 for code in statuses), statuses


@pytest.fixture
def linked(sim: Any, link_account: Callable[..., Any]) -> Any:
    sim.control("POST", "/reset", {"seed": {"sellers": 2, "offers": 10, "orders": 30, "seed": 7}})
    account = link_account(SELLER_LOGIN)
    drive(account, "ratings")
    return account


def _fresh_rating(sim: Any, account: Any) -> Rating:
    doc = sim.control("POST", f"/sellers/{account.allegro_user_id}/ratings", {"recommended": False})
    drive(account, "ratings")
    return Rating.objects.get(account=account, allegro_id=doc["id"])


def _name() -> str:
    return f"u{UserFactory._meta.model.objects.count()}"


@SETTINGS
@given(answer=LONG, removal=LONG, role=st.sampled_from([Role.VIEWER, Role.OPERATOR, Role.MANAGER]))
def test_answer_and_removal_never_500_nor_malformed(
    sim: Any,
    linked: Any,
    client_for: Callable[[Any], Any],
    sim_stats: Any,
    answer: str,
    removal: str,
    role: Any,
) -> None:
    rating = _fresh_rating(sim, linked)
    client = client_for(staff_member(_name(), role, linked))
    response = client.post(
        reverse("aftersales:rating_answer", args=[rating.pk]), {"message": answer}
    )
    assert response.status_code in POST_OK
    rating.refresh_from_db()
    sent = answer.strip()
    if response.status_code == 302:
        assert rating.answer_message == sent
        assert 1 <= len(sent) <= 500
    else:
        assert rating.answer_message == ""
    response = client.post(
        reverse("aftersales:rating_removal", args=[rating.pk]), {"message": removal}
    )
    assert response.status_code in POST_OK
    rating.refresh_from_db()
    assert (rating.removal_requested_at is not None) == (response.status_code == 302)
    _no_500(sim_stats)


@SETTINGS
@given(
    title=st.one_of(TEXT, st.just("t" * 101)),
    text=LONG,
    account=ID,
    new_title=TEXT,
    new_text=LONG,
    new_account=ID,
    delete=st.booleans(),
)
def test_saved_reply_crud_never_500(
    linked: Any,
    client_for: Callable[[Any], Any],
    title: str,
    text: str,
    account: str,
    new_title: str,
    new_text: str,
    new_account: str,
    delete: bool,
) -> None:
    client = client_for(staff_member(_name(), Role.OPERATOR, linked))
    before = set(SavedReply.objects.values_list("pk", flat=True))
    data = {"title": title, "text": text, "account": account}
    response = client.post(reverse("aftersales:reply_create"), data)
    assert response.status_code in POST_OK
    created = SavedReply.objects.exclude(pk__in=before)
    assert created.count() == (1 if response.status_code == 302 else 0)
    reply = created.first() or SavedReply.objects.create(account=linked, title="T", text="Tekst")
    assert 1 <= len(reply.text) <= 500
    assert reply.account_id in (None, linked.pk)
    edit = {"title": new_title, "text": new_text, "account": new_account}
    response = client.post(reverse("aftersales:reply_edit", args=[reply.pk]), edit)
    assert response.status_code in POST_OK
    assert client.get(reverse("aftersales:replies")).status_code == 200
    if delete:
        response = client.post(reverse("aftersales:reply_delete", args=[reply.pk]))
        assert response.status_code == 302
        assert not SavedReply.objects.filter(pk=reply.pk).exists()


@SETTINGS
@given(
    kind=st.one_of(st.sampled_from(["rating", "dispute"]), TEXT.filter(lambda s: "/" not in s)),
    assignee=ID,
    undo=st.one_of(st.sampled_from(["", "0", "1"]), TEXT),
    note=LONG,
    next_=NEXT,
    role=st.sampled_from([Role.VIEWER, Role.OPERATOR]),
)
def test_assign_handled_and_note_never_500(
    sim: Any,
    linked: Any,
    client_for: Callable[[Any], Any],
    kind: str,
    assignee: str,
    undo: str,
    note: str,
    next_: str,
    role: Any,
) -> None:
    rating = Rating.objects.filter(account=linked).order_by("pk").first()
    assert rating is not None
    client = client_for(staff_member(_name(), role, linked))
    notes = InboxNote.objects.count()
    pk = rating.pk if kind == "rating" else 2**62
    for name, data in (
        ("assign", {"assignee": assignee, "next": next_}),
        ("handled", {"undo": undo, "next": next_}),
        ("note", {"text": note, "next": next_}),
    ):
        try:
            url = reverse(f"aftersales:{name}", args=[kind, pk])
        except Exception:  # a kind the URL cannot carry: nothing to post
            continue
        response = client.post(url, data)
        assert response.status_code in POST_OK, name
        if response.status_code == 302:
            assert response["Location"].startswith("/"), response["Location"]
            assert not response["Location"].startswith("//")
    added = InboxNote.objects.count() - notes
    assert added in (0, 1)
    if added:
        assert role == Role.OPERATOR
        assert 1 <= len(InboxNote.objects.latest("pk").text) <= 2000


@SETTINGS
@given(
    params=st.dictionaries(
        st.sampled_from(
            [
                "q",
                "account",
                "kind",
                "assigned",
                "overdue",
                "recommended",
                "rate",
                "answered",
                "removal",
                "created_from",
                "created_to",
                "per_page",
                "page",
            ]
        ),
        st.one_of(
            ID,
            st.sampled_from(
                [
                    "rating",
                    "claim",
                    "return",
                    "message",
                    "yes",
                    "no",
                    "on",
                    "2024-02-30",
                    "31.12.2025",
                    "99999-01-01",
                ]
            ),
            st.lists(
                st.sampled_from(["1", "5", "rating", "return", "message", "x", ""]), max_size=3
            ),
        ),
        max_size=6,
    )
)
def test_filters_never_500(
    linked: Any, client_for: Callable[[Any], Any], params: dict[str, Any]
) -> None:
    client = client_for(staff_member(_name(), Role.VIEWER, linked))
    for name in ("aftersales:index", "aftersales:ratings"):
        assert client.get(reverse(name), params).status_code == 200, name
        assert client.get(reverse(name), params, HTTP_HX_REQUEST="true").status_code == 200


@SETTINGS
@given(
    kind=st.sampled_from(["return", "thread"]),
    assignee=ID,
    undo=st.one_of(st.sampled_from(["", "0", "1"]), TEXT),
    note=LONG,
    next_=NEXT,
    role=st.sampled_from([Role.VIEWER, Role.OPERATOR, Role.MANAGER]),
)
def test_actions_on_returns_and_threads_never_500(
    account: Any,
    client_for: Callable[[Any], Any],
    kind: str,
    assignee: str,
    undo: str,
    note: str,
    next_: str,
    role: Any,
) -> None:
    """The inbox's local actions on its new kinds (no Allegro call): a refusal or a clear
    message, never a 500, and nothing stored unless the action was allowed and valid."""
    target = (CustomerReturnFactory if kind == "return" else MessageThreadFactory)(account=account)
    field = "customer_return" if kind == "return" else "thread"
    staff = staff_member(_name(), role, account)
    client = client_for(staff)
    for name, data in (
        ("assign", {"assignee": assignee, "next": next_}),
        ("handled", {"undo": undo, "next": next_}),
        ("note", {"text": note, "next": next_}),
    ):
        response = client.post(reverse(f"aftersales:{name}", args=[kind, target.pk]), data)
        assert response.status_code in POST_OK, name
        if response.status_code == 302:
            assert response["Location"].startswith("/"), response["Location"]
            assert not response["Location"].startswith("//")
    state = InboxState.objects.filter(**{field: target}).first()
    notes = InboxNote.objects.filter(**{field: target})
    if role == Role.VIEWER:
        assert state is None
        assert not notes.exists()
    else:
        assert state is not None
        if state.assignee_id is not None:  # only someone who may work on the account
            assert AccountGrant.objects.filter(
                user_id=state.assignee_id, account=account, role__gte=Role.OPERATOR
            ).exists()
        assert (state.handled_at is not None) == (undo != "1")
        valid = 1 <= len(note.strip()) <= 2000 and "\x00" not in note
        assert notes.count() == (1 if valid else 0)
    assert client.get(reverse("aftersales:index"), {"kind": kind}).status_code == 200
