"""Spec validation of every request received and response sent (openapi-core 0.23).

The spec is found by ``sandbox/spec.py`` (``ALLEGRO_OPENAPI_PATH``, ``../shared``, or a copy
downloaded into ``var/``) and read once per process (``SpecValidator.start`` loads it on a
background thread while the server boots; the parsed YAML is cached in ``var/spec-cache/`` by
``sandbox.spec.spec_document``). A server that
cannot load it stops (``SpecValidator.fatal_load_errors``, set by ``serve --validate``) rather
than answering every request with 500. Allegro's vendor media types are registered as JSON.
"""

from __future__ import annotations

import hashlib
import os
import sys
import threading
import warnings
from collections import OrderedDict
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, ClassVar

from jsonschema._format import FormatChecker
from jsonschema_path import SchemaPath
from openapi_core import Config, OpenAPI
from openapi_core.datatypes import Parameters, RequestParameters
from openapi_core.deserializing.media_types.util import json_loads
from openapi_core.schema.parameters import get_style
from openapi_core.templating.paths.datatypes import PathOperationServer
from openapi_core.templating.paths.finders import APICallPathFinder
from openapi_core.util import chainiters
from openapi_core.validation.request.exceptions import (
    MissingParameter,
    ParametersError,
    ParameterValidationError,
)
from openapi_core.validation.request.validators import V30RequestValidator
from openapi_core.validation.response.validators import V30ResponseValidator
from openapi_core.validation.schemas.datatypes import FormatValidatorsDict
from openapi_core.validation.schemas.factories import SchemaValidatorsFactory
from openapi_core.validation.schemas.validators import SchemaValidator
from openapi_schema_validator import OAS30ReadValidator, OAS30WriteValidator
from werkzeug.datastructures import Headers, ImmutableMultiDict

from sandbox.http import BETA, V1
from sandbox.spec import spec_document

SERVER = "https://api.allegro.pl"
VENDOR_TYPES = (V1, BETA, "application/vnd.allegro.public.v1 +json")

# Places where the spec contradicts Allegro's documented behaviour; violations matching
# (method, path prefix, text) are not recorded. Each entry says why.
KNOWN_QUIRKS: tuple[tuple[str, str, str], ...] = (
    # CheckoutForms.count/totalCount declare minimum 1, but an empty page (no orders, or a
    # filter matching nothing) is a normal answer with 0.
    ("get", "/order/checkout-forms", "0 is less than the minimum of 1"),
    # MessageRequest.required names `attachment`, but the property is `attachments` and the
    # description says text, attachments or both (API_MAP 13.7).
    ("post", "/sale/issues/", "'attachment' is a required property"),
    # ...and for the same reason `text` is not required when attachments are sent.
    ("post", "/sale/issues/", "'text' is a required property"),
    # PickupCreateRequestDto requires the deprecated pickupDateProposalId although its own
    # description says it is needed only when pickupTime is not given.
    (
        "post",
        "/shipment-management/pickups/create-commands",
        "'pickupDateProposalId' is a required property",
    ),
)

# Request headers whose declared enum lists what Allegro answers in, not what it accepts:
# ``Accept-Language`` is declared as ``en-US`` only on some operations (``pl-PL`` only on
# others), but Allegro answers any language, falling back to English messages. Polish
# integrations send ``pl-PL`` (or ``pl``) everywhere; that is never a violation.
LENIENT_HEADERS: tuple[str, ...] = ("accept-language",)

# How many validation results a validator remembers (see ``SpecValidator``): a few MB.
MEMO_SIZE = 50_000
# Request headers every operation's validation may read besides its declared header parameters.
ALWAYS_READ_HEADERS = frozenset({"authorization", "content-type", "accept"})

_lock = threading.Lock()
_cache: dict[Path, OpenAPI] = {}
_header_names: dict[Path, frozenset[str]] = {}


