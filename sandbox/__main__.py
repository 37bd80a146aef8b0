"""Command line: ``python -m sandbox serve|seed|<control command>`` (see docs/simulator.md)."""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path
from typing import Any

from sandbox.config import SandboxConfig, clients_from_env, default_clients, parse_client

DEFAULT_URL = os.environ.get("SANDBOX_URL", "http://127.0.0.1:8765")


def parse_value(raw: str) -> Any:
    try:
        return json.loads(raw)
    except json.JSONDecodeError:
        return raw


def fault_updates(pairs: list[str]) -> dict[str, Any]:
    """``key=value`` pairs; ``rate_limit.limit=600`` sets a nested field."""
    updates: dict[str, Any] = {}
    for pair in pairs:
        key, _, raw = pair.partition("=")
        value = parse_value(raw)
        if "." in key:
            outer, inner = key.split(".", 1)
            updates.setdefault(outer, {})[inner] = value
        else:
            updates[key] = value
    return updates


def build_config(args: argparse.Namespace) -> SandboxConfig:
    clients = [parse_client(c) for c in args.client or []] + clients_from_env()
    if not clients:
        clients = default_clients()
    return SandboxConfig(
        data_dir=Path(args.data_dir),
        host=args.host,
        port=args.port,
        clients={c.client_id: c for c in clients},
        access_ttl=args.access_ttl,
        code_ttl=args.code_ttl,
        validate=args.validate,
        market_rate=args.market_rate,
        operation_delay=args.operation_delay,
        command_delay=args.command_delay,
    )


def cmd_serve(args: argparse.Namespace) -> int:
    import uvicorn

    from sandbox.app import create_app
    from sandbox.spec import SpecUnavailable, spec_resolve
    from sandbox.state import State

    config = build_config(args)
    if config.validate:
        try:
            config.spec_path = spec_resolve()
        except SpecUnavailable as exc:
            print(f"simulator: refusing to start with --validate: {exc}", file=sys.stderr)
            return 2
        from sandbox.validation import SpecValidator

        SpecValidator.fatal_load_errors = True
    state = State.open(config)
    if args.fault:
        state.faults.update(fault_updates(args.fault))
    if args.rate_limit is not None:
        state.faults.rate_limit.limit = args.rate_limit
    if args.rate_window is not None:
        state.faults.rate_limit.window = args.rate_window
    state.fault_baseline = state.faults.as_dict()
    app = create_app(config, state=state)
    uvicorn.run(
        app,
        host=config.host,
        port=config.port,
        log_level=args.log_level,
        access_log=args.access_log,
    )
    return 0


def cmd_spec(args: argparse.Namespace) -> int:
    """Find (or download) Allegro's spec and print its path (``make spec``)."""
    from sandbox.spec import SpecUnavailable, spec_resolve

    try:
        print(spec_resolve(download=not args.no_download))
    except SpecUnavailable as exc:
        print(f"spec: {exc}", file=sys.stderr)
        return 2
    return 0


def cmd_seed(args: argparse.Namespace) -> int:
    from sandbox.seed import SeedOptions, seed
    from sandbox.state import State

    config = SandboxConfig(data_dir=Path(args.data_dir))
    state = State.open(config)
    started = time.perf_counter()
    result = seed(
        state,
        SeedOptions(
            sellers=args.sellers,
            offers=args.offers,
            orders=args.orders,
            seed=args.seed,
            reset=args.reset,
            workers=args.workers,
        ),
    )
    result["seconds"] = round(time.perf_counter() - started, 2)
    print(json.dumps(result))
    return 0


def control(
    args: argparse.Namespace, method: str, path: str, body: dict[str, Any] | None = None
) -> int:
    import httpx

    response = httpx.request(
        method, f"{args.url.rstrip('/')}/__sandbox__{path}", json=body, timeout=120
    )
    print(json.dumps(response.json(), indent=2, ensure_ascii=False))
    return 0 if response.is_success else 1


