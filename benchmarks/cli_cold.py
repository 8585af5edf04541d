"""How fast is `baton` from the terminal, each command a fresh process as a person runs it?

Figures (goals from issue 11), each against a baseline measured in the same run:
  help     `baton --help`, beyond a bare `python -c pass`                   <= 0.25 s
  limit1   `baton sessions --dir D --json --limit 1`, beyond `--help`       <= 0.15 s
  dir      `baton sessions --dir D` (all of D's sessions), beyond `--help`  <= 0.5 s
  all      `baton sessions --all --json`, no cache yet, vs a process that
           `json.loads` every line of the file                              <= 1.0x
  append   `baton sessions --all --json` after 1 appended line (the cache
           from the previous run), beyond `--help`                          <= 0.3 s
  run      `baton run` with Telegram and Discord configured: process start
           until both apps are connected to the fake servers                <= 1.5 s

The input is the 1,000,000-line history.jsonl of ``history_fixture.py`` (290 MB, in
the page cache), with one busy project moved to a real directory D so that the roots
accept it. Each figure is the median of ``--runs`` runs, runs of the compared commands
interleaved so that load on a shared machine hits both sides. Bytecode is compiled
first and kept (PYTHONDONTWRITEBYTECODE is dropped), as an installed package has it.

Run: ``uv run python benchmarks/cli_cold.py [--runs N]``.
"""

from __future__ import annotations

import argparse
import asyncio
import compileall
import hashlib
import json
import os
import signal
import site
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from history_fixture import DATA_DIR, cached

from tests.fakes.claude_cli import history_line, isolated_claude_env

ROOT = Path(__file__).resolve().parent.parent
PY = sys.executable
BATON = [PY, "-m", "chat_adapters"]
GOALS = {"help": 0.25, "limit1": 0.15, "dir": 0.5, "all": 1.0, "append": 0.3, "run": 1.5}


def local_fixture() -> tuple[Path, Path, int]:
    """(history.jsonl, D, D's line count): the fixture with its newest line's project
    moved to a real directory under ``.data/`` (cached, like the fixture)."""
    source = cached()
    with source.open("rb") as handle:
        handle.seek(-4096, os.SEEK_END)
        project = json.loads(handle.read().splitlines()[-1])["project"]
    key = hashlib.sha256(f"{source.name}|{ROOT}".encode()).hexdigest()[:10]
    base = DATA_DIR / f"cli-cold-{key}"
    directory = (base / "projects" / Path(project).name).resolve()
    history = base / "history.jsonl"
    old = f'"project":"{project}"'.encode()
    if not history.exists():
        directory.mkdir(parents=True, exist_ok=True)
        new = f'"project":{json.dumps(str(directory))}'.encode()
        partial = history.with_suffix(".partial")
        partial.write_bytes(source.read_bytes().replace(old, new))
        partial.replace(history)
    lines = source.read_bytes().count(old)
    return history, directory, lines


def timed(args: list[str], env: dict[str, str], cwd: Path) -> float:
    started = time.perf_counter()
    done = subprocess.run(args, env=env, cwd=cwd, capture_output=True, check=False)
    elapsed = time.perf_counter() - started
    if done.returncode != 0:
        raise SystemExit(f"{args} failed: {done.stderr.decode()[-2000:]}")
    return elapsed


def wait_for_cache(cache_dir: Path, since: float) -> None:
    """The cache is written by a detached child after the answer; wait for it."""
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        files = list(cache_dir.glob("history-index-*.bin"))
        busy = list(cache_dir.glob(".tmp-*"))
        if files and not busy and files[0].stat().st_mtime >= since:
            return
        time.sleep(0.05)
    raise SystemExit("the index cache was never written")


def median(values: list[float]) -> float:
    return statistics.median(values)


