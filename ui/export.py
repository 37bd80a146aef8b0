"""CSV exports of staff reports."""

from __future__ import annotations

from django.utils import formats


def csv_delimiter() -> str:
    """``;`` where the interface writes decimals with a comma (Polish), else ``,``."""
    return ";" if formats.get_format("DECIMAL_SEPARATOR") == "," else ","


def csv_safe(value: str) -> str:
    """Keep spreadsheet programs from running a cell as a formula."""
    return "'" + value if value[:1] in ("=", "+", "-", "@") else value
