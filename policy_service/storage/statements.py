"""Core statements built once: each execution only binds values (no per-call construction).

Building a Core statement and its cache key costs more Python than running it; a statement
object built once keeps its cache key memoised, so every execution is a compiled-cache hit.
Only the reads with a variable-length IN list are here: the hot path's fixed statements run
as plain SQL on the driver (raw.Statements).
"""

from __future__ import annotations

from typing import Final

from sqlalchemy import bindparam, select

from policy_service.storage.tables import approvals, previews

PREVIEWS_BY_ID: Final = select(previews).where(
    previews.c.preview_id.in_(bindparam("b_ids", expanding=True))
)
APPROVALS_BY_ID: Final = select(approvals).where(
    approvals.c.approval_id.in_(bindparam("b_ids", expanding=True))
)
