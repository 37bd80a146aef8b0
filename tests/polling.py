"""Browser flows poll faster: ``UI_POLL_SCALE`` 0.25 (a page's ``every 2s`` is ``every 500ms``)
for every test that runs the live server, so a flow that waits for a job, a refund or a message
to show up is not waiting out the seconds between two polls. A plugin of the whole suite
(``tests/conftest.py``); pages rendered without a browser keep the templates' intervals."""

from __future__ import annotations

import pytest

BROWSER_POLL_SCALE = 0.25


@pytest.fixture(autouse=True)
def browser_polls_fast(request: pytest.FixtureRequest) -> None:
    if "live_server" in request.fixturenames:
        request.getfixturevalue("settings").UI_POLL_SCALE = BROWSER_POLL_SCALE