class RememberingPathFinder(APICallPathFinder):
    """openapi-core's path finder, remembering what it found for a method and URL.

    For every request and every response it checks, openapi-core matches the URL against each
    of the spec's path templates, over 300 of them (a tenth of the simulator's CPU in the test
    suite). The spec does not change while a process runs, so a method and URL always find the
    same path, operation and server; a URL that matches nothing raises as before and is not
    remembered."""

    _found: ClassVar[dict[tuple[int, str | None, str, str], PathOperationServer]] = {}
    _found_lock: ClassVar[threading.Lock] = threading.Lock()

    def find(self, method: str, name: str) -> PathOperationServer:
        key = (id(self.spec), self.base_url, method, name)
        found = self._found.get(key)
        if found is None:
            found = super().find(method, name)
            with self._found_lock:
                if len(self._found) >= MEMO_SIZE:
                    self._found.clear()
                self._found[key] = found
        return found


class SharedFormatCheckerFactory(SchemaValidatorsFactory):
    """openapi-core's schema validator factory, with one format checker instead of a deep copy.

    openapi-core makes a jsonschema validator for every schema it checks (each parameter, each
    body) and gives each a deep copy of the format checker (a twentieth of the simulator's CPU
    in the test suite). The checker only maps format names to functions, and nothing adds one
    here (no custom formats, ``extra_format_validators`` empty: the copy would be changed only by
    them), so every validator of the process can share one."""

    def __init__(self, schema_validator_cls: Any) -> None:
        super().__init__(schema_validator_cls)
        self._shared: FormatChecker | None = None
        self._shared_lock = threading.Lock()

    def get_format_checker(
        self,
        format_validators: FormatValidatorsDict | None = None,
        extra_format_validators: FormatValidatorsDict | None = None,
    ) -> FormatChecker:
        if format_validators is not None or extra_format_validators:
            return super().get_format_checker(format_validators, extra_format_validators)
        with self._shared_lock:
            if self._shared is None:
                self._shared = super().get_format_checker()
            return self._shared

    def create(self, spec: SchemaPath, schema: SchemaPath, *args: Any, **kwargs: Any) -> Any:
        """openapi-core's validator for ``schema``, checking it with its ``$ref``s inlined."""
        made = super().create(spec, schema, *args, **kwargs)
        inlined = RefInliner.of(spec, made.validator._resolver).inline(made.validator.schema)
        return SchemaValidator(schema, made.validator.evolve(schema=inlined))


class RefInliner:
    """A schema with each ``{"$ref": ...}`` replaced by the schema it points to.

    jsonschema looks a ``$ref`` up every time it meets one in an instance (in a page of 100
    orders, 17,000 look-ups: a third of the response check). A node that is nothing but a
    ``$ref`` validates exactly as the schema it names (the same keywords in the same order, the
    same instance paths and messages), so it is replaced by that schema once, when the validator
    is made. A ``$ref`` with sibling keywords, or one met again inside its own expansion (a
    recursive schema), is left for jsonschema to resolve as before, with the resolver of the
    document. Inlined schemas are shared and never changed."""

    # values that are instances or annotations, not schemas: left as they are
    NOT_SCHEMAS: ClassVar[frozenset[str]] = frozenset({"enum", "example", "default", "const"})
    # id(spec) -> (spec, its inliner); the spec is kept so that its id stays its own
    _by_spec: ClassVar[dict[int, tuple[SchemaPath, RefInliner]]] = {}
    _lock: ClassVar[threading.Lock] = threading.Lock()

    def __init__(self, resolver: Any) -> None:
        self.resolver = resolver  # any resolver of the document: its refs are all "#/..."
        self._refs: dict[str, Any] = {}  # ref -> its inlined schema (cycle-free ones)
        self._schemas: dict[int, tuple[Any, Any]] = {}  # id(schema) -> (schema, inlined)

    @classmethod
    def of(cls, spec: SchemaPath, resolver: Any) -> RefInliner:
        """The inliner of ``spec`` (one per spec document)."""
        with cls._lock:
            found = cls._by_spec.get(id(spec))
            if found is None or found[0] is not spec:
                found = cls._by_spec[id(spec)] = (spec, cls(resolver))
            return found[1]

    def inline(self, schema: Any) -> Any:
        found = self._schemas.get(id(schema))
        if found is None or found[0] is not schema:
            found = self._schemas[id(schema)] = (schema, self._inline(schema, ())[0])
        return found[1]

    def _inline(self, node: Any, expanding: tuple[str, ...]) -> tuple[Any, bool]:
        """(the inlined node, whether a recursive ``$ref`` was kept inside it)."""
        if isinstance(node, list):
            items = [self._inline(item, expanding) for item in node]
            return [item for item, _ in items], any(kept for _, kept in items)
        if not isinstance(node, dict):
            return node, False
        ref = node.get("$ref")
        if isinstance(ref, str) and len(node) == 1:
            if ref in expanding:
                return node, True
            if ref in self._refs:
                return self._refs[ref], False
            target, kept = self._inline(self.resolver.lookup(ref).contents, (*expanding, ref))
            if not kept:
                self._refs[ref] = target
            return target, kept
        out: dict[str, Any] = {}
        kept_any = False
        for key, value in node.items():
            if key in self.NOT_SCHEMAS or key.startswith("x-"):
                out[key] = value
                continue
            out[key], kept = self._inline(value, expanding)
            kept_any = kept_any or kept
        return out, kept_any


