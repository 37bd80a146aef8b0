"""The parsed spec is kept in ``var/spec-cache/`` by the sha256 of its bytes: read back equal to
a fresh parse, parsed again when the spec changes, never able to run code from a planted file,
and still parsed when the cache cannot be written."""

from __future__ import annotations

import hashlib
import os
import pickle
from pathlib import Path

import pytest

from sandbox.config import spec_path
from sandbox.spec import SpecUnavailable, spec_document

SMALL = b"openapi: 3.0.1\ninfo: {title: t, version: '1'}\npaths: {}\nx-date: 2024-05-01\n"


def test_the_cached_spec_equals_a_fresh_parse(tmp_path: Path) -> None:
    path = spec_path()
    fresh = spec_document(path, cache_dir=tmp_path)  # an empty cache: parsed, then kept
    (cached,) = tmp_path.glob("*.pickle")
    assert cached.name.startswith(hashlib.sha256(path.read_bytes()).hexdigest())
    assert spec_document(path, cache_dir=tmp_path) == fresh  # read back from the cache
    assert fresh["openapi"].startswith("3.")
    assert len(fresh["paths"]) > 100


def test_the_cache_is_what_is_read_and_a_changed_spec_is_parsed_again(tmp_path: Path) -> None:
    spec = tmp_path / "spec.yaml"
    spec.write_bytes(SMALL)
    cache = tmp_path / "cache"
    assert spec_document(spec, cache_dir=cache)["x-date"].isoformat() == "2024-05-01"
    (cached,) = cache.glob("*.pickle")
    # what the cache holds is what a second read returns (no second parse)
    cached.write_bytes(pickle.dumps({"openapi": "3.0.1", "from": "cache"}))
    assert spec_document(spec, cache_dir=cache)["from"] == "cache"
    spec.write_bytes(SMALL.replace(b"t,", b"changed,"))
    assert spec_document(spec, cache_dir=cache)["info"]["title"] == "changed"
    assert len(list(cache.glob("*.pickle"))) == 2


class Planted:
    def __reduce__(self) -> tuple[object, tuple[str]]:
        return (os.system, ("touch planted-ran",))


def test_a_planted_pickle_runs_nothing_and_the_spec_is_parsed(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    spec = tmp_path / "spec.yaml"
    spec.write_bytes(SMALL)
    cache = tmp_path / "cache"
    spec_document(spec, cache_dir=cache)
    (cached,) = cache.glob("*.pickle")
    cached.write_bytes(pickle.dumps({"openapi": Planted()}))
    assert spec_document(spec, cache_dir=cache)["info"]["title"] == "t"
    assert not (tmp_path / "planted-ran").exists()


def test_an_unwritable_cache_still_gives_the_spec(tmp_path: Path) -> None:
    spec = tmp_path / "spec.yaml"
    spec.write_bytes(SMALL)
    blocked = tmp_path / "file"
    blocked.write_text("not a directory")
    assert spec_document(spec, cache_dir=blocked / "cache")["openapi"] == "3.0.1"


def test_a_document_that_is_not_a_mapping_is_refused(tmp_path: Path) -> None:
    spec = tmp_path / "spec.yaml"
    spec.write_bytes(b"- just\n- a list\n")
    with pytest.raises(SpecUnavailable, match="not a YAML mapping"):
        spec_document(spec, cache_dir=tmp_path / "cache")
