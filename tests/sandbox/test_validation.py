"""The spec validator itself (in-process): vendor media types, request and response checks."""

from __future__ import annotations

import re
import warnings
from collections.abc import Iterator
from typing import Any

import orjson
import pytest
from werkzeug.datastructures import Headers

from sandbox.config import spec_path
from sandbox.http import V1
from sandbox.validation import SpecRequest, SpecResponse, SpecValidator

pytestmark = pytest.mark.sandbox


@pytest.fixture(scope="module")
def validator() -> SpecValidator:
    checker = SpecValidator(spec_path())
    checker.start()
    return checker


def get(path: str, query: list[tuple[str, str]] | None = None, **path_params: str) -> SpecRequest:
    return SpecRequest(
        method="get",
        path=path,
        query=query or [],
        headers=[("Accept", V1), ("Authorization", "Bearer x")],
        content_type="",
        body=None,
        path_params=path_params,
    )


def response(body: object, status: int = 200, media: str = V1) -> SpecResponse:
    return SpecResponse(
        status_code=status,
        content_type=media,
        headers=Headers([("Content-Type", media)]),
        data=orjson.dumps(body),
    )


def test_a_valid_vendor_json_response_passes(validator: SpecValidator) -> None:
    me = {
        "id": "1",
        "login": "x",
        "baseMarketplace": {"id": "allegro-pl"},
        "company": {"name": None, "taxId": None},
    }
    assert validator.response_errors(get("/me"), response(me)) == []


def test_a_wrong_field_type_is_reported_with_its_path(validator: SpecValidator) -> None:
    errors = validator.response_errors(get("/me"), response({"id": 1}))
    assert errors
    assert "at id" in errors[0]


def test_an_undeclared_status_is_reported(validator: SpecValidator) -> None:
    assert validator.response_errors(get("/me"), response({}, status=418))


def test_a_wrong_media_type_is_reported(validator: SpecValidator) -> None:
    assert validator.response_errors(get("/me"), response({"id": "1"}, media="application/json"))


def test_request_parameters_are_checked(validator: SpecValidator) -> None:
    assert validator.request_errors(get("/sale/offers", [("limit", "20")])) == []
    errors = validator.request_errors(get("/sale/offers", [("limit", "5000")]))
    assert "limit" in errors[0]


def test_path_parameters_are_checked(validator: SpecValidator) -> None:
    good = get(
        "/order/checkout-forms/29738e61-7f6a-11e8-ac45-09db60ede9d6",
        id="29738e61-7f6a-11e8-ac45-09db60ede9d6",
    )
    assert validator.request_errors(good) == []


def test_known_quirk_empty_checkout_forms_page_is_tolerated(validator: SpecValidator) -> None:
    empty = {"checkoutForms": [], "count": 0, "totalCount": 0}
    assert validator.response_errors(get("/order/checkout-forms"), response(empty)) == []


def test_accept_language_outside_the_declared_enum_is_not_a_violation(
    validator: SpecValidator,
) -> None:
    """The fulfillment change declares only ``en-US``; Allegro answers ``pl-PL`` too."""
    form_id = "29738e61-7f6a-11e8-ac45-09db60ede9d6"

    def put(language: str, body: dict[str, object]) -> SpecRequest:
        return SpecRequest(
            method="put",
            path=f"/order/checkout-forms/{form_id}/fulfillment",
            query=[],
            headers=[("Accept", V1), ("Content-Type", V1), ("Accept-Language", language)],
            content_type=V1,
            body=orjson.dumps(body),
            path_params={"id": form_id},
        )

    for language in ("en-US", "pl-PL", "pl", "pl-PL,pl;q=0.9"):
        assert validator.request_errors(put(language, {"status": "PROCESSING"})) == []
    errors = validator.request_errors(put("pl", {"status": "LOST"}))
    assert len(errors) == 1
    assert "at status" in errors[0]


def test_a_remembered_result_is_the_same_result_and_any_other_byte_is_checked_again() -> None:
    checker = SpecValidator(spec_path())  # its own memo: the module's validator has others
    checker.start()
    bad = response({"id": 1})
    first = checker.response_errors(get("/me"), bad)
    assert first
    assert "at id" in first[0]
    # the same answer again: remembered, with the same violation (not a pass)
    assert checker.response_errors(get("/me"), response({"id": 1})) == first
    assert checker.memo_hits == 1
    # one byte more, another status, another path, a declared header: checked, not remembered
    assert "at id" in checker.response_errors(get("/me"), response({"id": 12}))[0]
    assert checker.response_errors(get("/me"), response({"id": 1}, status=599))
    assert checker.response_errors(get("/sale/offers"), response({"id": 1})) == []  # valid there
    with_header = response({"id": 1})
    with_header.headers.add("Retry-After", "1")
    checker.response_errors(get("/me"), with_header)
    assert checker.memo_hits == 1
    # requests: the same parameters remembered, a changed one checked again
    wrong = [("limit", "x")]
    req_first = checker.request_errors(get("/sale/offers", wrong))
    assert req_first
    assert checker.request_errors(get("/sale/offers", wrong)) == req_first
    assert checker.memo_hits == 2
    assert checker.request_errors(get("/sale/offers", [("limit", "10")])) == []
    assert checker.memo_hits == 2