@dataclass(frozen=True)
class PlannedParameter:
    """One parameter of an operation as ``_get_parameters`` meets it, read from the spec once.

    ``skip_when_absent``: openapi-core's own handling of this parameter, when its name is not in
    the request, ends in ``MissingParameter`` and nothing else (it is optional, has no default,
    has no ``content``, and its style looks the name up as a plain key), so it can be skipped
    without reading the spec again."""

    name: str
    location: str
    skip_when_absent: bool
    spec: SchemaPath


# The styles whose deserializer reads ``location[name]`` (a KeyError when absent); matrix and
# label (``;name``, ``.name``) and deepObject (``name[key]``) look for other keys.
PLAIN_KEY_STYLES = frozenset({"form", "simple", "spaceDelimited", "pipeDelimited"})


class RequestValidator(V30RequestValidator):
    """OpenAPI 3.0 request validation (openapi-core's), sharing one format checker, with each
    operation's parameter list read from the spec once.

    openapi-core walks every parameter an operation declares for every request, resolving the
    spec for each (name, location, style, schema, default): Allegro's list operations declare
    up to 30, and a request sends a few. ``_get_parameters`` here is openapi-core's loop over the
    same parameters in the same order, dropping the same duplicates; a parameter the request
    does not send and that openapi-core would only find missing is skipped from a plan read
    once per operation; every other one (sent, required, defaulted) goes through openapi-core's
    ``_get_parameter`` as before."""

    schema_validators_factory = SharedFormatCheckerFactory(OAS30WriteValidator)

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        # (operation, path item) -> its plan; openapi-core keeps one validator per spec
        self._plans: dict[tuple[tuple[Any, ...], tuple[Any, ...]], list[PlannedParameter]] = {}

    def _plan(self, operation: SchemaPath, path: SchemaPath) -> list[PlannedParameter]:
        key = (tuple(operation.parts), tuple(path.parts))
        plan = self._plans.get(key)
        if plan is None:
            plan = []
            seen: set[tuple[str, str]] = set()
            empty = SchemaPath.from_dict({})
            for param in chainiters(
                operation.get("parameters", empty), path.get("parameters", empty)
            ):
                name = (param / "name").read_str()
                location = (param / "in").read_str()
                if (name, location) in seen:
                    continue
                seen.add((name, location))
                skip = (
                    not (param / "required").read_bool(default=False)
                    and "content" not in param
                    and "default" not in param / "schema"
                    and get_style(param) in PLAIN_KEY_STYLES
                )
                plan.append(PlannedParameter(name, location, skip, param))
            self._plans[key] = plan
        return plan

    def _get_parameters(
        self, parameters: RequestParameters, operation: SchemaPath, path: SchemaPath
    ) -> Parameters:
        errors = []
        validated = Parameters()
        for planned in self._plan(operation, path):
            location = getattr(parameters, planned.location)
            if planned.skip_when_absent and planned.name not in location:
                continue  # what openapi-core's MissingParameter comes to
            try:
                value = self._get_parameter(parameters, planned.spec)
            except MissingParameter:
                continue
            except ParameterValidationError as exc:
                errors.append(exc)
                continue
            getattr(validated, planned.location)[planned.name] = value
        if errors:
            raise ParametersError(errors=errors, parameters=validated)
        return validated


