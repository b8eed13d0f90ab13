"""Reads IBC's config.ini the way IBC does: java.util.Properties.load, Latin-1 with escapes.

IBC (DefaultSettings.java) loads config.ini with Properties.load(InputStream), so a value's
backslash escapes (\\\\, \\t, \\uXXXX, a trailing backslash continuing the line) are decoded,
not taken literally. The simulator decodes them the same way, independently of the launcher's
encoder, so a password that the launcher escaped wrongly would fail the login here too.
"""

from __future__ import annotations

from typing import Final

_ESCAPES: Final = {"t": "\t", "n": "\n", "r": "\r", "f": "\f"}
_SEPARATORS: Final = "=:"
_WHITESPACE: Final = " \t\f"


def _logical_lines(text: str) -> list[str]:
    """Physical lines joined where a line ends in an odd number of backslashes."""
    out: list[str] = []
    pending = ""
    for raw in text.splitlines():
        line = raw.lstrip(_WHITESPACE) if pending else raw
        if not pending and line.lstrip(_WHITESPACE)[:1] in ("#", "!"):
            continue
        trailing = len(line) - len(line.rstrip("\\"))
        if trailing % 2 == 1:
            pending += line[:-1]
            continue
        out.append(pending + line)
        pending = ""
    if pending:
        out.append(pending)
    return out


def _unescape(text: str) -> str:
    chars: list[str] = []
    i = 0
    while i < len(text):
        c = text[i]
        if c != "\\" or i + 1 >= len(text):
            chars.append(c)
            i += 1
            continue
        nxt = text[i + 1]
        if nxt == "u":
            digits = text[i + 2 : i + 6]
            if len(digits) != 4 or any(d not in "0123456789abcdefABCDEF" for d in digits):
                raise ValueError("malformed \\uXXXX escape")
            chars.append(chr(int(digits, 16)))
            i += 6
            continue
        chars.append(_ESCAPES.get(nxt, nxt))
        i += 2
    # Java strings are UTF-16: two \uXXXX surrogates make one character beyond the BMP.
    return "".join(chars).encode("utf-16-le", "surrogatepass").decode("utf-16-le")


def _split(line: str) -> tuple[str, str]:
    """Key and raw value: the key ends at an unescaped separator or whitespace."""
    line = line.lstrip(_WHITESPACE)
    i = 0
    while i < len(line):
        c = line[i]
        if c == "\\":
            i += 2
            continue
        if c in _SEPARATORS or c in _WHITESPACE:
            break
        i += 1
    key, rest = line[:i], line[i:]
    rest = rest.lstrip(_WHITESPACE)
    if rest[:1] in _SEPARATORS:
        rest = rest[1:].lstrip(_WHITESPACE)
    return key, rest


def parse(data: bytes) -> dict[str, str]:
    """The properties in DATA (ISO-8859-1, as Properties.load(InputStream) reads it)."""
    props: dict[str, str] = {}
    for line in _logical_lines(data.decode("iso-8859-1")):
        if not line.strip(_WHITESPACE):
            continue
        key, value = _split(line)
        props[_unescape(key)] = _unescape(value)
    return props
