"""The directory sandbox: every path a chat or `baton ask` works in lies inside an approved root.

Paths are resolved (``..`` and symlinks) *before* the check, so neither a ``../..`` nor a
symlink pointing outside can escape. Refusals carry a reason a person can act on.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path


class OutsideRoots(ValueError):
    """A path that resolves outside every approved root (or does not exist)."""


@dataclass(frozen=True, slots=True)
class ApprovedRoots:
    """Approved project directories; the first one is the default directory."""

    roots: tuple[Path, ...]

    def __post_init__(self) -> None:
        if not self.roots:
            raise ValueError("at least one approved root is required")
        object.__setattr__(self, "roots", tuple(Path(os.path.realpath(r)) for r in self.roots))

    @property
    def default(self) -> Path:
        return self.roots[0]

    def contains(self, path: str | os.PathLike[str]) -> bool:
        real = Path(os.path.realpath(path))
        return any(real == root or real.is_relative_to(root) for root in self.roots)

    def resolve(self, candidate: str, *, base: Path | None = None) -> Path:
        """Turn what a person typed into an approved, existing directory.

        An absolute path is taken as is; a relative one is tried against ``base`` (the
        chat's current directory) and then against each root, so ``/cd myproj`` works from
        anywhere. ``~`` is expanded. Raises :class:`OutsideRoots` with the reason.
        """
        text = candidate.strip()
        if not text:
            raise OutsideRoots("no directory given")
        given = Path(os.path.expanduser(text))
        bases = [given] if given.is_absolute() else [b / given for b in self._bases(base)]
        for path in bases:
            if Path(os.path.realpath(path)).is_dir():
                return self.check(path)
        raise OutsideRoots(f"no such directory: {text}")

    def check(self, path: str | os.PathLike[str]) -> Path:
        """THE decision whether a directory may be used: its real path (symlinks and
        ``..`` resolved) when that lies inside a root, else :class:`OutsideRoots`.

        Every path that sets, shows or runs in a directory goes through here (typed and
        picked ``/cd``, saved chat preferences, a session's project, the runner at turn
        start), and the caller then uses the returned real path, not what it passed.
        """
        real = Path(os.path.realpath(path))
        if not self.contains(real):
            raise OutsideRoots(f"{real} is outside the approved roots ({self.describe()})")
        return real

    def allows(self, path: str | os.PathLike[str]) -> bool:
        """:meth:`check` as a yes/no, for filtering lists."""
        try:
            self.check(path)
        except OutsideRoots:
            return False
        return True

    def describe(self) -> str:
        return ", ".join(str(r) for r in self.roots)

    def _bases(self, base: Path | None) -> list[Path]:
        ordered = [base] if base is not None else []
        ordered.extend(r for r in self.roots if r != base)
        return ordered