def test_undeclared_headers_do_not_split_the_memo() -> None:
    checker = SpecValidator(spec_path())
    checker.start()
    for trace in ("a", "b"):
        ok = response({"id": "1", "login": "x", "baseMarketplace": {"id": "allegro-pl"}})
        ok.headers.add("X-Simulator-Trace", trace)  # declared nowhere in the spec
        checker.response_errors(get("/me"), ok)
    assert checker.memo_hits == 1


def test_remembered_paths_still_tell_operations_and_unknown_paths_apart(
    validator: SpecValidator,
) -> None:
    """The path finder remembers what it found per method and URL: each URL keeps its own
    operation (and so its own schema), and a URL the spec lacks is reported every time."""
    from sandbox.validation import RememberingPathFinder

    for login in ("x", "y"):  # new bodies: the validator's own memo does not answer round two
        me = {"id": "1", "login": login, "baseMarketplace": {"id": "allegro-pl"}}
        assert validator.response_errors(get("/me"), response(me)) == []
        # the same body at a checkout form's URL is checked against the form's schema
        form_errors = " ".join(
            validator.response_errors(get("/order/checkout-forms/7", id="7"), response(me))
        )
        assert "'buyer' is a required property" in form_errors
        unknown = " ".join(validator.request_errors(get("/no/such/path", [("q", login)])))
        assert "no/such/path" in unknown
    found = RememberingPathFinder._found
    assert any(key[2:] == ("get", "https://api.allegro.pl/me") for key in found)
    assert not any("no/such/path" in key[3] for key in found)


def test_formats_are_checked_by_one_shared_format_checker(validator: SpecValidator) -> None:
    """Every schema validator gets the same format checker (no deep copy per parameter or body),
    and formats are still checked with it: a date-time query parameter that is not one fails,
    another request after it with a valid one passes."""
    from sandbox.validation import RequestValidator, ResponseValidator

    forms = "/order/checkout-forms"
    assert validator.request_errors(get(forms, [("updatedAt.gte", "yesterday")]))
    assert validator.request_errors(get(forms, [("updatedAt.gte", "2026-12-01T10:00:00Z")])) == []
    assert validator.request_errors(get(forms, [("lineItems.boughtAt.lte", "2026-13-45")]))
    for factory in (
        RequestValidator.schema_validators_factory,
        ResponseValidator.schema_validators_factory,
    ):
        assert factory.get_format_checker() is factory.get_format_checker()
        assert "date-time" in factory.get_format_checker().checkers


def _operations(document: dict[str, Any]) -> Iterator[tuple[str, str, list[dict[str, Any]]]]:
    """Every operation of the spec: method, path template, its parameters ($refs resolved)."""

    def resolved(node: dict[str, Any]) -> dict[str, Any]:
        while "$ref" in node:
            target: Any = document
            for part in node["$ref"].lstrip("#/").split("/"):
                target = target[part]
            node = target
        return node

    for template, item in document["paths"].items():
        shared = [resolved(p) for p in item.get("parameters", [])]
        for method, operation in item.items():
            if method in {"get", "put", "post", "delete", "patch"}:
                own = [resolved(p) for p in operation.get("parameters", [])]
                yield method, template, own + shared


def _sample(param: dict[str, Any]) -> str:
    schema = param.get("schema", {})
    items = schema.get("items", {})
    for candidate in (schema.get("enum"), items.get("enum")):
        if candidate:
            return str(candidate[0])
    kind = schema.get("type") or items.get("type")
    return {"integer": "2", "number": "2.5", "boolean": "true"}.get(kind, "abc")