def row(name: str, label: str, figure: float, goal: float, unit: str, detail: str) -> bool:
    ok = figure <= goal
    ratio = figure / goal
    shown = f"{figure:.2f}x" if unit == "x" else f"{figure * 1000:.0f} ms"
    limit = f"{goal:.2f}x" if unit == "x" else f"{goal * 1000:.0f} ms"
    print(
        f"{name:7} {label:58} {shown:>9}  goal <= {limit:>8}  "
        f"ratio to goal {ratio:.2f}  {'ok' if ok else 'MISSED'}   ({detail})"
    )
    return ok


def terminal_rows(runs: int, env: dict[str, str], history: Path, directory: Path) -> list[bool]:
    cache_dir = Path(env["BATON_CACHE_DIR"])
    size = history.stat().st_size
    loads = f"""
import json
with open({str(history)!r}, "rb") as handle:
    for raw in handle:
        try:
            json.loads(raw)
        except ValueError:
            pass
"""
    samples: dict[str, list[float]] = {k: [] for k in ("bare", "help", "limit1", "dir")}
    samples |= {"all": [], "loads": [], "append": [], "help2": []}
    commands: dict[str, list[str]] = {
        "bare": [PY, "-c", "pass"],
        "help": [*BATON, "--help"],
        "limit1": [*BATON, "sessions", "--dir", str(directory), "--json", "--limit", "1"],
        "dir": [*BATON, "sessions", "--dir", str(directory)],
    }
    for args in commands.values():  # warm the page cache and the bytecode
        timed(args, env, directory)
    try:
        for _ in range(runs):
            for name, args in commands.items():
                samples[name].append(timed(args, env, directory))
        for _ in range(max(3, runs // 3)):
            for stale in cache_dir.glob("history-index-*.bin"):
                stale.unlink()
            since = time.time()
            samples["all"].append(timed([*BATON, "sessions", "--all", "--json"], env, directory))
            wait_for_cache(cache_dir, since)  # the detached writer must not slow the baseline
            samples["loads"].append(timed([PY, "-c", loads], env, directory))
        for i in range(runs):
            with history.open("ab") as handle:
                sid = f"{i:08x}-0000-4000-8000-000000000000"
                handle.write(history_line(f"one more {i}", 1_800_000_000_000 + i, "/w/x", sid))
            since = time.time()
            args = [*BATON, "sessions", "--all", "--json"]
            samples["append"].append(timed(args, env, directory))
            samples["help2"].append(timed(commands["help"], env, directory))
            wait_for_cache(cache_dir, since)
    finally:
        with history.open("r+b") as handle:
            handle.truncate(size)
    m = {name: median(values) for name, values in samples.items()}
    help_s = m["help"]  # help2 runs beside the detached cache writer: not a fair baseline
    print(
        "medians: "
        + ", ".join(f"{k}={v * 1000:.0f} ms" for k, v in m.items())
        + f"; --help for 'beyond' figures {help_s * 1000:.0f} ms"
    )
    return [
        row("help", "baton --help, beyond python -c pass", m["help"] - m["bare"], 0.25, "s",
            f"{m['help'] * 1000:.0f} - {m['bare'] * 1000:.0f} ms"),
        row("limit1", "sessions --dir D --json --limit 1, beyond --help",
            m["limit1"] - help_s, 0.15, "s", f"{m['limit1'] * 1000:.0f} ms"),
        row("dir", "sessions --dir D (all of D's sessions), beyond --help",
            m["dir"] - help_s, 0.5, "s", f"{m['dir'] * 1000:.0f} ms"),
        row("all", "sessions --all --json, first run, vs json.loads every line",
            m["all"] / m["loads"], 1.0, "x",
            f"{m['all']:.2f} s vs {m['loads']:.2f} s"),
        row("append", "sessions --all --json after 1 appended line, beyond --help",
            m["append"] - help_s, 0.3, "s", f"{m['append'] * 1000:.0f} ms"),
    ]  # fmt: skip


async def run_row(runs: int, env: dict[str, str], directory: Path, data_dir: Path) -> bool:
    from tests.fakes.discord_api import FakeDiscord
    from tests.fakes.telegram_api import FakeTelegram

    times: list[float] = []
    async with FakeTelegram() as tg, FakeDiscord() as dc:
        bot_env = env | {
            "TELEGRAM_BOT_TOKEN": tg.token,
            "TELEGRAM_API_URL": tg.root_url,
            "DISCORD_BOT_TOKEN": dc.token,
            "DISCORD_API_URL": dc.api_url,
            "DISCORD_GATEWAY_URL": dc.gateway_url,
            "DISCORD_GUILD_ID": str(dc.guild_id),
            "BATON_ALLOWED_USERS": f"telegram:1,discord:{dc.user_id('alice')}",
            "BATON_DATA_DIR": str(data_dir),
            "BATON_LOG_LEVEL": "WARNING",
        }
        for _ in range(runs + 1):  # the first run warms caches and is not counted
            since = tg.mark()
            gateway_before = dc.gateway_connected
            assert not gateway_before
            started = time.perf_counter()
            bot = await asyncio.create_subprocess_exec(
                *BATON, "run", env=bot_env, cwd=directory,
                stdout=asyncio.subprocess.DEVNULL, stderr=asyncio.subprocess.PIPE,
            )  # fmt: skip
            try:
                await tg.wait_for_call("getUpdates", since=since, timeout=60)
                await dc.wait_until(
                    lambda: dc.gateway_connected and bool(dc.registered_commands(dc.guild_id)),
                    timeout=60,
                    what="the bot's gateway session",
                )
                times.append(time.perf_counter() - started)
            finally:
                bot.send_signal(signal.SIGTERM)
                _, err = await asyncio.wait_for(bot.communicate(), 60)
            if bot.returncode != 0:
                raise SystemExit(f"baton run failed: {err.decode()[-2000:]}")
            await dc.wait_until(lambda: not dc.gateway_connected, timeout=30, what="disconnect")
    counted = times[1:]
    return row("run", "baton run, Telegram + Discord: start -> both connected",
               median(counted), 1.5, "s",
               "runs " + " ".join(f"{t * 1000:.0f}" for t in counted) + " ms")  # fmt: skip


def compile_bytecode() -> None:
    """What ``pip install`` does: every module's bytecode cached, so no run compiles."""
    for folder in [*site.getsitepackages(), *(str(ROOT / p) for p in PACKAGES)]:
        compileall.compile_dir(folder, quiet=2, workers=2)


PACKAGES = ("session_core", "storage", "chat_adapters", "tests/fakes")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--runs", type=int, default=15)
    parser.add_argument("--skip-run", action="store_true", help="Leave out the `baton run` row.")
    options = parser.parse_args()
    compile_bytecode()
    history, directory, d_lines = local_fixture()
    print(f"history.jsonl: {history.stat().st_size / 1e6:.0f} MB; D has {d_lines} lines")
    with tempfile.TemporaryDirectory() as tmp:
        world = isolated_claude_env(Path(tmp) / "claude", "http://127.0.0.1:9")
        (world.config_dir / "history.jsonl").symlink_to(history)
        env = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"} | world.env
        env |= {
            "BATON_ROOTS": str(directory.parent),
            "BATON_CACHE_DIR": str(Path(tmp) / "cache"),
            "BATON_DATA_DIR": str(Path(tmp) / "data"),
            "PYTHONPATH": str(ROOT),
        }
        results = terminal_rows(options.runs, env, history, directory)
        if not options.skip_run:
            runner: Callable[[], bool] = lambda: asyncio.run(  # noqa: E731
                run_row(max(5, options.runs // 2), env, directory, Path(tmp) / "bot-data")
            )
            results.append(runner())
    print("all within goal" if all(results) else "SOME FIGURES MISSED THEIR GOAL")
    return 0 if all(results) else 1


if __name__ == "__main__":
    raise SystemExit(main())
