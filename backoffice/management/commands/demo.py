"""``manage.py demo``: everything ``make demo`` needs, in one process.

Runs a list of steps, then waits on the child processes the steps started (the web server and a
Celery worker with beat) and stops them cleanly on Ctrl-C. Later work adds steps to ``STEPS``
(start the Allegro simulator, seed it, link accounts): each step is a function taking the
:class:`DemoContext`, and may call ``ctx.spawn`` to start a child process.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from django.conf import settings
from django.core.management import call_command
from django.core.management.base import BaseCommand, CommandParser

from accounts.demo import step_link_accounts, step_simulator

DEMO_EMAIL = "demo@example.com"
DEMO_PASSWORD = "allegro-demo-2026"


@dataclass
class DemoContext:
    command: BaseCommand
    options: dict[str, Any]
    env: dict[str, str] = field(default_factory=lambda: dict(os.environ))
    children: list[tuple[str, subprocess.Popen[bytes]]] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    def say(self, message: str) -> None:
        self.command.stdout.write(message)

    def spawn(self, name: str, argv: list[str]) -> subprocess.Popen[bytes]:
        """Start a child in its own process group so Ctrl-C is handled by us, once."""
        self.say(f"starting {name}: {' '.join(argv)}")
        process = subprocess.Popen(  # noqa: S603 - argv built from our own constants
            argv, env=self.env, cwd=settings.BASE_DIR, start_new_session=True
        )
        self.children.append((name, process))
        return process


DemoStep = Callable[[DemoContext], None]


def step_migrate(ctx: DemoContext) -> None:
    ctx.say("applying migrations…")
    call_command("migrate", interactive=False, verbosity=0)
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
    user.set_password(ctx.options["password"])
    user.save()
    ctx.notes.append(f"Demo staff sign-in: {email} / {ctx.options['password']}")
    ctx.say(("created" if created else "updated") + f" demo staff {email}")


def step_web(ctx: DemoContext) -> None:
    address = f"{ctx.options['host']}:{ctx.options['port']}"
    ctx.spawn("web", [sys.executable, "manage.py", "runserver", address, "--noreload"])
    ctx.notes.append(f"Back-office: http://{address}/")


def step_worker(ctx: DemoContext) -> None:
    argv = [sys.executable, "-m", "celery", "-A", "backoffice", "worker", "-B"]
    argv += ["--loglevel", "INFO", "--concurrency", "2", "--without-mingle", "--without-gossip"]
    argv += ["--schedule", str(settings.VAR_DIR / "celerybeat-schedule")]
    ctx.spawn("worker", argv)


STEPS: list[DemoStep] = [
    step_migrate,
    step_demo_staff,
    step_simulator,  # accounts/demo.py: start + seed the Allegro simulator
    step_web,
    step_worker,
    step_link_accounts,  # accounts/demo.py: link two simulated sellers through the real flow
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

    def _announce(self, ctx: DemoContext) -> None:
        self.stdout.write("")
        for note in ctx.notes:
            self.stdout.write(self.style.SUCCESS(note))
        if ctx.children:
            self.stdout.write("Press Ctrl-C to stop.")

    def _wait(self, ctx: DemoContext) -> None:
        signal.signal(signal.SIGTERM, _raise_keyboard_interrupt)
        while True:
            for name, process in ctx.children:
                if process.poll() is not None:
                    self.stderr.write(f"{name} exited with code {process.returncode}; stopping.")
                    return
            time.sleep(0.5)

    def _stop(self, ctx: DemoContext) -> None:
        for _, process in reversed(ctx.children):
            if process.poll() is None:
                process.terminate()  # the leader shuts down its own pool/threads
        for name, process in reversed(ctx.children):
            try:
                process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.stderr.write(f"{name} did not stop in 15 s; killing it.")
                os.killpg(process.pid, signal.SIGKILL)
                process.wait()


def _raise_keyboard_interrupt(signum: int, frame: object) -> None:
    raise KeyboardInterrupt
