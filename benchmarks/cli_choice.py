"""What choosing the user's own Claude Code costs at start-up (`build_core` does it once).

Without a `claude` on PATH the choice reads the bundled CLI's version from a file; with
one, it asks that `claude --version` (here a wrapper around the bundled binary, as fast
as a real install of the same build). Baseline: asking the bundled CLI its
version the same way (one `--version` subprocess), in this run. Median of 7 each.
"""

from __future__ import annotations

import os
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from session_core.claude_cli import choose_cli, forget_probes, probe_version
from tests.fakes.claude_cli import bundled_cli_path, user_claude

ENV = dict(os.environ)
"""The environment a probed CLI runs with, as settings would hand it over."""

RUNS = 7


def median_ms(action: Callable[[], object]) -> float:
    times = []
    for _ in range(RUNS):
        start = time.perf_counter()
        action()
        times.append((time.perf_counter() - start) * 1000)
    return statistics.median(times)


def main() -> None:
    bundled = bundled_cli_path()
    with tempfile.TemporaryDirectory() as tmp:
        user_claude(Path(tmp) / "bin")

        def bare_probe() -> None:
            forget_probes()
            probe_version(bundled, ENV)

        bare = median_ms(bare_probe)
        none_on_path = median_ms(lambda: choose_cli(None, str(Path(tmp) / "empty"), ENV))

        def with_user_claude() -> None:
            forget_probes()
            choose_cli(None, str(Path(tmp) / "bin"), ENV)

        on_path = median_ms(with_user_claude)
    print(f"bundled `claude --version`: {bare:8.1f} ms (baseline)")
    print(f"choice, no claude on PATH:  {none_on_path:8.1f} ms (ratio {none_on_path / bare:.3f})")
    print(f"choice, a claude on PATH:   {on_path:8.1f} ms (ratio {on_path / bare:.2f})")


if __name__ == "__main__":
    main()
