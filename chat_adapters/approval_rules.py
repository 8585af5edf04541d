"""What "Allow … for this session" covers, decided again at every use.

A rule is made from the command or path the person was shown, and matched against each
later call by the same code (:func:`bash_scope` via :func:`simple_argv`), so a rule can
never cover more than its words say:

- Bash: a rule is the argv prefix of one literal program call (``git status``) and
  matches only a later command that is itself one literal call whose argv starts with
  those words. Programs that run other programs from their arguments (shells,
  interpreters, ``sudo``, ``env``, ``xargs``, ``find -exec``, ``git -c`` ...) get no
  session rule at all: only "Allow once" and "Deny".
- File tools: a rule for Write, Edit, Read ... covers paths inside the session's
  directory only (symlinks resolved); a path outside always asks.
- Other tools: the whole tool, as the button says.
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from chat_adapters.shell_command import simple_argv

PATH_FIELDS: Mapping[str, tuple[str, ...]] = {
    "Write": ("file_path",),
    "Edit": ("file_path",),
    "MultiEdit": ("file_path",),
    "NotebookEdit": ("notebook_path",),
    "Read": ("file_path",),
    "NotebookRead": ("notebook_path",),
    "Glob": ("path",),
    "Grep": ("path",),
    "LS": ("path",),
}
"""Tools that touch files, and the input fields naming where."""

_OPTIONAL_PATH = frozenset({"Glob", "Grep"})
"""Tools whose missing path means the working directory."""

_INTERPRETER = re.compile(
    r"(?:sh|bash|zsh|dash|fish|ksh|mksh|csh|tcsh|ash|busybox|rbash"
    r"|python[0-9.]*|pypy[0-9.]*|ipython[0-9.]*|node|nodejs|deno|bun|bunx"
    r"|perl[0-9.]*|ruby[0-9.]*|irb|php[0-9.]*|lua[0-9.]*|luajit|tclsh[0-9.]*|wish"
    r"|osascript|pwsh|powershell|rscript|julia|jshell|groovy|scala"
    r"|awk|gawk|mawk|nawk|sed|gsed|ed|ex|vi|vim|nvim|emacs|expect|gdb|lldb)"
)
"""Programs whose arguments are code (``python3 -c``, ``sed 's/x/y/e'``, ``awk system()``)."""

_WRAPPERS = frozenset(
    {
        "sudo", "doas", "su", "runuser", "pkexec", "env", "xargs", "ssh", "eval", "exec",
        "source", ".", "nohup", "timeout", "nice", "ionice", "time", "watch", "stdbuf",
        "setsid", "chroot", "unshare", "nsenter", "flock", "strace", "ltrace", "valgrind",
        "taskset", "chrt", "script", "parallel", "command", "builtin", "coproc", "make",
        "gmake", "npx", "uvx", "pipx", "pnpx", "nix-shell", "direnv", "sg", "newgrp", "at",
        "batch", "crontab", "trap", "alias", "systemd-run", "dbus-launch", "caffeinate",
    }
)  # fmt: skip
"""Programs whose arguments are another command line."""

_SUBCOMMAND_TOOLS: Mapping[str, frozenset[str]] = {
    "git": frozenset({"submodule", "bisect", "filter-branch", "difftool", "mergetool"}),
    "docker": frozenset({"run", "exec", "compose", "buildx"}),
    "podman": frozenset({"run", "exec"}),
    "kubectl": frozenset({"exec", "run", "debug"}),
    "npm": frozenset({"exec", "x"}),
    "pnpm": frozenset({"exec", "dlx"}),
    "yarn": frozenset({"exec", "dlx"}),
    "uv": frozenset({"run", "tool"}),
    "poetry": frozenset({"run"}),
    "pipenv": frozenset({"run"}),
}
"""Programs whose session scope must name the subcommand, and the subcommands that run
arbitrary commands (never a session rule)."""

_ARGUMENT_RUNS_CODE: Mapping[str, tuple[str, ...]] = {
    "find": ("-exec", "-execdir", "-ok", "-okdir", "-delete", "-fprint", "-fls"),
    "fd": ("-x", "--exec", "-X", "--exec-batch"),
    "fdfind": ("-x", "--exec", "-X", "--exec-batch"),
    "git": (
        "-x", "--exec", "--extcmd", "--open-files-in-pager", "-O", "--upload-pack",
        "--receive-pack", "--config", "--ext-diff", "--textconv",
    ),
    "rsync": ("-e", "--rsh", "--rsync-path"),
    "tar": ("--to-command", "--checkpoint-action", "-I", "--use-compress-program",
            "--rsh-command", "--info-script", "--new-volume-script", "-F"),
    "zip": ("-T", "--test", "-TT", "--unzip-command"),
}  # fmt: skip
"""Options (exact, ``opt=value`` or glued ``-Ovalue``) that make a program run a command."""

_GIT_UPLOAD_PACK_U = frozenset({"fetch", "pull", "clone", "ls-remote", "archive"})

_BASH_FIELDS = frozenset({"command", "description", "timeout", "run_in_background"})
"""Bash inputs a rule may see; any other (``dangerouslyDisableSandbox``, a field a
later CLI adds) is not shown in the chat, so a call carrying one is asked."""


def _bash_argv(tool_input: Mapping[str, Any]) -> tuple[str, ...] | None:
    command = tool_input.get("command")
    if not isinstance(command, str) or not set(tool_input) <= _BASH_FIELDS:
        return None
    return simple_argv(command)


def runs_other_code(argv: tuple[str, ...]) -> bool:
    """Whether a rule for this call would approve whatever its arguments say to run."""
    name = os.path.basename(argv[0]).casefold()
    if _INTERPRETER.fullmatch(name) or name in _WRAPPERS:
        return True
    subcommands = _SUBCOMMAND_TOOLS.get(name)
    if subcommands is not None and (len(argv) < 2 or argv[1].startswith("-")):
        return True  # options before the subcommand (git -c, git -C, docker -H)
    if subcommands is not None and argv[1] in subcommands:
        return True
    if name == "git" and argv[1] in _GIT_UPLOAD_PACK_U and "-u" in argv[2:]:
        return True
    for option in _ARGUMENT_RUNS_CODE.get(name, ()):
        for word in argv[1:]:
            if word == option or word.startswith(option + "="):
                return True
            cluster = len(option) == 2 and word.startswith("-") and not word.startswith("--")
            if cluster and option[1] in word[1:]:
                return True  # -x glued to a value or bundled with other flags (-avze)
    return False


def bash_scope(command: str) -> tuple[str, ...] | None:
    """The words a session rule made from ``command`` would cover (``git status``), or
    None when it must be allowed once at a time: not one literal call, or a call that
    runs other code."""
    argv = simple_argv(command)
    if argv is None or runs_other_code(argv):
        return None
    subcommand = len(argv) > 1 and re.fullmatch(r"[A-Za-z][A-Za-z0-9_.:-]*", argv[1])
    scope = argv[:2] if subcommand else argv[:1]
    if not all(re.fullmatch(r"[A-Za-z0-9_./:@+,-]+", word) for word in scope):
        return None
    return scope


def inside(path: object, directory: str, *, optional: bool = False) -> bool:
    """Whether a tool's ``path`` is within ``directory`` once symlinks are resolved;
    a missing path is the working directory only for tools where it is ``optional``."""
    if path is None or path == "":
        return optional
    if not isinstance(path, str) or path.startswith("~") or "\x00" in path:
        return False
    base = os.path.realpath(directory)
    target = os.path.realpath(os.path.join(base, path))
    return target == base or target.startswith(base.rstrip(os.sep) + os.sep)


def paths_inside(tool: str, tool_input: Mapping[str, Any], directory: str) -> bool:
    """Every path the file tool call names lies within ``directory`` (true for other tools)."""
    fields = PATH_FIELDS.get(tool)
    if fields is None:
        return True
    if tool in ("Glob", "Grep"):
        pattern = tool_input.get("pattern" if tool == "Glob" else "glob")
        if isinstance(pattern, str) and (pattern.startswith(("/", "~")) or ".." in pattern):
            return False
    optional = tool in _OPTIONAL_PATH
    return all(inside(tool_input.get(name), directory, optional=optional) for name in fields)


@dataclass(frozen=True, slots=True)
class SessionRule:
    """An "allow for this session": a Bash argv prefix, a file tool within a directory,
    or a whole tool."""

    tool: str
    scope: tuple[str, ...] | None = None
    """Bash only: the argv prefix the rule covers."""
    directory: str | None = None
    """File tools only: the directory the rule covers."""

    def matches(self, tool: str, tool_input: Mapping[str, Any]) -> bool:
        if tool != self.tool:
            return False
        if tool == "Bash":
            if not self.scope:
                return False  # a Bash rule always names its command
            argv = _bash_argv(tool_input)
            if argv is None or runs_other_code(argv):
                return False
            return argv[: len(self.scope)] == self.scope
        if tool in PATH_FIELDS:
            return self.directory is not None and paths_inside(tool, tool_input, self.directory)
        return True


def session_rule_for(
    tool: str, tool_input: Mapping[str, Any], directory: str
) -> SessionRule | None:
    """The rule "Allow for this session" would add for this call, or None when the call
    may only be allowed once (the button is then not offered)."""
    if tool == "Bash":
        command = tool_input.get("command")
        if _bash_argv(tool_input) is None or not isinstance(command, str):
            return None
        scope = bash_scope(command)
        return SessionRule(tool, scope=scope) if scope else None
    if tool in PATH_FIELDS:
        if not paths_inside(tool, tool_input, directory):
            return None
        return SessionRule(tool, directory=os.path.realpath(directory))
    return SessionRule(tool)


@dataclass
class SessionRules:
    """Per-session allow rules, in memory: a restart asks again, which is the safe side."""

    rules: dict[str, list[SessionRule]] = field(default_factory=dict)

    def allows(self, session_id: str, tool: str, tool_input: Mapping[str, Any]) -> bool:
        return any(rule.matches(tool, tool_input) for rule in self.rules.get(session_id, ()))

    def add(self, session_id: str, rule: SessionRule) -> None:
        self.rules.setdefault(session_id, []).append(rule)
