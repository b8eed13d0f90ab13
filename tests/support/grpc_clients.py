"""mTLS channels to livegate servers, as a given dev identity."""

from __future__ import annotations

from pathlib import Path

import grpc

from livegate_api.v1 import common_pb2, policy_pb2, policy_pb2_grpc
from livegate_common.errors import error_info
from livegate_common.tls import TLSFiles, secure_channel


def channel_as(pki_dir: Path, identity: str, port: int) -> grpc.Channel:
    files = TLSFiles(
        ca=pki_dir / "ca.pem", cert=pki_dir / f"{identity}.pem", key=pki_dir / f"{identity}.key"
    )
    return secure_channel(f"localhost:{port}", files)


def reopen(
    operator: policy_pb2_grpc.PolicyServiceStub,
    pki_dir: Path,
    port: int,
    reason: str = "test",
    second: str = "operator2",
) -> policy_pb2.SetKillSwitchResponse:
    """Open the kill switch as a live desk does: OPERATOR requests the reopen, SECOND (another
    operator identity) confirms it; a reopen already pending is confirmed by whichever of the
    two did not request it. An open switch is re-affirmed by the request alone."""
    try:
        asked = operator.SetKillSwitch(
            policy_pb2.SetKillSwitchRequest(state=common_pb2.KILL_SWITCH_STATE_OPEN, reason=reason),
            timeout=30,
        )
    except grpc.RpcError as err:
        info = error_info(err)
        if info is None or info.reason not in ("REOPEN_SAME_OPERATOR", "REOPEN_ALREADY_PENDING"):
            raise
        reopen_id, requested_by = info.metadata["reopen_id"], info.metadata["requested_by"]
    else:
        reopen_id, requested_by = asked.kill_switch.pending_reopen.reopen_id, ""
        if not reopen_id:
            return asked
    confirm = policy_pb2.ConfirmReopenRequest(reopen_id=reopen_id, reason=reason)
    if requested_by == second:
        return operator.ConfirmReopen(confirm, timeout=30)
    with channel_as(pki_dir, second, port) as channel:
        return policy_pb2_grpc.PolicyServiceStub(channel).ConfirmReopen(confirm, timeout=30)
