"""``manage.py demo``: everything ``make demo`` needs, in one process.

Runs a list of steps, then waits on the child processes the steps started (the Allegro
simulator, the web server and a Celery worker with beat). Each step is a function taking the
:class:`DemoContext`, and may call ``ctx.spawn`` to start a child process.

Stopping: every child runs in its own process group (so a terminal's Ctrl-C reaches only this
command, once). From the first step on, SIGINT, SIGTERM and SIGHUP stop the demo: each child's
leader gets SIGTERM, last started first and each once the ones started after it have ended (the
Celery worker shuts down warm, finishing its running tasks while the simulator still answers and
putting back the messages it had not started), and whatever is still alive after
``STOP_TIMEOUT`` seconds in all, or when a second signal arrives, is killed with SIGKILL. Once a
leader has exited, whatever is left in its group (pool processes, embedded beat) is killed too,
so no child outlives the demo. On Linux each leader also gets SIGTERM if this process dies
without cleaning up (``PR_SET_PDEATHSIG``).
"""

from __future__ import annotations

import contextlib
import ctypes
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from django.conf import settings
from django.core.management import call_command
from django.core.management.base import BaseCommand, CommandError, CommandParser

from backoffice.demo import step_link_accounts, step_simulator, step_simulator_seed

DEMO_EMAIL = "demo@example.com"
DEMO_PASSWORD = "allegro-demo-2026"
STOP_TIMEOUT = 20.0  # seconds the children get in all to stop after the first SIGTERM
STOP_SIGNALS = (signal.SIGINT, signal.SIGTERM, signal.SIGHUP)


class StopDemo(KeyboardInterrupt):
    """Raised in the main thread by SIGINT/SIGTERM/SIGHUP."""


def _raise_stop(signum: int, frame: object) -> None:
    raise StopDemo(signal.Signals(signum).name)


def _die_with_parent() -> None:
    """In the child, before exec: SIGTERM when the demo process dies (Linux only)."""
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(1, signal.SIGTERM)  # PR_SET_PDEATHSIG
    except (OSError, AttributeError):
        pass


@dataclass
class DemoContext:
    command: BaseCommand
    options: dict[str, Any]
    env: dict[str, str] = field(default_factory=lambda: dict(os.environ))
    children: list[tuple[str, subprocess.Popen[bytes]]] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    def say(self, message: str) -> None:
        self.command.stdout.write(message)

    def spawn(
        self, name: str, argv: list[str], *, env: dict[str, str] | None = None
    ) -> subprocess.Popen[bytes]:
        """Start a child in its own process group so Ctrl-C is handled by us, once.

        ``env`` adds to (or overrides) :attr:`env` for this child only.
        """
        self.say(f"starting {name}: {' '.join(argv)}")
        process = subprocess.Popen(  # noqa: S603 - argv built from our own constants
            argv,
            env={**self.env, **(env or {})},
            cwd=settings.BASE_DIR,
            start_new_session=True,
            preexec_fn=_die_with_parent if sys.platform == "linux" else None,
        )
        self.children.append((name, process))
        return process


DemoStep = Callable[[DemoContext], None]


def step_migrate(ctx: DemoContext) -> None:
    ctx.say("applying migrations…")
    call_command("migrate", interactive=False, verbosity=0)


def step_schedules(ctx: DemoContext) -> None:
    call_command("setup_schedules", verbosity=0)  # the mirror's beat entries (idempotent)


def step_demo_staff(ctx: DemoContext) -> None:
    from accounts.models import User

    email = ctx.options["email"]
    user, created = User.objects.get_or_create(
        email=email, defaults={"username": email.split("@")[0]}
    )
    user.is_staff = True
    user.is_superuser = True
    user.is_active = True
    # Only when it changed: a new password hash would sign out every session of the demo staff
    # (Django ties sessions to it), and a restart must keep people signed in.
    if not user.check_password(ctx.options["password"]):
        user.set_password(ctx.options["password"])
    user.save()
    ctx.notes.append(f"Demo staff sign-in: {email} / {ctx.options['password']}")
    ctx.say(("created" if created else "updated") + f" demo staff {email}")


def port_is_free(host: str, port: int) -> bool:
    """Whether a server could listen on ``host:port`` now (as runserver binds: SO_REUSEADDR)."""
    family = socket.AF_INET6 if ":" in host.strip("[]") else socket.AF_INET
    with socket.socket(family, socket.SOCK_STREAM) as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind((host.strip("[]"), port))
        except OSError:
            return False
    return True


