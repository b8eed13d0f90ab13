"""Writes anchors outside the database: an O_APPEND file fsynced per anchor, a log line, a metric.

Every EVERY_EVENTS appends, or EVERY_S seconds when something was appended, the newest event
this process appended (and saw committed) is anchored: its id, link and key id, the time, and
a MAC over them chained to the anchor before. Its link covers every event before it, so the
file vouches for the whole chain up to it; what comes after is the unanchored tail.
"""

from __future__ import annotations

import logging
import os
import stat
import threading
from pathlib import Path

from prometheus_client import Counter, Gauge

from livegate_common.config import ConfigError
from policy_service.domain.audit_anchor import Anchor, AnchorReading, read_anchors, sign
from policy_service.domain.audit_chain import ChainKeeper
from policy_service.domain.ports import Clock

log = logging.getLogger("livegate.audit.anchor")

ANCHORED = Gauge(
    "livegate_audit_anchored_event_id", "event_id of the newest anchor this replica wrote"
)
ANCHOR_FAILURES = Counter(
    "livegate_audit_anchor_failures_total", "Anchors that could not be written (file, fsync)"
)


class AnchorFile:
    """Append-only by how it is written: O_APPEND, one line per anchor, fsync before it counts.

    The file must be writable by this service alone; group or other write permission (or a
    file that is not a regular file) refuses the start, naming the config key.
    """

    def __init__(self, path: Path):
        self.path = path

    def check(self) -> None:
        try:
            info = self.path.lstat()
        except FileNotFoundError:
            return
        if not stat.S_ISREG(info.st_mode) or info.st_mode & 0o022:
            raise ConfigError(
                "audit.anchor_file",
                f"{self.path} must be a regular file no one but the service may write "
                f"(mode {stat.filemode(info.st_mode)})",
            )

    def read(self, chain: ChainKeeper) -> AnchorReading:
        try:
            with self.path.open(encoding="utf-8", newline="") as lines:
                return read_anchors(lines, chain.keyring)
        except FileNotFoundError:
            return AnchorReading()

    def append(self, anchor: Anchor) -> None:
        created = not self.path.exists()
        self.path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(self.path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
        try:
            os.write(fd, anchor.to_line().encode())
            os.fsync(fd)
        finally:
            os.close(fd)
        if created:  # the new directory entry must survive a crash too
            dir_fd = os.open(self.path.parent, os.O_RDONLY)
            try:
                os.fsync(dir_fd)
            finally:
                os.close(dir_fd)


class AnchorWriter:
    """The anchoring thread; VerifyAudit asks it what it last wrote (a replayed file shows)."""

    def __init__(
        self,
        chain: ChainKeeper,
        file: AnchorFile,
        clock: Clock,
        every_events: int,
        every_s: float,
    ):
        self.chain = chain
        self.file = file
        self._clock = clock
        self._every_events = every_events
        self.every_s = every_s
        self._lock = threading.Lock()
        self._wake = threading.Event()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        # Committed appends counted by the chain keeper: seen so far, and at the last anchor.
        self._seen_count = 0
        self._anchored_count = 0
        reading = file.read(chain)
        if reading.invalid is not None:
            log.critical(
                "anchor file does not verify; anchors are appended after it anyway",
                extra={"path": str(file.path), "problem": reading.invalid.code},
            )
        # What this process saw at start: a file rewound later shows against it.
        self._written: Anchor | None = reading.latest
        chain.listen(self._on_append)

    def written(self) -> Anchor | None:
        with self._lock:
            return self._written

    def _on_append(self, count: int) -> None:
        self._seen_count = count
        if count - self._anchored_count >= self._every_events:
            self._wake.set()

    def start(self) -> None:
        self._thread = threading.Thread(target=self._run, name="audit-anchor", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        self._wake.set()
        if self._thread is not None:
            self._thread.join(timeout=5)
        self.flush()  # the tail appended last is anchored before the process ends

    def _run(self) -> None:
        while not self._stop.is_set():
            self._wake.wait(self.every_s)
            self._wake.clear()
            self.flush()

    def flush(self) -> Anchor | None:
        """Anchor the newest committed append if it is not anchored yet; the anchor or None."""
        with self._lock:
            last = self.chain.last()
            written = self._written
            if last is None or (written is not None and last.event_id <= written.event_id):
                return None
            anchor = sign(
                self.chain.keyring, written, last.event_id, last.link, last.key_id,
                self._clock.now_us(),
            )  # fmt: skip
            try:
                self.file.append(anchor)
            except OSError as exc:
                ANCHOR_FAILURES.inc()
                log.critical(
                    "could not write an audit anchor",
                    extra={"path": str(self.file.path), "error": str(exc),
                           "event_id": last.event_id},
                )  # fmt: skip
                return None
            self._written = anchor
            self._anchored_count = self._seen_count
        ANCHORED.set(anchor.event_id)
        # The same anchor, in the JSON log (shipped off the host): a second copy outside.
        log.info(
            "audit anchor",
            extra={"anchor_seq": anchor.seq, "event_id": anchor.event_id, "link": anchor.link,
                   "key_id": anchor.key_id, "at_us": anchor.at_us, "mac": anchor.mac},
        )  # fmt: skip
        return anchor
