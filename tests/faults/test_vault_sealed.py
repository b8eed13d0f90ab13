"""Invariant 6 at run time: a sealed Vault stops new writers, not the one already serving."""

from __future__ import annotations

from pathlib import Path

from livegate_common.devconfig import WRITER_SERVICE_NAME
from livegate_common.vault_layout import provision
from tests.faults.processes import serving, spawn
from tests.policy.harness import new_key
from tests.support.net import free_port
from tests.support.stack import BROKER_TIMEOUT_S, live_stack
from tests.support.vault import dev_vault
from tests.support.writers import writer_document
from writer_service.app import EXIT_VAULT
from writer_service.config import Role


def test_writer_when_vault_sealed_while_serving_then_keeps_session_and_restart_refused(
    dev_pki: Path, tmp_path: Path
) -> None:
    """Invariant 6: credentials come only from an unsealed Vault; the live session is kept."""
    with dev_vault() as vault:  # its own Vault: sealing the shared one would break other tests
        provision(vault.client())
        with live_stack(dev_pki, tmp_path, vault) as stack:
            # A restart's config, wrapped secret id included, issued while Vault could still do so.
            restart_dir = tmp_path / "restart"
            restart_dir.mkdir()
            doc = writer_document(
                dev_pki, vault, Role.W, restart_dir, gateway_port=stack.sim.port,
                request_timeout_s=BROKER_TIMEOUT_S,
            )  # fmt: skip
            port = free_port()
            doc["server"]["listen"] = f"127.0.0.1:{port}"
            vault.seal()

            key = new_key()
            reply = stack.submit(*stack.approved(), key=key)
            [order] = stack.broker_orders_with_ref(key)
            assert reply.order.broker_order_id == order.order_id
            assert stack.writer.session.is_connected()

            restarted = spawn("livegate-writer", doc, restart_dir, "writer-restart")
            try:
                code = restarted.wait(timeout_s=30)
            finally:
                restarted.stop()
            assert code == EXIT_VAULT, restarted.log_tail()
            assert "sealed" in restarted.log_tail()
            assert not serving(dev_pki, "policy", port, WRITER_SERVICE_NAME)
            # The writer that was already running still trades after the refused restart.
            again = new_key()
            stack.submit(*stack.approved(), key=again)
            assert len(stack.broker_orders_with_ref(again)) == 1
