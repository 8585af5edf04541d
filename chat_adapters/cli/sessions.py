"""`baton sessions`: the sessions a person can continue, as a table or JSON.

``--dir`` (the default directory too) reads only that directory's lines; ``--all``
builds the full index, starting from the on-disk cache when it still fits the file,
and refreshes that cache after the answer is out (in a detached child process).
"""

from __future__ import annotations

import json
import os
import shutil
import sys
import unicodedata
from collections.abc import Callable, Iterator, Sequence
from datetime import datetime
from typing import NoReturn

import typer

from chat_adapters.cli.common import Discovery, directory_or_exit, discovery_or_exit
from chat_adapters.relative_time import ago
from session_core.catalog import SessionSummary, utc_from_ms
from session_core.history_lines import SessionRecord

_string = json.encoder.encode_basestring  # what json.dumps(ensure_ascii=False) uses


def summary_json(summary: SessionSummary) -> dict[str, object]:
    return {
        "session_id": summary.session_id,
        "project": summary.project,
        "first_prompt": summary.first_prompt,
        "last_prompt": summary.last_prompt,
        "last_activity": summary.last_activity.isoformat().replace("+00:00", "Z"),
        "prompt_count": summary.prompt_count,
        "transcript": summary.has_transcript,
        "live": summary.live is not None,
    }


def _json_head(
    session_id: str, project: str, first: str, last: str, activity: datetime, count: int
) -> str:
    """A summary's JSON up to its transcript flag: what stays true while the session
    is untouched (the index cache keeps it)."""
    when = activity.isoformat().replace("+00:00", "Z")
    return (
        f' {{\n  "session_id": {_string(session_id)},\n'
        f'  "project": {_string(project)},\n'
        f'  "first_prompt": {_string(first)},\n'
        f'  "last_prompt": {_string(last)},\n'
        f'  "last_activity": {_string(when)},\n'
        f'  "prompt_count": {int(count)},\n'
        f'  "transcript": '
    )


def _json_tail(transcript: bool, live: bool) -> str:
    return f'{"true" if transcript else "false"},\n  "live": {"true" if live else "false"}\n }}'


def _session_json(s: SessionSummary) -> str:
    """One ``summary_json`` object as ``json.dumps(..., indent=1)`` writes it in a list."""
    head = _json_head(
        s.session_id, s.project, s.first_prompt, s.last_prompt, s.last_activity, s.prompt_count
    )
    return head + _json_tail(s.has_transcript, s.live is not None)


def render_head(r: SessionRecord) -> bytes:
    """A record's JSON head, straight from the record (no summary object on the way)."""
    when = utc_from_ms(r.last_timestamp_ms)
    head = _json_head(r.session_id, r.project, r.first_prompt, r.last_prompt, when, r.prompt_count)
    return head.encode("utf-8", "backslashreplace")  # as the CLI's stdout writes a lone surrogate


_TAILS = {(t, live): _json_tail(t, live).encode() for t in (False, True) for live in (False, True)}


def _listing_bytes(parts: list[bytes]) -> bytes:
    """What ``json_text`` makes of the same sessions, encoded, with the final newline."""
    return (b"[\n" + b",\n".join(parts) + b"\n]" if parts else b"[]") + b"\n"


def json_text(found: Sequence[SessionSummary]) -> str:
    """Exactly ``json.dumps([summary_json(s) ...], ensure_ascii=False, indent=1)``, many
    times faster: with ``indent`` the json module uses its pure-Python encoder."""
    if not found:
        return "[]"
    return "[\n" + ",\n".join(map(_session_json, found)) + "\n]"


def _width(char: str) -> int:
    return 2 if unicodedata.east_asian_width(char) in "WF" else 1


def fit(text: str, width: int) -> str:
    """``text`` on one line in at most ``width`` terminal columns (wide characters count 2)."""
    flat = " ".join(text.split())
    used = 0
    for i, char in enumerate(flat):
        used += _width(char)
        if used > width:
            return flat[: max(0, i - 1)] + "…" if width > 0 else ""
    return flat


def table_lines(
    found: Sequence[SessionSummary], *, with_project: bool, columns: int
) -> Iterator[str]:
    """An aligned table: short id, age, prompts, state, first prompt cut to ``columns``."""
    rows = [
        (
            s.session_id[:8],
            ago(s.last_activity),
            str(s.prompt_count),
            ("live" if s.live else "") or ("gone" if not s.has_transcript else ""),
            s.project,
            s.first_prompt,
        )
        for s in found
    ]
    age_w = max(3, *(len(r[1]) for r in rows))
    count_w = max(7, *(len(r[2]) for r in rows))
    state_w = max(5, *(len(r[3]) for r in rows))
    project_w = min(32, max(7, *(len(r[4]) for r in rows))) if with_project else 0

    def line(sid: str, age: str, count: str, state: str, project: str, prompt: str) -> str:
        head = f"{sid:8}  {age:>{age_w}}  {count:>{count_w}}  {state:{state_w}}  "
        if with_project:
            shown = project if len(project) <= project_w else "…" + project[-(project_w - 1) :]
            head += f"{shown:{project_w}}  "
        return head + fit(prompt, max(10, columns - len(head)))

    yield line("ID", "AGE", "PROMPTS", "STATE", "PROJECT", "FIRST PROMPT").rstrip()
    for row in rows:
        yield line(*row).rstrip()