class ResponseValidator(V30ResponseValidator):
    """OpenAPI 3.0 response validation (openapi-core's), sharing one format checker."""

    schema_validators_factory = SharedFormatCheckerFactory(OAS30ReadValidator)


def load_openapi(path: Path) -> OpenAPI:
    """The parsed spec, loaded at most once per process."""
    with _lock:
        if path not in _cache:
            data = spec_document(path)
            # OpenAPI 3.0 (Allegro's spec): the validators sharing a format checker; any other
            # version: openapi-core's own, chosen by the version.
            shared: dict[str, Any] = {}
            if str(data.get("openapi", "")).startswith("3.0"):
                shared = {
                    "request_validator_cls": RequestValidator,
                    "response_validator_cls": ResponseValidator,
                }
            config = Config(
                spec_validator_cls=None,
                path_finder_cls=RememberingPathFinder,
                extra_media_type_deserializers=dict.fromkeys(VENDOR_TYPES, json_loads),
                **shared,
            )
            _cache[path] = OpenAPI.from_dict(data, config=config)
            _header_names[path] = ALWAYS_READ_HEADERS | declared_headers(data)
        return _cache[path]


def declared_headers(node: Any) -> frozenset[str]:
    """Every header name the spec declares anywhere (lower case): header parameters and
    response headers. Over-inclusive on purpose: a name it holds is never ignored."""
    found: set[str] = set()
    stack = [node]
    while stack:
        item = stack.pop()
        if isinstance(item, dict):
            if item.get("in") == "header" and isinstance(item.get("name"), str):
                found.add(item["name"].lower())
            headers = item.get("headers")
            if isinstance(headers, dict):
                found.update(str(name).lower() for name in headers)
            stack.extend(item.values())
        elif isinstance(item, list):
            stack.extend(item)
    return frozenset(found)


@dataclass
class SpecRequest:
    """openapi-core's ``Request`` protocol over a simulator request."""

    method: str
    path: str
    query: list[tuple[str, str]]
    headers: list[tuple[str, str]]
    content_type: str
    body: bytes | None
    path_params: dict[str, str]
    host_url: str = SERVER

    @property
    def parameters(self) -> RequestParameters:
        return RequestParameters(
            query=ImmutableMultiDict(self.query),
            header=Headers(self.headers),
            cookie=ImmutableMultiDict(),
            path=self.path_params,
        )


@dataclass
class SpecResponse:
    status_code: int
    content_type: str
    headers: Headers
    data: bytes | None


def short(text: object, limit: int = 240) -> str:
    value = str(text)
    return value if len(value) <= limit else value[:limit] + "..."


def describe(exc: BaseException) -> str:
    """One line: the exception chain without value dumps, then up to 5 schema errors with paths."""
    parts: list[str] = []
    details: list[str] = []
    current: BaseException | None = exc
    depth = 0
    while current is not None and depth < 4:
        schema_errors = getattr(current, "schema_errors", None)
        if schema_errors:
            parts.append(type(current).__name__)
            for sub in list(schema_errors)[:5]:
                loc = "/".join(str(p) for p in getattr(sub, "absolute_path", ()))
                details.append(f"at {loc or '<root>'}: {short(getattr(sub, 'message', sub), 160)}")
        else:
            parts.append(f"{type(current).__name__}: {short(current, 160)}")
        current = current.__cause__ or current.__context__
        depth += 1
    return " | ".join(parts + details)


