"""Where Allegro's OpenAPI spec comes from (the simulator's ``--validate`` and the tests).

The spec is never committed. In order:

1. ``ALLEGRO_OPENAPI_PATH``, when set (relative to the repository root); it must be readable.
2. ``../shared/allegro/openapi.yaml`` beside the repository, when present.
3. ``var/allegro-openapi.yaml``, downloaded earlier, when it still matches the sha256 recorded
   beside it (``var/allegro-openapi.yaml.sha256``, ``sha256sum`` format).
4. Allegro's published spec (``ALLEGRO_OPENAPI_URL``, default
   https://developer.allegro.pl/swagger.yaml), downloaded into ``var/`` with its sha256 recorded.

``python -m sandbox spec`` runs this and prints the path (``make spec``; ``make test`` needs it).
When none of them gives a spec, :class:`SpecUnavailable` says what was tried and how to fix it.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import pickle
import sys
import tempfile
from pathlib import Path
from typing import Any, ClassVar

REPO_ROOT = Path(__file__).resolve().parent.parent
SHARED_SPEC = REPO_ROOT.parent / "shared" / "allegro" / "openapi.yaml"
CACHED_SPEC = REPO_ROOT / "var" / "allegro-openapi.yaml"
PUBLISHED_URL = "https://developer.allegro.pl/swagger.yaml"
PATH_ENV = "ALLEGRO_OPENAPI_PATH"
URL_ENV = "ALLEGRO_OPENAPI_URL"
DOWNLOAD_TIMEOUT = 60.0


class SpecUnavailable(Exception):
    """No readable spec; the message names what was tried and what to do."""


def _checksum_file(path: Path) -> Path:
    return path.with_name(path.name + ".sha256")


def _sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def spec_check(path: Path) -> None:
    """Raise :class:`SpecUnavailable` unless ``path`` is a readable file that looks like a spec.

    Cheap (reads the first KiB): parsing the whole spec takes seconds and happens later.
    """
    try:
        with path.open("rb") as fh:
            head = fh.read(1024)
    except OSError as exc:
        raise SpecUnavailable(f"cannot read Allegro's OpenAPI spec at {path}: {exc}") from exc
    if b"openapi" not in head and b"swagger" not in head:
        raise SpecUnavailable(
            f"{path} does not look like an OpenAPI document (no 'openapi' in its first KiB)"
        )


def _from_env() -> Path | None:
    raw = os.environ.get(PATH_ENV, "").strip()
    if not raw:
        return None
    path = Path(raw)
    return path if path.is_absolute() else (REPO_ROOT / path).resolve()


def _cached_ok(path: Path) -> bool:
    checksum = _checksum_file(path)
    try:
        recorded = checksum.read_text().split()[0]
        return _sha256(path.read_bytes()) == recorded
    except (OSError, IndexError):
        return False


def spec_locate() -> Path | None:
    """The spec a run would use without downloading anything, or None."""
    from_env = _from_env()
    if from_env is not None:
        return from_env  # explicit: used (and checked) even if it is missing
    if SHARED_SPEC.is_file():
        return SHARED_SPEC.resolve()
    if CACHED_SPEC.is_file() and _cached_ok(CACHED_SPEC):
        return CACHED_SPEC
    return None


def _write_atomically(path: Path, data: bytes) -> None:
    """``path`` holds ``data`` or what it held before, never part of it (its folder is made)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, temp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.")
    with os.fdopen(fd, "wb") as fh:
        fh.write(data)
    os.replace(temp, path)


def spec_download(*, url: str, target: Path) -> Path:
    """Download ``url`` into ``target`` atomically and record its sha256 beside it."""
    import httpx

    try:
        response = httpx.get(url, timeout=DOWNLOAD_TIMEOUT, follow_redirects=True)
        response.raise_for_status()
    except httpx.HTTPError as exc:
        raise SpecUnavailable(
            f"no Allegro OpenAPI spec: {PATH_ENV} is not set, {SHARED_SPEC} does not exist, "
            f"and downloading {url} failed ({type(exc).__name__}: {exc}). Set {PATH_ENV} to a "
            f"copy of Allegro's spec, or allow access to {url}."
        ) from exc
    data = response.content
    _write_atomically(target, data)
    _write_atomically(_checksum_file(target), f"{_sha256(data)}  {target.name}\n".encode())
    spec_check(target)
    return target


def spec_resolve(*, download: bool = True) -> Path:
    """The spec to validate against (see the module docstring); checked to be readable."""
    found = spec_locate()
    if found is not None:
        if found == _from_env() and not found.is_file():
            raise SpecUnavailable(f"{PATH_ENV} is {found}, which does not exist")
        spec_check(found)
        return found
    url = os.environ.get(URL_ENV, "").strip() or PUBLISHED_URL
    if not download:
        raise SpecUnavailable(
            f"no Allegro OpenAPI spec: {PATH_ENV} is not set, {SHARED_SPEC} does not exist and "
            f"{CACHED_SPEC} has not been downloaded (run `make spec` to fetch {url})."
        )
    return spec_download(url=url, target=CACHED_SPEC)


# Parsing the spec's YAML costs about 0.8 s of CPU, in every process that validates (each
# simulator, each test worker): the parsed document is kept as a pickle in ``var/spec-cache/``,
# named by the sha256 of the spec's bytes (and the parser's version), and read back in ~15 ms.
# A changed spec has another name; a cache that cannot be written (a read-only checkout) is
# skipped. The pickle is read back by an unpickler that builds nothing but the plain types YAML
# gives (dict, list, str, numbers, dates), so a file planted there cannot run code.
SPEC_CACHE_DIR = REPO_ROOT / "var" / "spec-cache"
_SPEC_CACHE_FORMAT = 1


class _DocumentUnpickler(pickle.Unpickler):
    ALLOWED: ClassVar[frozenset[tuple[str, str]]] = frozenset(
        {
            ("datetime", "date"),
            ("datetime", "datetime"),
            ("datetime", "timezone"),
            ("datetime", "timedelta"),
        }
    )

    def find_class(self, module: str, name: str) -> Any:
        if (module, name) not in self.ALLOWED:
            raise pickle.UnpicklingError(f"{module}.{name} is not part of a parsed spec")
        return super().find_class(module, name)


def spec_document(path: Path, *, cache_dir: Path | None = None) -> dict[str, Any]:
    """The spec at ``path`` parsed (YAML's safe loader), through the cache described above."""
    import yaml

    data = path.read_bytes()
    folder = SPEC_CACHE_DIR if cache_dir is None else cache_dir
    tag = f"{_SPEC_CACHE_FORMAT}-{yaml.__version__}-{sys.version_info[0]}.{sys.version_info[1]}"
    cached = folder / f"{_sha256(data)}-{tag}.pickle"
    try:
        with cached.open("rb") as fh:
            kept = _DocumentUnpickler(fh).load()
        if isinstance(kept, dict):
            return kept
    except (OSError, pickle.UnpicklingError, EOFError, ValueError):
        pass
    parsed = yaml.load(data, Loader=getattr(yaml, "CSafeLoader", yaml.SafeLoader))  # noqa: S506
    if not isinstance(parsed, dict):
        raise SpecUnavailable(f"{path} is not an OpenAPI document (not a YAML mapping)")
    document: dict[str, Any] = parsed
    with contextlib.suppress(OSError):  # read-only: parsed again next time
        _write_atomically(cached, pickle.dumps(document, protocol=pickle.HIGHEST_PROTOCOL))
    return document
