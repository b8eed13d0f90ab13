"""Characters no request text may hold: controls, and the format/bidi marks that spoof logs."""

from __future__ import annotations

import unicodedata
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any, Final

from google.protobuf.descriptor import FieldDescriptor
from google.protobuf.message import Message

# Cc: C0/C1 controls, NUL among them (PostgreSQL refuses NUL in text; SQLite stores it).
# Cf: format characters (bidi overrides and isolates, zero-width marks, BOM) that make a
# line read differently from what it holds. Zl/Zp: line and paragraph separators, which
# end a line in some viewers. Cs: lone surrogates (protobuf refuses them already).
REFUSED_CATEGORIES: Final = frozenset({"Cc", "Cf", "Zl", "Zp", "Cs"})


@dataclass(frozen=True)
class BadText:
    """Where a refused character sits: the field's dotted path and the code point (U+XXXX)."""

    field: str
    code_point: str


def code_point(char: str) -> str:
    return f"U+{ord(char):04X}"


def bad_character(value: str) -> str | None:
    """The first refused character of VALUE as U+XXXX, or None when the text is clean."""
    if value.isprintable():
        return None  # every refused category is non-printable: the common case, no lookups
    for char in value:
        if unicodedata.category(char) in REFUSED_CATEGORIES:
            return code_point(char)
    return None


def escaped(value: str) -> str:
    """VALUE with each refused character written as <U+XXXX>: storable anywhere, still legible.
    For the one text that must be kept although step 2 refuses it: a kill-switch close's."""
    if value.isprintable():
        return value
    return "".join(
        f"<{code_point(char)}>" if unicodedata.category(char) in REFUSED_CATEGORIES else char
        for char in value
    )


def first_bad_text(message: Message, prefix: str = "") -> BadText | None:
    """The first string field of MESSAGE (nested, repeated and map fields too) holding a refused
    character; None when every text field is clean."""
    for path, value in _strings(message, prefix):
        bad = bad_character(value)
        if bad is not None:
            return BadText(path, bad)
    return None


def _strings(message: Message, prefix: str) -> Iterator[tuple[str, str]]:
    for field, value in message.ListFields():
        path = f"{prefix}{field.name}"
        if field.type == FieldDescriptor.TYPE_STRING:
            values = value if field.is_repeated else [value]
            for item in values:
                yield path, item
        elif field.type == FieldDescriptor.TYPE_MESSAGE:
            yield from _nested(field, value, path)


def _nested(field: FieldDescriptor, value: Any, path: str) -> Iterator[tuple[str, str]]:
    entry = field.message_type
    if entry is not None and entry.GetOptions().map_entry:
        for key, item in value.items():
            if isinstance(key, str):
                yield f"{path}.key", key
            # The key is not put in the path: it is the caller's text.
            if isinstance(item, str):
                yield f"{path}.value", item
            elif isinstance(item, Message):
                yield from _strings(item, f"{path}.value.")
        return
    items = value if field.is_repeated else [value]
    for item in items:
        yield from _strings(item, f"{path}.")
