"""/diff rendering and the approval's change preview: pure functions over git's output."""

from __future__ import annotations

from pathlib import Path

from hypothesis import given
from hypothesis import strategies as st

from chat_adapters.diff_view import (
    INLINE_DIFF_CHARS,
    DiffReport,
    FileChange,
    change_preview,
    parse_status,
    render,
)
from chat_adapters.redaction import MASK, Redactor

HERE = Path("/work/proj")
SECRET = "sk-ant-api03-abcdefghijklmnop"


def test_outside_a_repository_says_so() -> None:
    text = render(DiffReport(in_repo=False), HERE, Redactor()).text
    assert "not inside a git repository" in text and str(HERE) in text


def test_clean_tree() -> None:
    assert "No changes" in render(DiffReport(in_repo=True), HERE, Redactor()).text


def test_summary_line_per_file_and_short_diff_inline() -> None:
    changes = parse_status(
        " M src/a.py\n?? new.txt\nR  old.py -> moved.py\n",
        "3\t1\tsrc/a.py\n-\t-\tlogo.png\n0\t0\tmoved.py\n",
    )
    assert changes == (
        FileChange(" M", "src/a.py", 3, 1),
        FileChange("??", "new.txt"),
        FileChange("R ", "moved.py", 0, 0),
    )
    diff = "--- a/src/a.py\n+++ b/src/a.py\n@@ -1 +1,3 @@\n-x\n+y\n+z\n+w\n"
    message = render(DiffReport(True, changes, diff), HERE, Redactor())
    assert message.file_name is None
    assert "**3 changed files**" in message.text
    assert "M src/a.py +3 −1" in message.text
    assert "?? new.txt" in message.text and "R moved.py +0 −0" in message.text
    assert "```diff\n--- a/src/a.py" in message.text


def test_long_diff_goes_as_a_file_and_is_redacted() -> None:
    diff = "".join(f"+line {n} token={SECRET}\n" for n in range(200))
    report = DiffReport(True, (FileChange(" M", "a.py", 200, 0),), diff)
    message = render(report, HERE, Redactor())
    assert len(diff) > INLINE_DIFF_CHARS
    assert message.file_name == "proj.diff"
    assert SECRET not in message.file_data.decode() and MASK in message.file_data.decode()
    assert "attached" in message.text and "```" not in message.text


def test_short_diff_is_redacted_and_cannot_break_its_fence() -> None:
    diff = f"+key={SECRET}\n+```\n"
    message = render(DiffReport(True, (FileChange(" M", "a.md", 2, 0),), diff), HERE, Redactor())
    assert SECRET not in message.text
    assert message.text.count("```") == 2


def test_edit_preview_is_a_unified_diff() -> None:
    preview = change_preview(
        "Edit",
        {"file_path": "/p/app.py", "old_string": "a = 1\nb = 2\n", "new_string": "a = 1\nb = 3\n"},
        Redactor(),
    )
    assert preview.startswith("--- a/app.py\n+++ b/app.py\n@@")
    assert "-b = 2" in preview and "+b = 3" in preview


def test_multiedit_preview_has_one_header_and_every_hunk() -> None:
    preview = change_preview(
        "MultiEdit",
        {
            "file_path": "/p/app.py",
            "edits": [
                {"old_string": "one", "new_string": "uno"},
                {"old_string": "two", "new_string": "dos"},
            ],
        },
        Redactor(),
    )
    assert preview.count("--- a/app.py") == 1
    assert "+uno" in preview and "+dos" in preview and "-two" in preview


def test_write_preview_against_the_file_on_disk(tmp_path: Path) -> None:
    target = tmp_path / "notes.txt"
    target.write_text("keep\nold\n")
    preview = change_preview(
        "Write", {"file_path": str(target), "content": f"keep\nnew {SECRET}\n"}, Redactor()
    )
    assert "-old" in preview and "+new" in preview and " keep" in preview
    assert SECRET not in preview
    fresh = change_preview(
        "Write", {"file_path": str(tmp_path / "none.txt"), "content": "hi\n"}, Redactor()
    )
    assert "+hi" in fresh


def test_other_tools_and_bad_inputs_have_no_preview() -> None:
    assert change_preview("Bash", {"command": "ls"}, Redactor()) == ""
    assert change_preview("Edit", {"file_path": 3}, Redactor()) == ""
    assert change_preview("MultiEdit", {"file_path": "/x", "edits": "no"}, Redactor()) == ""


@given(st.text(max_size=3000), st.text(max_size=3000), st.integers(50, 1200))
def test_preview_is_bounded(old: str, new: str, limit: int) -> None:
    preview = change_preview(
        "Edit", {"file_path": "/p/f", "old_string": old, "new_string": new}, Redactor(), limit
    )
    assert len(preview) <= limit + len("\n… 99999 more lines")
    assert "```" not in preview


async def test_a_repositorys_own_config_runs_no_program(tmp_path: Path) -> None:
    """/diff runs outside approvals, so a repo config that Claude may have written
    (``core.fsmonitor``, ``diff.external``, a textconv driver) must not run anything."""
    from chat_adapters.diff_view import collect
    from tests.fakes.git_repo import git, make_repo

    make_repo(tmp_path, {"a.txt": "one\n"})
    ran = tmp_path.parent / f"{tmp_path.name}-ran"
    script = tmp_path.parent / f"{tmp_path.name}-hook.sh"
    script.write_text(f"#!/bin/sh\necho ran >> {ran}\n")
    script.chmod(0o755)
    git(tmp_path, "config", "core.fsmonitor", str(script))
    git(tmp_path, "config", "diff.external", str(script))
    git(tmp_path, "config", "diff.evil.textconv", str(script))
    (tmp_path / ".gitattributes").write_text("*.txt diff=evil\n")
    (tmp_path / "a.txt").write_text("two\n")

    report = await collect(tmp_path)

    assert not ran.exists()
    assert report.in_repo and "+two" in report.diff