class SpecValidator:
    """Validates requests and responses against the spec.

    Results are remembered by everything the validation reads (method, path, query, the headers
    the spec can look at, body; for a response also its status, media type and headers): an
    answer byte-for-byte equal to one already checked (the same page read by a sync and then by
    a test comparing the mirror, a restored snapshot read again) is not checked twice. A
    different byte anywhere is a different key and is validated."""

    # The simulator's server sets this: a spec that cannot be loaded ends the process.
    fatal_load_errors: ClassVar[bool] = False

    def __init__(self, path: Path) -> None:
        self.path = path
        self._ready = threading.Event()
        self._api: OpenAPI | None = None
        self._error: BaseException | None = None
        self._memo: OrderedDict[bytes, list[str]] = OrderedDict()
        self._memo_lock = threading.Lock()
        self.memo_hits = 0

    def start(self) -> None:
        threading.Thread(target=self._load, name="spec-loader", daemon=True).start()

    def _load(self) -> None:
        try:
            self._api = load_openapi(self.path)
        except BaseException as exc:  # surfaced on first use
            self._error = exc
            if self.fatal_load_errors:
                print(
                    f"simulator: cannot load Allegro's OpenAPI spec at {self.path}: "
                    f"{short(exc)}; stopping (--validate needs a readable spec).",
                    file=sys.stderr,
                    flush=True,
                )
                os._exit(2)
        finally:
            self._ready.set()

    @property
    def api(self) -> OpenAPI:
        self._ready.wait()
        if self._api is None:
            raise RuntimeError(f"cannot load the spec at {self.path}: {self._error}")
        return self._api

    def request_errors(self, request: SpecRequest) -> list[str]:
        key = self._key(
            b"request",
            request.method,
            request.path,
            sorted(request.query),
            self._read_headers(request.headers),
            request.body,
        )
        found = self._remembered(key)
        if found is None:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                found = [describe(e) for e in self.api.iter_request_errors(request)]  # type: ignore[arg-type]
            found = [e for e in found if not is_quirk(request, e) and not is_lenient_header(e)]
            self._remember(key, found)
        return found

    def response_errors(self, request: SpecRequest, response: SpecResponse) -> list[str]:
        # openapi-core finds the operation by the request's method and path alone
        key = self._key(
            b"response",
            request.method,
            request.path,
            response.status_code,
            response.content_type,
            self._read_headers(response.headers.items()),
            response.data,
        )
        found = self._remembered(key)
        if found is None:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                found = [describe(e) for e in self.api.iter_response_errors(request, response)]  # type: ignore[arg-type]
            found = [e for e in found if not is_quirk(request, e)]
            self._remember(key, found)
        return found

    def _read_headers(self, headers: Iterable[tuple[str, str]]) -> list[tuple[str, str]]:
        self.api  # noqa: B018 - waits for the spec (and its header names) to be loaded
        names = _header_names.get(self.path, frozenset())
        return sorted((k.lower(), v) for k, v in headers if k.lower() in names)

    @staticmethod
    def _key(kind: bytes, *parts: Any) -> bytes:
        digest = hashlib.blake2b(kind, digest_size=20)
        for part in parts:
            data = b"b" + part if isinstance(part, bytes) else b"r" + repr(part).encode()
            digest.update(len(data).to_bytes(8, "big"))
            digest.update(data)
        return digest.digest()

    def _remembered(self, key: bytes) -> list[str] | None:
        with self._memo_lock:
            found = self._memo.get(key)
            if found is not None:
                self._memo.move_to_end(key)
                self.memo_hits += 1
                return list(found)
            return None

    def _remember(self, key: bytes, found: list[str]) -> None:
        with self._memo_lock:
            self._memo[key] = list(found)
            while len(self._memo) > MEMO_SIZE:
                self._memo.popitem(last=False)


def is_lenient_header(error: str) -> bool:
    head = error.split(" | ", 1)[0].lower()
    return any(head.endswith(f"invalid header parameter: {name}") for name in LENIENT_HEADERS)


def is_quirk(request: SpecRequest, error: str) -> bool:
    if "|" not in error:
        return False
    details = [part for part in error.split(" | ") if part.startswith("at ")]
    return bool(details) and all(
        any(
            request.method == method and request.path.startswith(prefix) and text in detail
            for method, prefix, text in KNOWN_QUIRKS
        )
        for detail in details
    )


def violation(
    *, kind: str, method: str, path: str, status: int | None, errors: list[str]
) -> dict[str, Any]:
    return {"kind": kind, "method": method, "path": path, "status": status, "errors": errors}
