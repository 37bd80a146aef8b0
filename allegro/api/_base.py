"""Shared pieces of the API modules: the traced result base and small parsers."""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from typing import Any

from allegro.errors import UnexpectedResponse
from allegro.transport import ApiResponse
from allegro.values import dig as dig
from allegro.values import parse_amount as parse_amount
from allegro.values import parse_time as parse_time
from allegro.values import text as text

JsonDict = dict[str, Any]
CENT = Decimal("0.01")


@dataclass(frozen=True, kw_only=True)
class Traced:
    """Every top-level result keeps Allegro's trace id (for the audit log) and the raw document."""

    trace_id: str | None = None
    raw: JsonDict = field(default_factory=dict, repr=False, compare=False)


@dataclass(frozen=True, kw_only=True)
class Money:
    amount: Decimal
    currency: str

    @classmethod
    def parse(cls, data: Any) -> Money | None:
        if not isinstance(data, dict) or data.get("amount") is None:
            return None
        try:
            amount = Decimal(str(data["amount"]))
        except InvalidOperation:
            return None
        if not amount.is_finite():
            return None
        return cls(amount=amount, currency=str(data.get("currency") or "PLN"))

    @property
    def rounded(self) -> Decimal:
        """The amount in grosze (two decimal places), as the mirror stores it."""
        return self.amount.quantize(CENT)

    def as_json(self) -> JsonDict:
        return {"amount": f"{self.amount:.2f}", "currency": self.currency}


def body(response: ApiResponse) -> JsonDict:
    data = response.json()
    if not isinstance(data, dict):
        raise UnexpectedResponse(
            f"expected a JSON object, got {type(data).__name__}",
            status=response.status,
            trace_id=response.trace_id,
        )
    return data


def opt_str(value: Any) -> str | None:
    return None if value is None else str(value)


def opt_int(value: Any) -> int | None:
    """An integer as Allegro sent it (``None`` for anything else, booleans included)."""
    return value if isinstance(value, int) and not isinstance(value, bool) else None


def opt_bool(value: Any) -> bool | None:
    return value if isinstance(value, bool) else None


def obj(value: Any) -> JsonDict | None:
    """``value`` when it is a JSON object, else ``None``."""
    return value if isinstance(value, dict) else None


def items(data: Any, key: str) -> list[JsonDict]:
    value = data.get(key) if isinstance(data, dict) else None
    return [v for v in value if isinstance(v, dict)] if isinstance(value, list) else []
