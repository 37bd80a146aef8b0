"""Loading stored after-sales documents (issues, ratings, …) by id, or answering 404."""

from __future__ import annotations

from typing import Any

from sandbox.http import ApiError
from sandbox.state import State


def doc_or_404(
    state: State, *, kind: str, id_: str, seller_id: str | None, what: str, path: str
) -> dict[str, Any]:
    """The document, when it exists (and belongs to ``seller_id`` when given)."""
    doc = state.store.doc_get(kind=kind, id_=id_, seller_id=seller_id)
    if doc is None:
        raise ApiError(404, "NOT_FOUND", f"{what} {id_} not found", path=path)
    return doc


def seller_of_doc(state: State, *, kind: str, id_: str, what: str) -> str:
    """The seller a document belongs to (for the control plane, which names no seller)."""
    seller = state.store.scalar(
        "SELECT seller_id FROM documents WHERE kind = ? AND id = ?", (kind, id_)
    )
    if seller is None:
        raise ApiError(404, "NOT_FOUND", f"{what} {id_} not found")
    return str(seller)