def cmd_control(args: argparse.Namespace) -> int:
    c = args.command
    if c == "reset":
        return control(args, "POST", "/reset")
    if c == "sellers":
        return control(args, "GET", "/sellers")
    if c == "purchase":
        body = {
            "offerIds": args.offer or None,
            "quantity": args.quantity,
            "pay": args.pay,
            "buyerLogin": args.buyer,
        }
        return control(args, "POST", f"/sellers/{args.seller}/purchases", body)
    if c == "pay":
        return control(args, "POST", f"/orders/{args.order}/payment")
    if c == "cancel":
        return control(args, "POST", f"/orders/{args.order}/cancellation")
    if c == "merge":
        return control(args, "POST", "/orders/merge", {"orderIds": args.orders})
    if c == "modify":
        return control(
            args,
            "POST",
            f"/orders/{args.order}/modification",
            {"fulfillmentStatus": args.fulfillment, "note": args.note},
        )
    if c == "faults":
        if args.reset:
            return control(args, "DELETE", "/faults")
        if args.set:
            return control(args, "PUT", "/faults", fault_updates(args.set))
        return control(args, "GET", "/faults")
    if c == "settings":
        if args.set:
            return control(
                args, "PUT", "/settings", {k: v for k, v in fault_updates(args.set).items()}
            )
        return control(args, "GET", "/settings")
    if c == "stats":
        return control(args, "GET", "/stats")
    if c == "violations":
        return control(args, "GET", "/violations")
    if c == "clock":
        return control(args, "POST", "/clock", {"advance": args.advance} if args.advance else {})
    if c == "token":
        return control(args, "POST", "/tokens", {"seller_id": args.seller})
    raise SystemExit(f"unknown command {c}")


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="python -m sandbox", description="Allegro REST API and OAuth simulator"
    )
    sub = p.add_subparsers(dest="command", required=True)

    serve = sub.add_parser("serve", help="run the simulator")
    serve.add_argument("--host", default="127.0.0.1")
    serve.add_argument("--port", type=int, default=8765)
    serve.add_argument("--data-dir", default="var/sandbox")
    serve.add_argument(
        "--client", action="append", help="ID:SECRET:REDIRECT_URI[,URI...] (repeatable)"
    )
    serve.add_argument(
        "--validate", action="store_true", default=os.environ.get("SANDBOX_VALIDATE") == "1"
    )
    serve.add_argument("--access-ttl", type=int, default=43200)
    serve.add_argument("--code-ttl", type=int, default=10)
    serve.add_argument(
        "--market-rate", type=float, default=0.0, help="background purchases per minute"
    )
    serve.add_argument(
        "--operation-delay",
        type=float,
        default=0.0,
        help="seconds a product-offer PATCH stays pending (0: synchronous)",
    )
    serve.add_argument(
        "--command-delay", type=float, default=0.0, help="seconds before batch commands complete"
    )
    serve.add_argument(
        "--fault", action="append", help="fault setting key=value, e.g. error_rate=0.1 (repeatable)"
    )
    serve.add_argument(
        "--rate-limit", type=int, help="requests per window per client id (default 9000)"
    )
    serve.add_argument(
        "--rate-window", type=float, help="rate-limit window in seconds (default 60)"
    )
    serve.add_argument("--log-level", default="warning")
    serve.add_argument("--access-log", action="store_true")
    serve.set_defaults(func=cmd_serve)

    spec = sub.add_parser(
        "spec",
        help="find Allegro's OpenAPI spec (ALLEGRO_OPENAPI_PATH, ../shared, var/) or download it",
    )
    spec.add_argument("--no-download", action="store_true", help="fail instead of downloading")
    spec.set_defaults(func=cmd_spec)

    seed = sub.add_parser("seed", help="build deterministic data in the data dir")
    seed.add_argument("--data-dir", default="var/sandbox")
    seed.add_argument("--sellers", type=int, default=3)
    seed.add_argument("--offers", type=int, default=2000, help="offers per seller")
    seed.add_argument("--orders", type=int, default=5000, help="orders per seller")
    seed.add_argument("--seed", type=int, default=42)
    seed.add_argument("--reset", action="store_true")
    seed.add_argument(
        "--workers",
        type=int,
        default=min(3, os.cpu_count() or 1),
        help="processes building sellers",
    )
    seed.set_defaults(func=cmd_seed)

    def ctl(name: str, help_: str) -> argparse.ArgumentParser:
        sp = sub.add_parser(name, help=help_)
        sp.add_argument("--url", default=DEFAULT_URL)
        sp.set_defaults(func=cmd_control)
        return sp

    ctl("reset", "wipe all data, statistics, faults")
    ctl("sellers", "list simulated sellers")
    sp = ctl("purchase", "a buyer buys from SELLER")
    sp.add_argument("seller")
    sp.add_argument("--offer", action="append")
    sp.add_argument("--quantity", type=int, default=1)
    sp.add_argument("--buyer")
    sp.add_argument("--pay", action="store_true")
    ctl("pay", "the buyer pays ORDER").add_argument("order")
    ctl("cancel", "the buyer cancels ORDER").add_argument("order")
    ctl("merge", "the buyer pays several unpaid ORDERS together").add_argument("orders", nargs="+")
    sp = ctl("modify", "change ORDER on Allegro's side (bumps its revision)")
    sp.add_argument("order")
    sp.add_argument("--fulfillment")
    sp.add_argument("--note")
    sp = ctl("faults", "show or change fault injection")
    sp.add_argument(
        "--set", action="append", help="key=value, e.g. error_rate=0.2 or rate_limit.limit=600"
    )
    sp.add_argument("--reset", action="store_true")
    sp = ctl("settings", "show or change TTLs and delays")
    sp.add_argument("--set", action="append")
    ctl("stats", "request statistics")
    ctl("violations", "spec violations recorded")
    ctl("clock", "show or advance the simulated clock").add_argument("--advance", type=float)
    ctl("token", "mint a token for SELLER").add_argument("seller")
    from sandbox.seed_aftersales import register_cli

    register_cli(ctl, control)
    return p


def main(argv: list[str] | None = None) -> int:
    args = parser().parse_args(argv)
    result: int = args.func(args)
    return result


if __name__ == "__main__":
    sys.exit(main())
