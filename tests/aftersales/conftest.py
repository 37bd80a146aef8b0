"""After-sales tests: browser flows poll faster (``tests/polling.py``)."""

from tests.polling import browser_polls_fast  # noqa: F401 (autouse: browser pages poll faster)
