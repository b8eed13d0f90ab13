"""Issue 15, item 7: each deadline derived from the one below it; a wrong order refuses to start."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from livegate_api.v1 import policy_pb2
from livegate_common import deadlines
from livegate_common.config import ConfigError
from policy_service import config as policy_config
from policy_service.server import build_service
from tests.policy.conftest import MakePolicy
from tests.policy.fake_writer import FAKE_BROKER_TIMEOUT_S, RunningFakeWriter
from tests.policy.harness import policy_doc, set_path


def _config(tmp_path: Path, dev_pki: Path, **keys: Any) -> policy_config.PolicyConfig:
    doc = policy_doc(dev_pki, tmp_path, 1, f"sqlite:///{tmp_path / 'p.db'}")
    for dotted, value in keys.items():
        set_path(doc, dotted, value)
    return policy_config.from_document(doc, tmp_path)


def test_chain_when_derived_then_each_deadline_outlasts_the_one_below() -> None:
    broker = 10.0
    budget = deadlines.write_budget_s(broker)
    writer = deadlines.min_writer_deadline_s(broker)
    pending = deadlines.min_pending_timeout_s(writer)
    upstream = deadlines.min_upstream_deadline_s(writer)
    # The ack, then the broker's truth read back, each waited for at most the broker timeout.
    assert budget >= deadlines.BROKER_WAITS_PER_WRITE * broker
    assert broker < budget < writer < pending
    assert writer < upstream


def test_load_when_deadlines_not_set_then_derived_from_the_broker_timeout(
    tmp_path: Path, dev_pki: Path
) -> None:
    doc = policy_doc(dev_pki, tmp_path, 1, f"sqlite:///{tmp_path / 'p.db'}")
    del doc["writer"]["broker_timeout_s"], doc["idempotency"]
    config = policy_config.from_document(doc, tmp_path)
    # The writer's own default broker.request_timeout_s is 10 s.
    assert config.writer.broker_timeout_s == 10.0
    assert config.writer.deadline_s == deadlines.min_writer_deadline_s(10.0)
    assert config.pending_timeout_s == deadlines.min_pending_timeout_s(config.writer.deadline_s)


@pytest.mark.parametrize(
    ("keys", "refused", "named"),
    [
        # The case: a 5 s deadline over a writer whose broker waits take 5-10 s.
        (
            {"writer.broker_timeout_s": 5, "writer.deadline_s": 5},
            "writer.deadline_s",
            "writer.broker_timeout_s",
        ),
        (
            {"writer.broker_timeout_s": 1, "writer.deadline_s": 4.9},
            "writer.deadline_s",
            "writer.broker_timeout_s",
        ),
        (
            {"writer.deadline_s": 30, "idempotency.pending_timeout_s": 30},
            "idempotency.pending_timeout_s",
            "writer.deadline_s",
        ),
    ],
)
def test_load_when_deadlines_ordered_wrongly_then_refused_naming_the_keys(
    tmp_path: Path, dev_pki: Path, keys: dict[str, Any], refused: str, named: str
) -> None:
    with pytest.raises(ConfigError) as caught:
        _config(tmp_path, dev_pki, **keys)
    assert caught.value.key == refused
    assert named in str(caught.value)


def test_start_when_writer_reports_another_broker_timeout_then_refused_naming_the_key(
    tmp_path: Path, dev_pki: Path, writer: RunningFakeWriter
) -> None:
    writer.servicer.state.broker_timeout_s = 2 * FAKE_BROKER_TIMEOUT_S
    config = _config(tmp_path, dev_pki, **{"writer.address": f"localhost:{writer.port}"})
    with pytest.raises(ConfigError) as caught:
        build_service(config)
    assert caught.value.key == "writer.broker_timeout_s"
    assert "broker.request_timeout_s is 0.5 s" in str(caught.value)


def test_open_when_writer_comes_back_with_another_broker_timeout_then_refused(
    make_policy: MakePolicy,
) -> None:
    h = make_policy(open_switch=False)
    h.writer.servicer.state.broker_timeout_s = 2 * FAKE_BROKER_TIMEOUT_S
    status = h.operator.GetLiveStatus(policy_pb2.GetLiveStatusRequest(), timeout=10)
    [permission] = [c for c in status.conditions if c.name == "writer.permission"]
    assert not permission.passed and "writer.broker_timeout_s" in permission.detail
    assert not status.live_enabled
