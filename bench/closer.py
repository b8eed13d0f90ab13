"""The operator's close, timed from a process of its own, as `grpcurl` or `livegate` would send it.

    python -m bench.closer PKI PORT ACCOUNT     (run.py starts it; one line in, one line out)

Each line "close" on stdin sends SetKillSwitch(CLOSED) as the operator and answers the seconds
it took, or "error: ..." when the writer was not confirmed closed. Timed in the bench's own
process, the close's answer waited for the GIL behind the burst's 24 client threads there, a
wait no operator has: their close comes from a process of its own.
"""

from __future__ import annotations

import subprocess
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.gate import GateClient
from livegate_api.v1 import common_pb2, policy_pb2


class Closer:
    """The closer process, driven from run.py."""

    def __init__(self, pki: Path, port: int, account: str):
        self._process = subprocess.Popen(
            [sys.executable, "-m", "bench.closer", str(pki), str(port), account],
            cwd=Path(__file__).resolve().parent.parent,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
        )

    def close_switch(self) -> float:
        """Seconds the close took, timed in the closer process."""
        assert self._process.stdin is not None and self._process.stdout is not None
        self._process.stdin.write("close\n")
        self._process.stdin.flush()
        answer = self._process.stdout.readline().strip()
        if not answer or answer.startswith("error"):
            raise RuntimeError(f"the closer failed: {answer or 'no answer'}")
        return float(answer)

    def stop(self) -> None:
        if self._process.stdin is not None:
            self._process.stdin.close()
        try:
            self._process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self._process.kill()
            self._process.wait()


def main(argv: list[str]) -> int:
    pki, port, account = Path(argv[0]), int(argv[1]), argv[2]
    client = GateClient(pki, port, account)
    try:
        for line in sys.stdin:
            if line.strip() != "close":
                continue
            start = time.perf_counter()
            response = client.operator.SetKillSwitch(
                policy_pb2.SetKillSwitchRequest(
                    state=common_pb2.KILL_SWITCH_STATE_CLOSED, reason="bench"
                ),
                timeout=10,
            )
            seconds = time.perf_counter() - start
            if response.writer_state != policy_pb2.WRITER_SWITCH_STATE_CONFIRMED_CLOSED:
                print("error: the writer was not confirmed closed", flush=True)
                continue
            print(f"{seconds:.6f}", flush=True)
    finally:
        client.close()
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
