"""Project keys must equal the CLI's folder names, or transcripts are looked for elsewhere.

The expected keys below were produced by the CLI's own functions (``KN``/``rse``), cut
out of the bundled 2.1.330 binary and run under node; the 273-character path was built to
reproduce the reference document's verified ``…-very-long-di-a2fdji``.
"""

from __future__ import annotations

import os
import re
import unicodedata
from pathlib import Path

import pytest
from claude_agent_sdk import project_key_for_directory
from hypothesis import given, settings
from hypothesis import strategies as st

from session_core.claude_home import (
    ClaudeHome,
    encode_project_path,
    find_transcript,
    is_safe_session_id,
    project_key,
    transcript_ids,
)

LONG_PATH = (
    "/home/u/work/long"
    + "/very-long-directory-name" * 6
    + "/very-long-directory/very-long-directory-name-for-the-key-test/and-then-some-more-path"
    + "/deeper-bsG4gZCyE06F"
)

CLI_KEYS = {
    "/home/u/work/basic/proj": "-home-u-work-basic-proj",
    "/home/u/work/enc/sp ace.dot_und/ünï": "-home-u-work-enc-sp-ace-dot-und--n-",
    LONG_PATH: (
        "-home-u-work-long"
        + "-very-long-directory-name" * 6
        + "-very-long-directory-very-long-di-a2fdji"
    ),
    "/": "-",
    "/🚀": "---",
    "X\u2028Z𝔘é": "X-Z---",
    "/a/😀/b" * 40: ("-a----b" * 40)[:200] + "-ubvce8",
    "ü" * 201: "-" * 200 + "-3ru22s",
    "x" * 200: "x" * 200,
    "x" * 201: "x" * 200 + "-sutklk",
    "/" * 300: "-" * 200 + "-lg5dc0",
}
SESSION_ID = "3178c6da-b143-48a8-a304-b603e86ae1d1"


def test_long_path_is_the_reference_documents_273_character_example() -> None:
    assert len(LONG_PATH) == 273
    assert encode_project_path(LONG_PATH).endswith("-very-long-di-a2fdji")


@pytest.mark.parametrize(("path", "key"), CLI_KEYS.items())
def test_encoding_matches_the_cli(path: str, key: str) -> None:
    assert encode_project_path(path) == key


def test_project_key_resolves_symlinks_first(tmp_path: Path) -> None:
    target = tmp_path / "real dir"
    target.mkdir()
    link = tmp_path / "link"
    link.symlink_to(target)
    assert project_key(link) == project_key(target) == encode_project_path(str(target))
    assert project_key(str(target) + "/") == project_key(target)


def test_astral_characters_give_two_dashes_unlike_the_sdk(tmp_path: Path) -> None:
    path = tmp_path / "rocket🚀"
    assert project_key(path).endswith("rocket--")
    assert project_key_for_directory(path).endswith("rocket-")


_BMP_PATH_TEXT = st.text(
    alphabet=st.characters(min_codepoint=1, max_codepoint=0xFFFF, exclude_categories=["Cs"]),
    max_size=320,
).filter(lambda text: unicodedata.normalize("NFC", text) == text)


@settings(max_examples=300, deadline=None)
@given(_BMP_PATH_TEXT)
def test_equals_the_sdk_for_bmp_paths(text: str) -> None:
    path = "/" + text
    assert project_key(path) == project_key_for_directory(path)


@settings(max_examples=300, deadline=None)
@given(st.text(max_size=400))
def test_keys_are_safe_bounded_and_deterministic(text: str) -> None:
    key = encode_project_path(text)
    assert re.fullmatch(r"[A-Za-z0-9-]*", key)
    assert len(key) <= 200 + 1 + 7
    assert key == encode_project_path(text)
    units = len(text.encode("utf-16-le", "surrogatepass")) // 2
    if units <= 200:
        assert len(key) == units


def test_resolve_prefers_a_non_empty_config_dir(tmp_path: Path) -> None:
    assert ClaudeHome.resolve(None, tmp_path).config_dir == tmp_path / ".claude"
    assert ClaudeHome.resolve("", tmp_path).config_dir == tmp_path / ".claude"
    assert ClaudeHome.resolve(str(tmp_path / "cfg"), tmp_path).config_dir == tmp_path / "cfg"
    expanded = ClaudeHome.resolve("~/cfg", tmp_path).config_dir
    assert expanded == Path(os.path.expanduser("~/cfg"))
    home = ClaudeHome(tmp_path)
    assert home.history_path == tmp_path / "history.jsonl"
    assert home.projects_dir == tmp_path / "projects"
    assert home.sessions_dir == tmp_path / "sessions"


def _transcript(home: ClaudeHome, folder: str, session_id: str) -> Path:
    path = home.projects_dir / folder / f"{session_id}.jsonl"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text('{"type":"user"}\n')
    return path


def test_find_transcript_looks_in_every_project_folder(tmp_path: Path) -> None:
    home = ClaudeHome(tmp_path)
    # Not where the encoding says: another tool (or a resume from elsewhere) put it here.
    placed = _transcript(home, "-some-other-folder", SESSION_ID)
    assert find_transcript(home, SESSION_ID) == placed
    assert find_transcript(home, SESSION_ID, hint_directory="/not/it") == placed
    assert find_transcript(home, "00000000-0000-0000-0000-000000000000") is None


def test_find_transcript_uses_the_hint_first(tmp_path: Path) -> None:
    home = ClaudeHome(tmp_path)
    _transcript(home, "-a-decoy", SESSION_ID)
    hinted = _transcript(home, encode_project_path("/w/proj"), SESSION_ID)
    assert find_transcript(home, SESSION_ID, hint_directory="/w/proj") == hinted


@pytest.mark.parametrize("bad", ["*", "../x", "a/b", "[abc]", "", "?", "x" * 200, ".hidden"])
def test_find_transcript_refuses_names_that_could_escape_or_glob(tmp_path: Path, bad: str) -> None:
    home = ClaudeHome(tmp_path)
    _transcript(home, "-p", SESSION_ID)
    assert not is_safe_session_id(bad)
    assert find_transcript(home, bad) is None


def test_find_transcript_without_projects_dir(tmp_path: Path) -> None:
    assert find_transcript(ClaudeHome(tmp_path / "missing"), SESSION_ID) is None
    assert transcript_ids(ClaudeHome(tmp_path / "missing")) == frozenset()


def test_transcript_ids_walks_once(tmp_path: Path) -> None:
    home = ClaudeHome(tmp_path)
    _transcript(home, "-a", SESSION_ID)
    _transcript(home, "-b", "other-id")
    (home.projects_dir / "-b" / "memory").mkdir()
    (home.projects_dir / "stray-file.txt").write_text("x")
    assert transcript_ids(home) == {SESSION_ID, "other-id"}
