"""The `.env` file `baton setup` writes: other lines kept, values replaced, mode 0600.

It holds bot tokens, so it is created readable by its owner only, and an existing file
is narrowed to that when rewritten.
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from pathlib import Path

_LINE = re.compile(r"^\s*(?:export\s+)?([A-Za-z_][A-Za-z0-9_]*)\s*=\s*(.*)$")


def read_env(path: Path) -> dict[str, str]:
    """KEY=VALUE pairs (quotes removed); comments and other lines are skipped."""
    values: dict[str, str] = {}
    if not path.is_file():
        return values
    for line in path.read_text(encoding="utf-8").splitlines():
        found = _LINE.match(line)
        if found and not line.lstrip().startswith("#"):
            raw = found.group(2).strip()
            if len(raw) >= 2 and raw[0] == raw[-1] and raw[0] in "'\"":
                raw = raw[1:-1]
            values[found.group(1)] = raw
    return values


def _format(value: str) -> str:
    if value and re.fullmatch(r"[A-Za-z0-9_@%+=:,./\-]+", value):
        return value
    escaped = value.replace("\\", "\\\\").replace('"', '\\"')
    return f'"{escaped}"'


def write_env(path: Path, updates: Mapping[str, str]) -> None:
    """Set ``updates`` in ``path`` (replacing a key's line in place, else appending),
    atomically, with mode 0600."""
    lines = path.read_text(encoding="utf-8").splitlines() if path.is_file() else []
    left = dict(updates)
    out: list[str] = []
    for line in lines:
        found = _LINE.match(line)
        key = found.group(1) if found and not line.lstrip().startswith("#") else None
        if key is not None and key in updates:
            if key in left:
                out.append(f"{key}={_format(left.pop(key))}")
            continue  # a duplicate of a key already written
        out.append(line)
    out.extend(f"{key}={_format(value)}" for key, value in left.items())
    temporary = path.with_name(f".{path.name}.tmp")
    descriptor = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(descriptor, "w", encoding="utf-8") as handle:
        handle.write("\n".join(out) + "\n")
    os.chmod(temporary, 0o600)
    os.replace(temporary, path)
