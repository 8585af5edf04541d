"""The --all index cache: used when it still describes the file, ignored otherwise."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings

from session_core import history_cache
from session_core.history_index import HistoryIndex
from tests.fakes.claude_cli import history_line as line
from tests.unit.test_history_scan import noisy_history

A = "aaaaaaaa-0000-4000-8000-000000000001"
B = "bbbbbbbb-0000-4000-8000-000000000002"


@pytest.fixture
def path(tmp_path: Path) -> Path:
    path = tmp_path / "history.jsonl"
    # Long enough that the first and last kilobyte do not cover the middle.
    path.write_bytes(b"".join(line(f"prompt {i} " + "x" * 80, i, "/w/p", A) for i in range(60)))
    return path


@pytest.fixture
def cache(tmp_path: Path, path: Path) -> Path:
    cache = history_cache.cache_file(tmp_path / "cache", path)
    built = HistoryIndex(path)
    built.refresh()
    history_cache.save(built, cache)
    assert cache.is_file()
    return cache


def loaded(path: Path, cache: Path) -> tuple[bool, HistoryIndex]:
    index = HistoryIndex(path)
    return history_cache.load(index, cache), index


def fresh(path: Path) -> HistoryIndex:
    index = HistoryIndex(path)
    index.refresh()
    return index


def test_a_loaded_cache_answers_like_a_fresh_build(path: Path, cache: Path) -> None:
    ok, index = loaded(path, cache)
    assert ok
    assert index.sessions() == fresh(path).sessions()
    assert index.sessions("/w/p") == fresh(path).sessions("/w/p")
    assert index.stats == fresh(path).stats


def test_only_appended_bytes_are_parsed(path: Path, cache: Path) -> None:
    # Garble the middle in place (head and tail kilobytes intact): a loaded cache never
    # reads it, which shows the old bytes are not parsed again.
    data = bytearray(path.read_bytes())
    middle = len(data) // 2
    data[middle : middle + 200] = b"!" * 200
    path.write_bytes(bytes(data))
    with path.open("ab") as handle:
        handle.write(line("one more", 99, "/w/q", B))
    ok, index = loaded(path, cache)
    assert ok
    sessions = index.sessions()
    assert [s.session_id for s in sessions] == [B, A]
    assert sessions[1].prompt_count == 60  # the garbled lines were not re-read
    assert index.stats.skipped == 0


def test_replaced_file_rebuilds(path: Path, cache: Path) -> None:
    replacement = path.with_suffix(".new")
    replacement.write_bytes(path.read_bytes())
    os.replace(replacement, path)  # same bytes, new inode (an editor's or a prune's save)
    assert loaded(path, cache)[0] is False


def test_rotated_file_rebuilds(tmp_path: Path, path: Path, cache: Path) -> None:
    path.rename(tmp_path / "history.jsonl.1")
    path.write_bytes(line("new file", 1, "/w/p", B))
    assert loaded(path, cache)[0] is False


def test_truncated_file_rebuilds(path: Path, cache: Path) -> None:
    data = path.read_bytes()
    with path.open("r+b") as handle:
        handle.truncate(len(data) - 10)
    assert loaded(path, cache)[0] is False


@pytest.mark.parametrize("where", ["head", "tail"])
def test_pruned_in_place_rebuilds(path: Path, cache: Path, where: str) -> None:
    data = bytearray(path.read_bytes())
    spot = 5 if where == "head" else len(data) - 20
    data[spot] = ord("Z")
    with path.open("r+b") as handle:  # same inode, same size: a rewrite in place
        handle.write(bytes(data))
    assert loaded(path, cache)[0] is False


def test_missing_history_file(tmp_path: Path, path: Path, cache: Path) -> None:
    path.unlink()
    assert loaded(path, cache)[0] is False


@pytest.mark.parametrize(
    "garble",
    [
        lambda b: b"",
        lambda b: b[:100],
        lambda b: b"NOTMAGIC" + b[8:],
        lambda b: b[:-1] + bytes([b[-1] ^ 1]),
        lambda b: b[:40] + b"\x00" * (len(b) - 40),
    ],
)
def test_a_corrupt_cache_is_ignored(path: Path, cache: Path, garble: object) -> None:
    cache.write_bytes(garble(cache.read_bytes()))  # type: ignore[operator]
    ok, index = loaded(path, cache)
    assert ok is False
    assert index.sessions() == fresh(path).sessions()


def test_a_cache_for_another_file_is_ignored(tmp_path: Path, path: Path, cache: Path) -> None:
    other = tmp_path / "other.jsonl"
    os.link(path, other)  # same inode and bytes, different name
    assert loaded(other, cache)[0] is False


def test_save_is_atomic_and_best_effort(tmp_path: Path, path: Path) -> None:
    blocked = tmp_path / "file-not-dir"
    blocked.write_text("")
    history_cache.save(fresh(path), blocked / "cache.bin")  # cannot create: no error
    cache = tmp_path / "c" / "cache.bin"
    history_cache.save(fresh(path), cache)
    assert [p.name for p in cache.parent.iterdir()] == ["cache.bin"]


# --------------------------------------------------------------------------- cached listing


@settings(
    max_examples=150,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
)
@given(before=noisy_history(), appended=noisy_history())
def test_a_cached_listing_equals_a_fresh_build(
    tmp_path_factory: pytest.TempPathFactory, before: bytes, appended: bytes
) -> None:
    folder = tmp_path_factory.mktemp("listing")
    path, cache = folder / "history.jsonl", folder / "cache.bin"
    path.write_bytes(before)
    built = HistoryIndex(path)
    built.refresh()
    history_cache.save(built, cache, lambda r: repr(r).encode())
    with path.open("ab") as handle:  # complete the cut line (if any), then append
        handle.write(b"\n" + appended)
    listing = history_cache.cached_listing(path, cache)
    assert listing is not None
    full = fresh(path).sessions()
    order = [r.session_id for r in listing.fresh] + [sid for sid, _ in listing.rendered]
    assert order == [r.session_id for r in full]
    assert listing.fresh == full[: len(listing.fresh)]
    assert [text for _, text in listing.rendered] == [
        repr(r).encode() for r in full[len(listing.fresh) :]
    ]


def test_no_listing_without_rendering_or_for_a_stale_cache(path: Path, cache: Path) -> None:
    assert history_cache.cached_listing(path, cache) is None  # saved without render
    built = fresh(path)
    history_cache.save(built, cache, lambda r: repr(r).encode())
    assert history_cache.cached_listing(path, cache) is not None
    with path.open("r+b") as handle:
        handle.write(b"Z")  # pruned in place
    assert history_cache.cached_listing(path, cache) is None


def test_a_well_formed_cache_of_another_shape_is_ignored(path: Path, cache: Path) -> None:
    import marshal
    import zlib

    payload = marshal.dumps({"version": history_cache._VERSION, "rows": [1, 2], "heads": []})
    cache.write_bytes(history_cache.MAGIC + zlib.crc32(payload).to_bytes(4, "big") + payload)
    assert loaded(path, cache)[0] is False
    assert history_cache.cached_listing(path, cache) is None
