"""The pattern that decides which requests of a browser test go through the offline guard:
every URL the guard would block matches it, so it narrows the guard's work and never its reach.
(That the guard blocks and records what it sees is ``tests/test_browser.py``'s to prove.)"""

from __future__ import annotations

import pytest

from tests.conftest import NON_LOCAL_URL, is_local_url


@pytest.mark.parametrize(
    "url",
    [
        "https://a.allegroimg.com/x.png",
        "https://fonts.googleapis.com/css?family=Lato",
        "http://localhost.example.com/",
        "http://127.0.0.1.nip.io:8000/static/x.js",
        "http://127.0.0.2/",
        "http://[::2]/",
        "ws://example.com/socket",
    ],
)
def test_every_url_leaving_the_machine_goes_through_the_guard(url: str) -> None:
    assert not is_local_url(url)
    assert NON_LOCAL_URL.search(url)


@pytest.mark.parametrize(
    "url",
    [
        "http://127.0.0.1:41234/static/js/htmx.min.js",
        "http://localhost:8000/orders/?page=2",
        "http://[::1]:8000/",
        "http://127.0.0.1:8000",
        "http://localhost#top",
        "data:image/png;base64,iVBORw0KGgo=",
        "blob:http://127.0.0.1:8000/0b8c",
        "about:blank",
        "chrome-extension://mhjfbmdgcfjbbpaeojofohoefgiehjai/index.html",
    ],
)
def test_local_urls_skip_the_guard(url: str) -> None:
    assert is_local_url(url)
    assert not NON_LOCAL_URL.search(url)