def list_sessions(
    directory: str | None, all_projects: bool, as_json: bool, limit: int | None
) -> None:
    discovery = discovery_or_exit()
    if all_projects:
        if as_json and _from_cache(discovery, limit):
            return
        _all_sessions(discovery, as_json, limit)
    where = directory_or_exit(discovery.roots, directory)
    found = discovery.catalog.list(directory=where, limit=limit)
    if as_json:
        sys.stdout.write(json_text(found) + "\n")
    elif not found:
        typer.echo(f"No sessions for {where}.")
    else:
        _print_table(found, with_project=False)


def _print_table(found: Sequence[SessionSummary], *, with_project: bool) -> None:
    columns = shutil.get_terminal_size((100, 24)).columns
    lines = table_lines(found, with_project=with_project, columns=columns)
    sys.stdout.write("\n".join(lines) + "\n")


def _all_sessions(discovery: Discovery, as_json: bool, limit: int | None) -> NoReturn:
    """Every project's sessions from the whole index: the cache plus appended lines when
    it fits, else a full build (over all cores); the cache is refreshed after the answer."""
    from session_core import history_cache, history_split  # --all only: 15 ms of imports

    catalog = discovery.catalog
    index = catalog.index
    cache = history_cache.cache_file(discovery.cache_dir, index.path)
    if history_cache.load(index, cache):
        loaded_until = index.stats.offset
        index.refresh()
    else:
        loaded_until = -1
        history_split.build(index)
    if as_json:
        records = index.sessions(limit=limit)
        transcripts, live = catalog.flags()
        tails = _TAILS
        parts = [
            render_head(r) + tails[r.session_id in transcripts, r.session_id in live]
            for r in records
        ]
        sys.stdout.flush()
        sys.stdout.buffer.write(_listing_bytes(parts))
    else:
        found = catalog.list(limit=limit)
        if found:
            _print_table(found, with_project=True)
        else:
            typer.echo("No sessions.")
    if index.built and index.stats.offset != loaded_until:
        _after_exit(lambda: history_cache.save(index, cache, render_head))
    _exit_now()


def _from_cache(discovery: Discovery, limit: int | None) -> bool:
    """``--all --json`` from the cache's rendered listing, when it fits the file.

    Only sessions touched by lines appended since the cache was saved are summarized
    again; the rest is the cache's text plus today's transcript and live flags. The
    cache itself is brought up to date afterwards, in the background.
    """
    from session_core import history_cache

    catalog = discovery.catalog
    index = catalog.index
    cache = history_cache.cache_file(discovery.cache_dir, index.path)
    listing = history_cache.cached_listing(index.path, cache)
    if listing is None:
        return False
    transcripts, live = catalog.flags()
    tails = _TAILS
    parts = [
        render_head(r) + tails[r.session_id in transcripts, r.session_id in live]
        for r in listing.fresh[:limit]
    ]
    if limit is None or len(parts) < limit:
        rendered = listing.rendered if limit is None else listing.rendered[: limit - len(parts)]
        parts += [head + tails[sid in transcripts, sid in live] for sid, head in rendered]
    sys.stdout.flush()
    sys.stdout.buffer.write(_listing_bytes(parts))
    if listing.fresh:

        def refresh() -> None:
            if history_cache.load(index, cache):
                index.refresh()
                history_cache.save(index, cache, render_head)

        _after_exit(refresh)
    _exit_now()


def _exit_now() -> NoReturn:
    """The answer is out: skip the interpreter's teardown, which would free the whole
    index object by object (a tenth of a second on a big history)."""
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(0)


def _after_exit(work: Callable[[], None]) -> None:
    """Run ``work`` in a detached child so the answer (and the prompt) come back now."""
    sys.stdout.flush()
    sys.stderr.flush()
    try:
        pid = os.fork()
    except OSError:
        work()
        return
    if pid:
        _exit_now()
    try:
        devnull = os.open(os.devnull, os.O_RDWR)
        for fd in (0, 1, 2):
            os.dup2(devnull, fd)
        work()
    finally:
        os._exit(0)
