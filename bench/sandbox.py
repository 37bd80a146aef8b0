"""Simulator benchmark: seed time, start-up time, RSS and requests/s of the two hot list endpoints.

    .venv/bin/python bench/sandbox.py [--sellers 3 --offers 100000 --orders 100000 --seconds 10]

Seeds a temporary data dir with the CLI (timed), starts ``python -m sandbox serve`` without
validation, then drives ``GET /sale/offers?limit=1000`` and ``GET /order/checkout-forms?limit=100``
from a second process (a bounded loop per endpoint) and prints a table.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from sandbox.http import V1  # noqa: E402
from sandbox.testing import free_port  # noqa: E402

LOAD = r"""
import sys, time, httpx
url, token, path = sys.argv[1], sys.argv[2], sys.argv[3]
seconds, cap = float(sys.argv[4]), int(sys.argv[5])
headers = {"Authorization": "Bearer " + token, "Accept": "application/vnd.allegro.public.v1+json"}
with httpx.Client(base_url=url, headers=headers, timeout=30) as client:
    client.get(path).raise_for_status()
    done, size, start = 0, 0, time.perf_counter()
    while done < cap and time.perf_counter() - start < seconds:
        response = client.get(path)
        response.raise_for_status()
        size = len(response.content)
        done += 1
    elapsed = time.perf_counter() - start
print(done, elapsed, size)
"""


def cpu_seconds(pid: int) -> float:
    """utime + stime of ``pid`` (load-independent cost of what it did)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def children_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def rss_mb(pid: int) -> tuple[float, float]:
    """(current, peak) resident set size of ``pid`` in MB."""
    fields = {}
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        key, _, value = line.partition(":")
        fields[key] = value.strip()
    return int(fields["VmRSS"].split()[0]) / 1024, int(fields["VmHWM"].split()[0]) / 1024


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--sellers", type=int, default=3)
    parser.add_argument("--offers", type=int, default=100_000)
    parser.add_argument("--orders", type=int, default=100_000)
    parser.add_argument("--seconds", type=float, default=10.0, help="time budget per endpoint")
    parser.add_argument("--max-requests", type=int, default=5000, help="request cap per endpoint")
    args = parser.parse_args()

    data_dir = Path(tempfile.mkdtemp(prefix="sandbox-bench-"))
    rows: list[tuple[str, str, str]] = []
    server: subprocess.Popen[bytes] | None = None
    try:
        started = time.perf_counter()
        cpu_before = children_cpu()
        seeded = subprocess.run(
            [
                sys.executable,
                "-m",
                "sandbox",
                "seed",
                "--data-dir",
                str(data_dir),
                "--sellers",
                str(args.sellers),
                "--offers",
                str(args.offers),
                "--orders",
                str(args.orders),
                "--reset",
            ],
            cwd=REPO,
            check=True,
            capture_output=True,
            text=True,
        )
        seed_seconds = time.perf_counter() - started
        seed_cpu = children_cpu() - cpu_before
        result = json.loads(seeded.stdout.strip().splitlines()[-1])
        size_mb = (data_dir / "sandbox.sqlite3").stat().st_size / 1024 / 1024
        rows.append(
            (
                "seed",
                f"{args.sellers} sellers x {args.offers} offers + {args.orders} orders",
                f"{seed_seconds:.1f} s wall, {seed_cpu:.1f} s CPU (target < 60 s); "
                f"{result['offers']} offers, "
                f"{result['orders']} orders, db {size_mb:.0f} MB",
            )
        )

        port = free_port()
        started = time.perf_counter()
        server = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "sandbox",
                "serve",
                "--port",
                str(port),
                "--data-dir",
                str(data_dir),
            ],
            cwd=REPO,
        )
        url = f"http://127.0.0.1:{port}"
        while True:
            try:
                if httpx.get(f"{url}/__sandbox__/health", timeout=1).status_code == 200:
                    break
            except httpx.TransportError:
                time.sleep(0.02)
        rows.append(
            (
                "start-up",
                "serve until /__sandbox__/health answers",
                f"{time.perf_counter() - started:.2f} s (target < 3 s)",
            )
        )
        token = httpx.post(f"{url}/__sandbox__/tokens", json={"seller_id": "10000001"}).json()[
            "access_token"
        ]
        httpx.put(f"{url}/__sandbox__/faults", json={"rate_limit": {"enabled": False}})
        cpu_mark = cpu_seconds(server.pid)
        for path, target in (
            ("/sale/offers?limit=1000", 50),
            ("/order/checkout-forms?limit=100", 200),
        ):
            out = subprocess.run(
                [
                    sys.executable,
                    "-c",
                    LOAD,
                    url,
                    token,
                    path,
                    str(args.seconds),
                    str(args.max_requests),
                ],
                check=True,
                capture_output=True,
                text=True,
            ).stdout.split()
            done, elapsed, size = int(out[0]), float(out[1]), int(out[2])
            server_cpu = cpu_seconds(server.pid) - cpu_mark
            cpu_mark = cpu_seconds(server.pid)
            rate = done / elapsed
            verdict = "ok" if rate >= target else "BELOW TARGET"
            rows.append(
                (
                    f"GET {path}",
                    f"{done} requests, {size / 1024:.0f} KiB each",
                    f"{rate:.0f} req/s (target >= {target}) {verdict}; "
                    f"server CPU {1000 * server_cpu / done:.1f} ms/request",
                )
            )
        current, peak = rss_mb(server.pid)
        rows.append(
            (
                "server RSS",
                "after the load",
                f"{current:.0f} MB now, {peak:.0f} MB peak (target <= 500 MB)",
            )
        )
        check = httpx.get(f"{url}/me", headers={"Authorization": f"Bearer {token}", "Accept": V1})
        assert check.status_code == 200
    finally:
        if server is not None:
            server.terminate()
            server.wait(timeout=10)
        shutil.rmtree(data_dir, ignore_errors=True)

    load = ", ".join(f"{x:.1f}" for x in os.getloadavg())
    rows.append(
        ("machine", f"{os.cpu_count()} CPUs", f"load average {load} (other work skews wall times)")
    )
    width = [max(len(r[i]) for r in rows) for i in range(3)]
    print(f"{'measure':<{width[0]}} | {'what':<{width[1]}} | result")
    print(f"{'-' * width[0]}-+-{'-' * width[1]}-+-{'-' * width[2]}")
    for name, what, value in rows:
        print(f"{name:<{width[0]}} | {what:<{width[1]}} | {value}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