def test_planned_parameters_give_openapi_cores_answer_for_every_operation() -> None:
    """The parameter plan (``RequestValidator._get_parameters``) reports exactly what
    openapi-core's own request validator reports, for every operation of Allegro's spec: with
    no query parameter, with every query parameter sent with a fitting value, and with every one
    sent as text that fits few schemas."""
    from openapi_core import Config, OpenAPI
    from openapi_core.deserializing.media_types.util import json_loads

    from sandbox.spec import spec_document
    from sandbox.validation import VENDOR_TYPES, RequestValidator, describe, load_openapi

    path = spec_path()
    document = spec_document(path)
    ours = load_openapi(path)
    stock = OpenAPI.from_dict(
        document,
        config=Config(
            spec_validator_cls=None,
            extra_media_type_deserializers=dict.fromkeys(VENDOR_TYPES, json_loads),
        ),
    )
    compared = with_errors = 0
    for method, template, params in _operations(document):
        url = re.sub(r"\{[^}]+\}", "1", template)
        path_params = {p["name"]: "1" for p in params if p.get("in") == "path"}
        query = [p for p in params if p.get("in") == "query"]
        for sent in (
            [],
            [(p["name"], _sample(p)) for p in query],
            [(p["name"], "x;") for p in query],
        ):
            request = SpecRequest(
                method=method,
                path=url,
                query=sent,
                headers=[("Accept", V1), ("Authorization", "Bearer x"), ("Content-Type", V1)],
                content_type=V1,
                body=b"{}" if method in {"put", "post", "patch"} else None,
                path_params=path_params,
            )
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")  # openapi-core's on deprecated parameters
                found = sorted(describe(e) for e in ours.iter_request_errors(request))  # type: ignore[arg-type]
                expected = sorted(describe(e) for e in stock.iter_request_errors(request))  # type: ignore[arg-type]
            assert found == expected, (method, template, sent)
            compared += 1
            with_errors += bool(expected)
    print(f"{compared} requests compared, {with_errors} with errors")
    assert compared > 600
    assert 0 < with_errors < compared
    validator = ours.request_validator
    assert isinstance(validator, RequestValidator)
    assert validator._plans  # the plan was what answered


def _paths(node: Any, at: tuple[Any, ...] = ()) -> Iterator[tuple[Any, ...]]:
    if isinstance(node, dict):
        for key, value in node.items():
            yield (*at, key)
            yield from _paths(value, (*at, key))
    elif isinstance(node, list):
        for index, value in enumerate(node):
            yield (*at, index)
            yield from _paths(value, (*at, index))


def _mutated(body: Any, where: tuple[Any, ...], how: int) -> Any:
    copy = orjson.loads(orjson.dumps(body))
    parent = copy
    for step in where[:-1]:
        parent = parent[step]
    if how == 0 and isinstance(parent, dict):
        del parent[where[-1]]
    else:
        parent[where[-1]] = [12345, "x", None, [], {}, -1.5][how % 6]
    return copy


def test_inlined_refs_give_openapi_cores_answer_for_real_and_broken_responses(api: Any) -> None:
    """Schemas checked with their ``$ref``s inlined (``RefInliner``) report exactly what
    openapi-core's own response validator reports: for real answers of the simulator and for
    each of them broken in 40 places (a field removed, or given a value of another type)."""
    import random

    from openapi_core import Config, OpenAPI
    from openapi_core.deserializing.media_types.util import json_loads

    from sandbox.spec import spec_document
    from sandbox.validation import VENDOR_TYPES, RefInliner, describe, load_openapi

    path = spec_path()
    ours = load_openapi(path)
    stock = OpenAPI.from_dict(
        spec_document(path),
        config=Config(
            spec_validator_cls=None,
            extra_media_type_deserializers=dict.fromkeys(VENDOR_TYPES, json_loads),
        ),
    )
    rng = random.Random(7)
    compared = broken = 0
    for url in (
        "/order/checkout-forms?limit=5",
        "/sale/offers?limit=5",
        "/sale/user-ratings?limit=5",
        "/order/events?limit=5",
        "/me",
    ):
        answer = api.get(url)
        assert answer.status_code == 200, url
        body = answer.json()
        every = list(_paths(body))
        variants = [body] + [_mutated(body, rng.choice(every), rng.randrange(6)) for _ in range(40)]
        for variant in variants:
            plain, _, query = url.partition("?")
            request = get(plain, [tuple(q.split("=")) for q in query.split("&") if q])  # type: ignore[misc]
            sent = response(variant)
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                found = [describe(e) for e in ours.iter_response_errors(request, sent)]  # type: ignore[arg-type]
                expected = [describe(e) for e in stock.iter_response_errors(request, sent)]  # type: ignore[arg-type]
            assert found == expected, (url, variant)
            compared += 1
            broken += bool(expected)
    print(f"{compared} responses compared, {broken} with errors")
    assert 0 < broken < compared
    assert RefInliner._by_spec  # the inlined schemas were what answered
