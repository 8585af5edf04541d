"""The one Bash parser approval rules use: is this command one plain program call, and
with which argv?

A session rule ("allow ``git status`` for this session") may only ever cover a command
that does exactly what its words say. So :func:`simple_argv` answers for a command
only when both of these hold, and answers ``None`` (ask the person) otherwise:

- tree-sitter-bash parses it, without error, as one ``command`` and nothing else: no
  list (``&&``, ``||``, ``;``, ``&``), pipeline, redirection, here-doc, subshell, group,
  negation, variable assignment prefix, substitution or expansion;
- every byte of the text is either inside one of that command's words or a space
  between them, and each word is literal: unquoted words use only
  ``[A-Za-z0-9_./:=@%+,-]`` (no glob, brace, tilde, ``$``, backslash or comment),
  single-quoted words hold no control character, double-quoted words hold no ``$``,
  backquote, backslash or ``!``.

The second check alone already pins bash's reading of the text (literal words split by
spaces); the parser is the independent first opinion, and the two must agree. Glob and
brace patterns are refused rather than expanded: the argv bash would run is then not
the text the person saw. Anything unusual (control or format characters anywhere, tabs,
non-ASCII outside quotes) is refused the same way.
"""

from __future__ import annotations

import re
import unicodedata
from functools import cache

import tree_sitter_bash
from tree_sitter import Language, Node, Parser

_PLAIN_WORD = re.compile(r"[A-Za-z0-9_./:=@%+,-]+")
_DOUBLE_QUOTED_BANNED = frozenset('$`\\!"')
_LEAVES = frozenset({"word", "number", "raw_string", "string", "concatenation"})
MAX_COMMAND_LENGTH = 4000
"""Longer commands are never matched by a rule: nobody reads them whole on a phone."""


@cache
def _parser() -> Parser:
    return Parser(Language(tree_sitter_bash.language()))


def simple_argv(command: str) -> tuple[str, ...] | None:
    """The argv of ``command`` when it is one literal program call, else ``None``."""
    if not isinstance(command, str) or not command or len(command) > MAX_COMMAND_LENGTH:
        return None
    if any(not _printable(ch) for ch in command):
        return None
    source = command.encode("utf-8")
    tree = _parser().parse(source)
    root = tree.root_node
    if root.type != "program" or root.has_error or len(root.children) != 1:
        return None
    node = root.children[0]
    if node.type != "command" or node.has_error:
        return None
    parts: list[Node] = []
    for child in node.children:
        if child.type == "command_name" and not parts and len(child.children) == 1:
            parts.append(child.children[0])
        elif parts and child.type in _LEAVES:
            parts.append(child)
        else:
            return None
    if not parts or parts[0].type != "word":
        return None
    if not _only_spaces_between(source, parts):
        return None
    argv: list[str] = []
    for part in parts:
        value = _literal(part)
        if value is None:
            return None
        argv.append(value)
    if "=" in argv[0]:
        return None  # an assignment, whatever the parser made of it
    return tuple(argv)


def _printable(ch: str) -> bool:
    # Control (Cc) and format (Cf: bidi overrides, zero-width) characters hide what runs.
    return ch == " " or unicodedata.category(ch)[0] not in ("C", "Z")


def _only_spaces_between(source: bytes, parts: list[Node]) -> bool:
    """Nothing the parser left out of the words: only spaces around and between them."""
    position = 0
    for index, part in enumerate(parts):
        gap = source[position : part.start_byte]
        if gap.strip(b" ") or (index and not gap):
            return False
        position = part.end_byte
    return not source[position:].strip(b" ")


def _literal(node: Node) -> str | None:
    """The word bash would pass for ``node``, or ``None`` when it is not plain literal."""
    text = _text(node)
    if node.type in ("word", "number"):
        return text if _PLAIN_WORD.fullmatch(text) else None
    if node.type == "raw_string":
        inner = text[1:-1]
        ok = len(text) >= 2 and text[0] == text[-1] == "'" and "'" not in inner
        return inner if ok else None
    if node.type == "string":
        inner = text[1:-1]
        if len(text) < 2 or text[0] != '"' or text[-1] != '"':
            return None
        if any(ch in _DOUBLE_QUOTED_BANNED for ch in inner):
            return None
        if any(child.type not in ('"', "string_content") for child in node.children):
            return None
        return inner
    if node.type == "concatenation":
        pieces: list[str] = []
        position = node.start_byte
        for child in node.children:
            if child.type not in ("word", "number", "raw_string", "string"):
                return None
            if child.start_byte != position:
                return None  # something between the pieces that no piece accounts for
            piece = _literal(child)
            if piece is None:
                return None
            pieces.append(piece)
            position = child.end_byte
        return "".join(pieces) if position == node.end_byte else None
    return None


def _text(node: Node) -> str:
    raw = node.text
    return raw.decode("utf-8", errors="replace") if raw is not None else ""
