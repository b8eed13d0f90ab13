"""Every log line a test provokes, formatted as the services write them (JSON lines)."""

from __future__ import annotations

import json
import logging
import re
from collections.abc import Iterable, Iterator
from contextlib import contextmanager

from livegate_common.logs import JsonFormatter


class _Capture(logging.Handler):
    def __init__(self, lines: list[str]):
        super().__init__()
        self.setFormatter(JsonFormatter("test"))
        self._lines = lines

    def emit(self, record: logging.LogRecord) -> None:
        self._lines.append(self.format(record))


@contextmanager
def captured_lines(level: int = logging.INFO) -> Iterator[list[str]]:
    """Lines of every logger at LEVEL and above while the block runs (extra fields included)."""
    lines: list[str] = []
    handler = _Capture(lines)
    root = logging.getLogger()
    previous = root.level
    root.addHandler(handler)
    root.setLevel(level)
    try:
        yield lines
    finally:
        root.removeHandler(handler)
        root.setLevel(previous)


def lines_naming(lines: Iterable[str], account_ids: Iterable[str]) -> list[str]:
    """The LINES that hold any of ACCOUNT_IDS as a whole id (U123 is not in DU1234)."""
    patterns = [re.compile(rf"(?<![A-Za-z0-9]){re.escape(a)}(?![0-9])") for a in account_ids]
    return [line for line in lines if any(p.search(line) for p in patterns)]


def json_lines(text: str) -> list[dict[str, object]]:
    """The JSON lines of TEXT (a service's stderr), parsed; other lines skipped."""
    return [json.loads(line) for line in text.splitlines() if line.startswith("{")]
