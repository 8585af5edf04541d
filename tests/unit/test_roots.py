"""The directory sandbox: `..` and symlinks are resolved before the check."""

from __future__ import annotations

from pathlib import Path

import pytest

from session_core.roots import ApprovedRoots, OutsideRoots


@pytest.fixture
def tree(tmp_path: Path) -> tuple[ApprovedRoots, Path, Path]:
    root, outside = tmp_path / "work", tmp_path / "elsewhere"
    (root / "proj" / "src").mkdir(parents=True)
    (root / "with space").mkdir()
    outside.mkdir()
    (root / "escape").symlink_to(outside)
    return ApprovedRoots((root,)), root.resolve(), outside.resolve()


def test_relative_names_resolve_against_base_then_roots(
    tree: tuple[ApprovedRoots, Path, Path],
) -> None:
    roots, root, _ = tree
    assert roots.resolve("proj") == root / "proj"
    assert roots.resolve("src", base=root / "proj") == root / "proj" / "src"
    assert roots.resolve("with space") == root / "with space"
    assert roots.resolve(str(root / "proj")) == root / "proj"
    assert roots.default == root


@pytest.mark.parametrize("escape", ["..", "../..", "proj/../../elsewhere", "escape", "/"])
def test_escapes_are_refused(tree: tuple[ApprovedRoots, Path, Path], escape: str) -> None:
    roots, root, _ = tree
    with pytest.raises(OutsideRoots, match="outside the approved roots"):
        roots.resolve(escape, base=root)


def test_missing_directory_and_check(tree: tuple[ApprovedRoots, Path, Path]) -> None:
    roots, root, outside = tree
    with pytest.raises(OutsideRoots, match="no such directory"):
        roots.resolve("nope")
    with pytest.raises(OutsideRoots):
        roots.check(outside)
    with pytest.raises(OutsideRoots):
        roots.check(root / "escape")
    assert roots.check(root / "proj") == root / "proj"


def test_a_sibling_with_a_common_prefix_is_outside(tmp_path: Path) -> None:
    (tmp_path / "work").mkdir()
    (tmp_path / "work-other").mkdir()
    assert not ApprovedRoots((tmp_path / "work",)).contains(tmp_path / "work-other")
