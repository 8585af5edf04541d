"""A realistic, reproducible history.jsonl for the history benchmarks.

Real files mix thousands of projects (a few busy, most rare), sessions of a few to a few
hundred prompts that overlap in time, slash commands, multi-line and pasted prompts,
non-ASCII text, old lines without a ``sessionId`` and the odd broken line. The generator
is seeded, so every run measures the same bytes, and the result is cached because writing
a million lines takes a while.
"""

from __future__ import annotations

import json
import random
from dataclasses import dataclass
from pathlib import Path

DATA_DIR = Path(__file__).resolve().parent / ".data"
FORMAT_VERSION = 1

_WORD_TEXT = (
    "fix the failing test in add refactor module function why does this return none "
    "please check the logs and explain error handling for retry timeout database migration "
    "update readme docs api endpoint rename variable optimize query cache layer make it "
    "faster write unit tests for parser lint type errors deploy config yaml docker build "
    "commit push review pr comments bump version dependency upgrade python rust typescript"
)
_WORDS = _WORD_TEXT.split()
_NON_ASCII = ("über", "naïve", "日本語のテスト", "ñandú", "Größe", "🚀 ship it", "café", "Ωmega")
_SLASH = ("/exit", "/clear", "/compact", "/model opus", "/cost", "/help", "/resume", "/init")
_ORGS = ("acme", "personal", "oss", "work", "clients", "experiments", "forks", "tmp")


@dataclass(frozen=True, slots=True)
class Fixture:
    path: Path
    lines: int
    projects: int
    sessions: int


def _project_paths(rng: random.Random, count: int) -> list[str]:
    paths: set[str] = set()
    users = ("alice", "bob", "dev")
    while len(paths) < count:
        org = rng.choice(_ORGS)
        repo = "-".join(rng.choice(_WORDS) for _ in range(rng.randint(1, 3)))
        base = f"/home/{rng.choice(users)}/{org}/{repo}{rng.randint(0, 99)}"
        if rng.random() < 0.25:
            base += "/" + rng.choice(("src", "backend", "web", "packages/core", "docs"))
        if rng.random() < 0.02:
            base += "/" + rng.choice(_NON_ASCII)
        paths.add(base)
    return sorted(paths)


def _display(rng: random.Random) -> tuple[str, dict[str, object]]:
    roll = rng.random()
    if roll < 0.06:
        return rng.choice(_SLASH), {}
    words = max(1, int(rng.lognormvariate(2.4, 0.9)))
    text = " ".join(rng.choice(_WORDS) for _ in range(min(words, 400)))
    if rng.random() < 0.03:
        text += " " + rng.choice(_NON_ASCII)
    if rng.random() < 0.05:
        text = text.replace(" ", "\n", rng.randint(1, 4))
    if rng.random() < 0.04:
        pasted = " ".join(rng.choice(_WORDS) for _ in range(rng.randint(20, 300)))
        lines = pasted.count(" ") // 12 + 1
        return f"{text} [Pasted text #1 +{lines} lines]", {
            "1": {"id": 1, "type": "text", "content": pasted}
        }
    return text, {}


_MALFORMED = (
    b"\n",
    b"   \n",
    b'{"display":"cut off mid-wr\n',
    b"not json at all\n",
    b'{"display":"bad \xff\xfe bytes","pastedContents":{},"timestamp":1,"project":"/x"}\n',
    b'{"display":["a list"],"pastedContents":{},"timestamp":1700000000000,"project":"/x"}\n',
    b'{"display":"ts as text","pastedContents":{},"timestamp":"yesterday","project":"/x"}\n',
    b'{"pastedContents":{},"timestamp":1700000000000,"project":"/x"}\n',
    b"[1,2,3]\n",
)


def generate(path: Path, *, lines: int = 1_000_000, seed: int = 7) -> Fixture:
    """Write ``lines`` history lines to ``path`` (returns what was written)."""
    rng = random.Random(seed)
    projects = _project_paths(rng, max(50, lines // 330))
    weights = [1.0 / (rank + 1) ** 0.9 for rank in range(len(projects))]
    rng.shuffle(weights)
    timestamp = 1_700_000_000_000
    open_sessions: list[list[object]] = []  # [session id, project, prompts left]
    session_count = 0
    no_session_lines = lines // 20  # old CLI versions wrote no sessionId
    written = 0
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("wb") as out:
        buffer: list[bytes] = []
        while written < lines:
            timestamp += int(rng.expovariate(1 / 30_000)) + 1
            if rng.random() < 0.0001:
                buffer.append(rng.choice(_MALFORMED))
                written += 1
                continue
            if len(open_sessions) < 2 or (len(open_sessions) < 8 and rng.random() < 0.05):
                project = rng.choices(projects, weights)[0]
                parts = [rng.getrandbits(bits) for bits in (32, 16, 12, 12, 48)]
                session_id = (
                    f"{parts[0]:08x}-{parts[1]:04x}-4{parts[2]:03x}-8{parts[3]:03x}-{parts[4]:012x}"
                )
                open_sessions.append([session_id, project, int(rng.expovariate(1 / 25)) + 1])
                session_count += 1
            current = rng.choice(open_sessions)
            display, pasted = _display(rng)
            entry: dict[str, object] = {
                "display": display,
                "pastedContents": pasted,
                "timestamp": timestamp,
                "project": current[1],
            }
            if written >= no_session_lines:
                entry["sessionId"] = current[0]
            buffer.append(
                json.dumps(entry, ensure_ascii=False, separators=(",", ":")).encode() + b"\n"
            )
            written += 1
            left = int(str(current[2])) - 1
            current[2] = left
            if left <= 0:
                open_sessions.remove(current)
            if len(buffer) >= 10_000:
                out.writelines(buffer)
                buffer.clear()
        out.writelines(buffer)
    return Fixture(path, written, len(projects), session_count)


def cached(lines: int = 1_000_000, seed: int = 7) -> Path:
    """The generated file for these parameters, generated once and kept in ``.data/``."""
    path = DATA_DIR / f"history-{lines}-s{seed}-v{FORMAT_VERSION}.jsonl"
    if not path.exists():
        partial = path.with_suffix(".partial")
        generate(partial, lines=lines, seed=seed)
        partial.replace(path)
    return path
