"""Step 8: the preview and approval a write names must exist, match, be fresh and be unused."""

from __future__ import annotations

from policy_service import reasons
from policy_service.domain.model import Approval, Changes, Denial, Kind, Leg, Preview

STEP = 8
_CODE = "FAILED_PRECONDITION"


def _deny(reason: str, message: str, **meta: object) -> Denial:
    return Denial(reason, _CODE, STEP, message, {k: str(v) for k, v in meta.items()})


def check_preview(
    preview: Preview | None, preview_id: str, kind: Kind, account_id: str, now_us: int
) -> Denial | None:
    if preview is None:
        return _deny(reasons.PREVIEW_NOT_FOUND, "no such preview", preview_id=preview_id)
    if preview.kind is not kind:
        return _deny(
            reasons.PREVIEW_KIND_MISMATCH,
            f"preview is a {preview.kind}",
            expected=kind.value,
            actual=preview.kind.value,
        )
    if preview.account_id != account_id:
        return _deny(
            reasons.PREVIEW_ACCOUNT_MISMATCH,
            "preview is for another account",
            preview_id=preview_id,
        )
    if now_us >= preview.expires_at_us:
        return _deny(
            reasons.PREVIEW_EXPIRED,
            "preview expired",
            preview_id=preview_id,
            expires_at_us=preview.expires_at_us,
        )
    return None


def check_approval(
    approval: Approval | None, approval_id: str, preview_id: str, now_us: int, own_key: str = ""
) -> Denial | None:
    """OWN_KEY: the idempotency key settling its own earlier attempt may use what it reserved."""
    if approval is None:
        return _deny(reasons.APPROVAL_NOT_FOUND, "no such approval", approval_id=approval_id)
    if approval.preview_id != preview_id:
        return _deny(
            reasons.APPROVAL_PREVIEW_MISMATCH,
            "approval references another preview",
            approval_id=approval_id,
            preview_id=preview_id,
            approved_preview_id=approval.preview_id,
        )
    reserved_by_other = approval.reserved_key is not None and approval.reserved_key != own_key
    if (
        approval.consumed_at_us is not None
        or reserved_by_other
        or (approval.reserved_key is not None and not own_key)
    ):
        return _deny(reasons.APPROVAL_CONSUMED, "approval already used", approval_id=approval_id)
    # A close revokes every approval outstanding then. The one exception: the key that had
    # reserved it before the close, settling its own attempt (the broker may hold that write).
    settling_own = bool(own_key) and approval.reserved_key == own_key
    if approval.revoked_at_us is not None and not settling_own:
        return _deny(
            reasons.APPROVAL_REVOKED,
            "approval revoked by a kill-switch close; preview and approve again",
            approval_id=approval_id,
            revoked_at_us=approval.revoked_at_us,
        )
    if now_us >= approval.expires_at_us:
        return _deny(
            reasons.APPROVAL_EXPIRED,
            "approval expired",
            approval_id=approval_id,
            expires_at_us=approval.expires_at_us,
        )
    return None


def check_modify_matches(preview: Preview, broker_order_id: int, changes: Changes) -> Denial | None:
    """The modify must name the previewed order and carry exactly the previewed changes."""
    if preview.broker_order_id != broker_order_id:
        return _deny(
            reasons.PREVIEW_ORDER_MISMATCH,
            "modify names another order than its preview",
            previewed=preview.broker_order_id,
            requested=broker_order_id,
        )
    approved = preview.changes or Changes()
    for name in ("quantity", "limit_price", "stop_price", "tif"):
        if getattr(approved, name) != getattr(changes, name):
            return _deny(
                reasons.MODIFY_CHANGES_MISMATCH,
                f"{name} differs from the approved replacement",
                field=name,
                approved=getattr(approved, name),
                requested=getattr(changes, name),
            )
    return None


def check_bracket_group(previews: list[Preview]) -> Denial | None:
    """All three legs from one preview group, each in its own position."""
    groups = sorted({p.group_id for p in previews})
    if len(groups) != 1 or not groups[0]:
        return _deny(
            reasons.BRACKET_GROUP_MIXED, "legs come from different groups", groups=",".join(groups)
        )
    for preview, expected in zip(
        previews, (Leg.PARENT, Leg.TAKE_PROFIT, Leg.STOP_LOSS), strict=True
    ):
        if preview.leg is not expected:
            return _deny(
                reasons.BRACKET_LEG_MISMATCH,
                f"preview {preview.preview_id} is not the {expected} leg",
                expected=expected.value,
                actual=preview.leg.value if preview.leg else "",
            )
    return None