def step_web(ctx: DemoContext) -> None:
    address = f"{ctx.options['host']}:{ctx.options['port']}"
    if not port_is_free(ctx.options["host"], int(ctx.options["port"])):
        raise CommandError(
            f"{address} is already in use (an earlier demo still running?); "
            "stop it or choose another port with --port."
        )
    # --skip-checks: this command ran the system checks when it started (BaseCommand), and
    # stops on an error; a second run in the child would only cost its start-up time.
    argv = [sys.executable, "manage.py", "runserver", address, "--noreload", "--skip-checks"]
    ctx.spawn("web", argv)
    ctx.notes.append(f"Back-office: http://{address}/")


def step_worker(ctx: DemoContext) -> None:
    argv = [sys.executable, "-m", "celery", "-A", "backoffice", "worker", "-B"]
    argv += ["--loglevel", "INFO", "--concurrency", "2", "--without-mingle", "--without-gossip"]
    argv += ["--schedule", str(settings.VAR_DIR / "celerybeat-schedule")]
    # Celery's Django fixup runs the system checks again at start-up (and only prints them);
    # this command already ran them.
    ctx.spawn("worker", argv, env={"CELERY_SKIP_CHECKS": "1"})


# Ordered so that the slow starts overlap: the simulator comes up while migrations are applied
# here, and the web server starts (as soon as the schema is there) while the beat entries and the
# demo staff are written and the simulator is seeded. The worker starts only once the simulator
# answers and holds its sellers (the mirror's first runs talk to it), and the beat entries exist.
STEPS: list[DemoStep] = [
    step_simulator,  # backoffice/demo.py: start the Allegro simulator (no waiting)
    step_migrate,
    step_web,
    step_schedules,
    step_demo_staff,
    step_simulator_seed,  # backoffice/demo.py: wait for the simulator, seed it when empty
    step_worker,
    step_link_accounts,  # backoffice/demo.py: link two simulated sellers through the real flow
]


class Command(BaseCommand):
    help = "Run the product locally: migrate, create demo staff, start web + Celery worker/beat."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--host", default="127.0.0.1")
        parser.add_argument("--port", default="8000")
        parser.add_argument("--email", default=DEMO_EMAIL)
        parser.add_argument("--password", default=DEMO_PASSWORD)
        parser.add_argument(
            "--no-serve",
            action="store_true",
            help="Run the setup steps only; do not start any process.",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        ctx = DemoContext(command=self, options=options)
        steps = STEPS
        if options["no_serve"]:
            steps = [step for step in STEPS if step not in (step_web, step_worker)]
        previous = {sig: signal.signal(sig, _raise_stop) for sig in STOP_SIGNALS}
        try:
            for step in steps:
                step(ctx)
            self._announce(ctx)
            if ctx.children:
                self._wait(ctx)
        except KeyboardInterrupt:
            self.stdout.write("stopping…")
        finally:
            self._stop(ctx)
            for sig, handler in previous.items():
                signal.signal(sig, handler)

    def _announce(self, ctx: DemoContext) -> None:
        self.stdout.write("")
        for note in ctx.notes:
            self.stdout.write(self.style.SUCCESS(note))
        if ctx.children:
            self.stdout.write("Press Ctrl-C to stop.")

    def _wait(self, ctx: DemoContext) -> None:
        while True:
            for name, process in ctx.children:
                if process.poll() is not None:
                    self.stderr.write(f"{name} exited with code {process.returncode}; stopping.")
                    return
            time.sleep(0.5)

    def _stop(self, ctx: DemoContext) -> None:
        """SIGTERM each leader, last started first; SIGKILL what is left after STOP_TIMEOUT.

        One at a time, each once the children started after it have ended: the worker finishes
        (or puts back) its tasks while the simulator and web server it talks to still answer,
        instead of failing them and retrying against a simulator that is gone.
        """
        hurry: list[int] = []  # a second signal while stopping: kill at once
        for sig in STOP_SIGNALS:
            signal.signal(sig, lambda signum, frame: hurry.append(signum))
        deadline = time.monotonic() + STOP_TIMEOUT
        asked: set[int] = set()
        for _, process in reversed(ctx.children):
            if process.poll() is None:
                process.send_signal(signal.SIGTERM)
                asked.add(process.pid)
            while process.poll() is None and not hurry and time.monotonic() <= deadline:
                time.sleep(0.05)
            if process.poll() is None:
                break
        running = [(name, p) for name, p in reversed(ctx.children) if p.poll() is None]
        for name, process in running:
            if process.pid in asked:
                why = "a second signal" if hurry else f"{STOP_TIMEOUT:.0f} s"
                self.stderr.write(f"{name} did not stop ({why}); killing it.")
            else:
                self.stderr.write(f"killing {name} as well.")
            _kill_group(process.pid)
        for _, process in running:
            process.wait()
        for _, process in ctx.children:
            _kill_group(process.pid)  # leftovers of a leader that has exited (pool, beat)
        if ctx.children:
            self.stdout.write("stopped.")


def _kill_group(pgid: int) -> None:
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(pgid, signal.SIGKILL)
