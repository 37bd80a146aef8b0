"""Disputes, claims, return policies and warranties against the simulator over real HTTP: a
reply with a PDF that the simulator's chat then holds, a closed chat's 409 as a clear message, a
claim accepted with a partial refund, a return policy created, edited (a 422 on its field),
copied to a second account and deleted; warranties mirrored. Plus the permission matrix, query
bounds and generated input for every form."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from accounts.models import AuditLogEntry, Role
from aftersales.models import Dispute, ImpliedWarranty, ReturnPolicy, Warranty
from tests.factories import DisputeFactory, UserFactory, staff_member
from tests.mirror.conftest import drive
from tests.plugins.allegro_accounts import OTHER_SELLER_LOGIN, SELLER_LOGIN

pytestmark = pytest.mark.django_db(transaction=False)

PDF = b"%PDF-1.4\n1 0 obj <<>> endobj\ntrailer <<>>\n%%EOF\n"
BETA = {"Accept": "application/vnd.allegro.beta.v1+json"}


@pytest.fixture
def linked(sim: Any, link_account: Callable[..., Any]) -> Any:
    sim.control("POST", "/reset", {"seed": {"sellers": 2, "offers": 10, "orders": 30, "seed": 7}})
    account = link_account(SELLER_LOGIN)
    drive(account, "issues")
    drive(account, "return_policies")
    return account


def _new_issue(sim: Any, account: Any, kind: str) -> Dispute:
    doc = sim.control(
        "POST",
        f"/sellers/{account.allegro_user_id}/issues",
        {"type": kind, "text": "Paczka przyszła uszkodzona, co teraz?"},
    )
    drive(account, "issues")
    return Dispute.objects.get(account=account, allegro_id=doc["id"])


def test_reply_with_a_pdf_reaches_the_chat_on_allegro(
    sim: Any, linked: Any, client_for: Callable[[Any], Any], api: Any
) -> None:
    dispute = _new_issue(sim, linked, "DISPUTE")
    client = client_for(staff_member("olga", Role.OPERATOR, linked))
    response = client.post(
        reverse("aftersales:dispute_reply", args=[dispute.pk]),
        {
            "text": "Przesyłamy protokół szkody.",
            "type": "REGULAR",
            "attachments": [SimpleUploadedFile("protokol.pdf", PDF, "application/pdf")],
        },
    )
    assert response.status_code == 302, response.content.decode()[:2000]
    chat = api.get(f"/sale/issues/{dispute.allegro_id}/chat", headers=BETA).json()["chat"]
    mine = [m for m in chat if m["author"]["role"] == "SELLER"]
    assert mine[0]["text"] == "Przesyłamy protokół szkody."
    assert [a["fileName"] for a in mine[0]["attachments"]] == ["protokol.pdf"]
    # the mirror holds it, and the file downloads through this server, not from Allegro
    page = client.get(reverse("aftersales:dispute", args=[dispute.pk])).content.decode()
    assert "Przesyłamy protokół szkody." in page
    assert "protokol.pdf" in page
    message = dispute.messages.get(text="Przesyłamy protokół szkody.")
    got = client.get(reverse("aftersales:dispute_attachment", args=[dispute.pk, message.pk, 0]))
    assert got.status_code == 200
    assert got.content == PDF
    assert got["Content-Type"] == "application/pdf"
    assert "Bearer" not in str(got.headers)
    entry = AuditLogEntry.objects.get(
        action="dispute.reply", target=f"dispute:{dispute.allegro_id}"
    )
    assert entry.allegro_trace_id


def test_a_closed_chat_answers_with_a_clear_message(
    sim: Any, linked: Any, client_for: Callable[[Any], Any]
) -> None:
    dispute = _new_issue(sim, linked, "DISPUTE")
    sim.control("POST", f"/issues/{dispute.allegro_id}/status", {"status": "DISPUTE_CLOSED"})
    client = client_for(staff_member("olga", Role.OPERATOR, linked))
    response = client.post(
        reverse("aftersales:dispute_reply", args=[dispute.pk]),
        {"text": "Halo?", "type": "REGULAR"},
    )
    assert response.status_code == 422
    assert "czat jest zamknięty" in response.content.decode()


def test_file_checks_before_any_request(
    sim: Any, linked: Any, client_for: Callable[[Any], Any], sim_stats: Any
) -> None:
    dispute = _new_issue(sim, linked, "DISPUTE")
    client = client_for(staff_member("olga", Role.OPERATOR, linked))
    fake = SimpleUploadedFile("wirus.pdf", b"MZ\x90\x00not a pdf", "application/pdf")
    response = client.post(
        reverse("aftersales:dispute_reply", args=[dispute.pk]),
        {"text": "", "type": "REGULAR", "attachments": [fake]},
    )
    assert response.status_code == 422
    claim_only = client.post(
        reverse("aftersales:dispute_reply", args=[dispute.pk]),
        {"text": "Zwrot niepotrzebny", "type": "RETURN_NOT_REQUIRED"},
    )
    assert claim_only.status_code == 422
    assert not dispute.messages.filter(author_role="SELLER").exists()


def test_claim_accepted_with_a_partial_refund(
    sim: Any, linked: Any, client_for: Callable[[Any], Any], api: Any
) -> None:
    claim = _new_issue(sim, linked, "CLAIM")
    assert claim.status == "CLAIM_SUBMITTED"
    url = reverse("aftersales:dispute_decide", args=[claim.pk])
    data = {
        "decision": "ACCEPTED_PARTIAL_REFUND",
        "message": "Zwracamy część kwoty.",
        "refund": "12,50",
        "currency": "PLN",
    }
    operator = client_for(staff_member("olga", Role.OPERATOR, linked))
    assert operator.post(url, {**data, "confirm": "on"}).status_code == 403
    manager = client_for(staff_member("manny", Role.MANAGER, linked))
    assert manager.post(url, data).status_code == 422  # not confirmed
    assert manager.post(url, {**data, "refund": "", "confirm": "on"}).status_code == 422
    assert manager.post(url, {**data, "confirm": "on"}).status_code == 302
    on_allegro = api.get(f"/sale/issues/{claim.allegro_id}", headers=BETA).json()
    assert on_allegro["currentState"]["status"] == "CLAIM_ACCEPTED"
    claim.refresh_from_db()
    assert claim.status == "CLAIM_ACCEPTED"
    entry = AuditLogEntry.objects.get(action="claim.decision")
    assert entry.after["refund"] == "12.50 PLN"
    assert (entry.after["refund_amount"], entry.after["refund_currency"]) == ("12.50", "PLN")
    assert entry.allegro_trace_id


POLICY = {
    "name": "Zwroty 30 dni",
    "range": "FULL",
    "withdrawal_days": "30",
    "return_cost_by": "BUYER",
    "address_name": "Sklep Kowalski",
    "address_street": "Magazynowa 5",
    "address_post_code": "00-950",
    "address_city": "Warszawa",
    "address_country": "PL",
    "email": "zwroty@example.com",
    "opt_business_return": "on",
}


def test_return_policy_created_edited_copied_and_deleted(
    sim: Any,
    linked: Any,
    link_account: Callable[..., Any],
    client_for: Callable[[Any], Any],
    api: Any,
) -> None:
    second = link_account(OTHER_SELLER_LOGIN)
    client = client_for(staff_member("manny", Role.MANAGER, linked, second))
    response = client.post(reverse("aftersales:policy_create", args=[linked.pk]), POLICY)
    assert response.status_code == 302, response.content.decode()[:3000]
    policy = ReturnPolicy.objects.get(account=linked, name="Zwroty 30 dni")
    doc = api.get(f"/after-sales-service-conditions/return-policies/{policy.allegro_id}").json()
    assert doc["withdrawalPeriod"] == "P30D"
    assert doc["options"]["businessReturnAllowed"] is True

    edit = reverse("aftersales:policy", args=[policy.pk])
    bad = client.post(edit, {**POLICY, "address_post_code": "00950"})
    assert bad.status_code == 422
    assert 'data-testid="error-address_post_code"' in bad.content.decode()
    assert client.post(edit, {**POLICY, "withdrawal_days": "21"}).status_code == 302
    doc = api.get(f"/after-sales-service-conditions/return-policies/{policy.allegro_id}").json()
    assert doc["withdrawalPeriod"] == "P21D"

    copied = client.post(
        reverse("aftersales:policy_copy", args=[policy.pk]),
        {"targets": [second.pk], "confirm": "on"},
    )
    assert copied.status_code == 302
    twin = ReturnPolicy.objects.get(account=second, name="Zwroty 30 dni")
    assert twin.withdrawal_period == "P21D"

    assert client.post(reverse("aftersales:policy_delete", args=[policy.pk]), {}).status_code == 302
    assert ReturnPolicy.objects.filter(pk=policy.pk).exists()  # not confirmed
    response = client.post(
        reverse("aftersales:policy_delete", args=[policy.pk]), {"confirm": "yes"}
    )
    assert response.status_code == 302
    gone = api.get(f"/after-sales-service-conditions/return-policies/{policy.allegro_id}")
    assert gone.status_code == 404
    actions = set(AuditLogEntry.objects.values_list("action", flat=True))
    assert {
        "return_policy.create",
        "return_policy.update",
        "return_policy.copy",
        "return_policy.delete",
    } <= actions
    assert not AuditLogEntry.objects.filter(
        action__startswith="return_policy.", allegro_trace_id__in=["", None]
    ).exists()


def test_warranties_are_mirrored_and_listed(linked: Any, client_for: Callable[[Any], Any]) -> None:
    drive(linked, "warranties")
    assert Warranty.objects.filter(account=linked).exists()
    implied = ImpliedWarranty.objects.filter(account=linked).first()
    assert implied is not None
    assert implied.address
    viewer = client_for(staff_member("vera", Role.VIEWER, linked))
    page = viewer.get(reverse("aftersales:warranties")).content.decode()
    assert implied.name in page


# --- permission matrix (factory data, no Allegro call) -----------------------------------------


def test_dispute_pages_matrix(
    client: Any, client_for: Callable[[Any], Any], alice: Any, bob: Any, charlie: Any, account: Any
) -> None:
    dispute = DisputeFactory(account=account, status="CLAIM_SUBMITTED", type="CLAIM", messages=2)
    message = dispute.messages.first()
    urls = {
        "list": reverse("aftersales:disputes"),
        "detail": reverse("aftersales:dispute", args=[dispute.pk]),
        "file": reverse("aftersales:dispute_attachment", args=[dispute.pk, message.pk, 5]),
    }
    for url in urls.values():
        assert client.get(url).status_code == 302  # anonymous: to the login page
    assert client_for(bob).get(urls["detail"]).status_code == 404
    assert client_for(bob).get(urls["file"]).status_code == 404
    assert dispute.subject not in client_for(bob).get(urls["list"]).content.decode()
    viewer = client_for(charlie)
    page = viewer.get(urls["detail"]).content.decode()
    assert 'data-testid="reply-form"' not in page
    assert 'data-testid="decision-form"' not in page
    assert viewer.get(urls["file"]).status_code == 404  # no such attachment, but readable
    reply = reverse("aftersales:dispute_reply", args=[dispute.pk])
    decide = reverse("aftersales:dispute_decide", args=[dispute.pk])
    assert viewer.post(reply, {"text": "x", "type": "REGULAR"}).status_code == 403
    assert client_for(bob).post(reply, {"text": "x", "type": "REGULAR"}).status_code == 404
    operator = client_for(alice)  # alice operates ``account``
    page = operator.get(urls["detail"]).content.decode()
    assert 'data-testid="reply-form"' in page
    assert 'data-testid="decision-form"' not in page
    data = {"decision": "REJECTED_OTHER", "message": "Nie", "currency": "PLN", "confirm": "on"}
    assert operator.post(decide, data).status_code == 403
    assert client_for(bob).post(decide, data).status_code == 404


def test_policy_pages_matrix(
    client: Any, client_for: Callable[[Any], Any], alice: Any, bob: Any, charlie: Any, account: Any
) -> None:
    from django.utils import timezone

    policy = ReturnPolicy.objects.create(
        account=account,
        allegro_id="p-1",
        name="Tylko moja",
        synced_at=timezone.now(),
        availability="FULL",
        withdrawal_period="P14D",
        return_cost_covered_by="BUYER",
    )
    detail = reverse("aftersales:policy", args=[policy.pk])
    create = reverse("aftersales:policy_create", args=[account.pk])
    posts = [
        detail,
        reverse("aftersales:policy_delete", args=[policy.pk]),
        reverse("aftersales:policy_copy", args=[policy.pk]),
    ]
    for url in (reverse("aftersales:policies"), reverse("aftersales:warranties"), detail, create):
        assert client.get(url).status_code == 302
    assert client_for(bob).get(detail).status_code == 404
    assert client_for(bob).get(create).status_code == 404
    assert "Tylko moja" not in client_for(bob).get(reverse("aftersales:policies")).content.decode()
    for url in posts:
        assert client_for(bob).post(url, {"confirm": "yes"}).status_code == 404
    for who in (charlie, alice):  # viewer and operator read; only managers change
        staff = client_for(who)
        page = staff.get(detail).content.decode()
        assert "Tylko moja" in page
        assert 'data-testid="policy-save"' not in page
        assert staff.get(create).status_code == 403
        assert staff.post(create, POLICY).status_code == 403
        assert staff.post(detail, POLICY).status_code == 403
        assert staff.post(posts[1], {"confirm": "yes"}).status_code == 403
    assert ReturnPolicy.objects.filter(pk=policy.pk).exists()


def test_list_and_detail_queries_do_not_grow(
    client_for: Callable[[Any], Any], alice: Any, account: Any, django_assert_max_num_queries: Any
) -> None:
    first = DisputeFactory(account=account, status="DISPUTE_ONGOING", messages=2)
    client = client_for(alice)
    client.get(reverse("aftersales:disputes"))
    with django_assert_max_num_queries(10):
        client.get(reverse("aftersales:disputes"))
    with django_assert_max_num_queries(14):
        client.get(reverse("aftersales:dispute", args=[first.pk]))
    with django_assert_max_num_queries(10):
        client.get(reverse("aftersales:policies"))
    big = DisputeFactory(account=account, status="DISPUTE_ONGOING", messages=50)
    for _ in range(30):
        DisputeFactory(account=account, status="CLAIM_SUBMITTED", type="CLAIM", messages=3)
    with django_assert_max_num_queries(10):
        page = client.get(reverse("aftersales:disputes") + "?per_page=50&waiting=yes").content
    assert page.decode().count('data-testid="dispute-row"') == 30
    with django_assert_max_num_queries(14):
        detail = client.get(reverse("aftersales:dispute", args=[big.pk])).content.decode()
    assert detail.count('data-testid="chat-message"') == 50


# --- generated input ---------------------------------------------------------------------------

SETTINGS = settings(
    max_examples=25,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
TEXT = st.one_of(
    st.text(st.characters(exclude_categories=["Cs"]), max_size=60),
    st.sampled_from(["", " ", "Zwroty", "x" * 201, "00-950", "\x00abc", "P14D"]),
)
NUMBER = st.one_of(
    st.integers(min_value=-(10**6), max_value=10**6).map(str),
    st.sampled_from(["", "14", "13", "365", "366", "1,5", "NaN", "9" * 40, "-0"]),
    TEXT,
)


def _no_500(sim_stats: Any) -> None:
    statuses = sim_stats()["statuses"]
    assert not any(int(code) >= 500 for code in statuses), statuses


@SETTINGS
@given(
    name=TEXT,
    range_=st.one_of(st.sampled_from(["FULL", "RESTRICTED", "DISABLED"]), TEXT),
    cause=st.one_of(st.sampled_from(["", "CUSTOM_ITEM", "ALCOHOL"]), TEXT),
    days=NUMBER,
    cost=st.one_of(st.sampled_from(["", "SELLER", "BUYER"]), TEXT),
    street=TEXT,
    code=TEXT,
    city=TEXT,
    country=st.one_of(st.sampled_from(["PL", "CZ", "SK", "HU"]), TEXT),
    email=TEXT,
    phone=TEXT,
)
def test_policy_form_never_500s(
    linked: Any, client_for: Callable[[Any], Any], sim_stats: Any, **values: str
) -> None:
    manager = staff_member(f"m{UserFactory._meta.model.objects.count()}", Role.MANAGER, linked)
    data = {
        "name": values["name"],
        "range": values["range_"],
        "restriction_cause": values["cause"],
        "withdrawal_days": values["days"],
        "return_cost_by": values["cost"],
        "address_name": "Sklep",
        "address_street": values["street"],
        "address_post_code": values["code"],
        "address_city": values["city"],
        "address_country": values["country"],
        "email": values["email"],
        "phone": values["phone"],
    }
    response = client_for(manager).post(reverse("aftersales:policy_create", args=[linked.pk]), data)
    assert response.status_code in (302, 422)
    _no_500(sim_stats)


@SETTINGS
@given(
    text=st.one_of(TEXT, st.just("y" * 20001)),
    kind=st.one_of(st.sampled_from(["REGULAR", "END_REQUEST", "RETURN_NOT_REQUIRED"]), TEXT),
    decision=st.one_of(st.sampled_from(["ACCEPTED_PARTIAL_REFUND", "REJECTED_OTHER"]), TEXT),
    refund=NUMBER,
    currency=st.one_of(st.sampled_from(["PLN", "EUR"]), TEXT),
    confirm=st.booleans(),
)
def test_dispute_forms_never_500(
    sim: Any,
    linked: Any,
    client_for: Callable[[Any], Any],
    sim_stats: Any,
    text: str,
    kind: str,
    decision: str,
    refund: str,
    currency: str,
    confirm: bool,
) -> None:
    dispute = Dispute.objects.filter(account=linked, type="DISPUTE").first()
    claim = Dispute.objects.filter(account=linked, type="CLAIM").first()
    assert dispute is not None
    assert claim is not None
    manager = staff_member(f"m{UserFactory._meta.model.objects.count()}", Role.MANAGER, linked)
    client = client_for(manager)
    response = client.post(
        reverse("aftersales:dispute_reply", args=[dispute.pk]), {"text": text, "type": kind}
    )
    assert response.status_code in (302, 422)
    data = {"decision": decision, "message": text, "refund": refund, "currency": currency}
    if confirm:
        data["confirm"] = "on"
    response = client.post(reverse("aftersales:dispute_decide", args=[claim.pk]), data)
    assert response.status_code in (302, 422)
    _no_500(sim_stats)
