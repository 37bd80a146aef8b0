"""The environment of a worker process the mirror tests start: this test's database and Redis,
the simulator as Allegro."""

from __future__ import annotations

import os
from typing import Any

from tests.conftest import worker_redis_url


def simulator_worker_env(sim: Any, **extra: str) -> dict[str, str]:
    from django.db import connection

    db = connection.settings_dict
    return {
        **os.environ,
        "DATABASE_URL": f"postgres://{db['USER']}@{db['HOST']}:{db['PORT']}/{db['NAME']}",
        "REDIS_URL": worker_redis_url(),
        "ALLEGRO_ENVIRONMENT": "simulator",
        "ALLEGRO_API_URL": sim.url,
        "ALLEGRO_AUTH_URL": sim.auth_url,
        "ALLEGRO_CLIENT_ID": sim.client_id,
        "ALLEGRO_CLIENT_SECRET": sim.client_secret,
        "ALLEGRO_REDIRECT_URI": sim.redirect_uri,
        **extra,
    }
