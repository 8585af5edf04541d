"""What does the parent-death launcher (session_core/child_guard.py) add to a CLI start?

Each Claude CLI the bot starts goes through a tiny ``python -IS`` script that arms
``PR_SET_PDEATHSIG`` and ``exec``s the CLI. Timed here: ``claude --version`` started
directly (baseline) and through the launcher, interleaved, medians of N runs.
Run: ``uv run python benchmarks/cli_launcher.py [--runs N]``.
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from session_core.child_guard import guarded_cli_path
from session_core.claude_cli import bundled_cli_path


def timed(command: list[str]) -> float:
    started = time.perf_counter()
    subprocess.run(command, capture_output=True, check=True, env={"DISABLE_AUTOUPDATER": "1"})
    return time.perf_counter() - started


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=15)
    runs = parser.parse_args().runs
    real = bundled_cli_path()
    with tempfile.TemporaryDirectory() as tmp:
        launcher = guarded_cli_path(real, directory=Path(tmp) / "launch")
        assert launcher is not None, "the launcher is Linux only"
        direct: list[float] = []
        guarded: list[float] = []
        timed([str(real), "--version"])  # warm the page cache
        for _ in range(runs):
            direct.append(timed([str(real), "--version"]))
            guarded.append(timed([str(launcher), "--version"]))
    d, g = statistics.median(direct), statistics.median(guarded)
    print(f"claude --version direct:        median {d * 1000:7.1f} ms ({runs} runs)")
    print(f"claude --version via launcher:  median {g * 1000:7.1f} ms")
    print(f"added: {(g - d) * 1000:.1f} ms; ratio launcher/direct: {g / d:.2f}")


if __name__ == "__main__":
    main()
