"""Drive the Allegro simulator's consent page without a browser (``make demo`` and the tests).

``approve(http, authorize_url, seller_login=...)`` loads the page Allegro's ``/authorize`` shows,
picks the seller by login, presses "Approve" (or "Deny") and returns where the simulator sends
the browser next: the back-office's redirect URI with ``code`` + ``state`` (or ``error``).
Only for the local simulator; real Allegro asks a person to sign in.
"""

from __future__ import annotations

from html.parser import HTMLParser
from urllib.parse import urljoin

import httpx


class ConsentPageError(Exception):
    pass


class _ConsentForm(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.action = ""
        self.hidden: dict[str, str] = {}
        self.sellers: dict[str, str] = {}  # login -> seller id
        self._radio: str | None = None

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        data = {k: v or "" for k, v in attrs}
        if tag == "form" and not self.action:
            self.action = data.get("action", "")
        if tag != "input":
            return
        if data.get("type") == "hidden":
            self.hidden[data.get("name", "")] = data.get("value", "")
        elif data.get("type") == "radio" and data.get("name") == "seller_id":
            self._radio = data.get("value", "")

    def handle_data(self, data: str) -> None:
        if self._radio is not None and data.strip():
            self.sellers[data.strip()] = self._radio
            self._radio = None


def approve(
    http: httpx.Client, authorize_url: str, *, seller_login: str, decision: str = "approve"
) -> str:
    """Submit the consent form; returns the ``Location`` the simulator redirects to."""
    page = http.get(authorize_url)
    if page.status_code != 200:
        raise ConsentPageError(f"consent page answered {page.status_code}")
    form = _ConsentForm()
    form.feed(page.text)
    if not form.action:
        raise ConsentPageError("no consent form on the page")
    seller_id = form.sellers.get(seller_login)
    if seller_id is None:
        raise ConsentPageError(
            f"seller {seller_login!r} is not offered; known: {list(form.sellers)}"
        )
    answer = http.post(
        urljoin(str(page.url), form.action),
        data={**form.hidden, "seller_id": seller_id, "decision": decision},
    )
    location = answer.headers.get("location")
    if answer.status_code not in (302, 303) or not location:
        raise ConsentPageError(f"consent form answered {answer.status_code} without a redirect")
    return str(location)
