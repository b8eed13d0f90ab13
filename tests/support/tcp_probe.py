"""Try TCP connections to HOST:PORT and print what happened, as one JSON line.

Run inside a network namespace (ip netns exec NS python tcp_probe.py ...) by the firewall test:
each attempt is bounded by --timeout; the line gives attempts, outcomes and timings.
"""

from __future__ import annotations

import argparse
import json
import socket
import time


def attempt(host: str, port: int, timeout_s: float) -> dict[str, object]:
    started = time.monotonic()
    try:
        with socket.create_connection((host, port), timeout=timeout_s):
            outcome = "connected"
    except TimeoutError:
        outcome = "timed out"
    except OSError as exc:
        outcome = f"refused ({exc.strerror})"
    return {"outcome": outcome, "ms": round((time.monotonic() - started) * 1000, 1)}


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("host")
    parser.add_argument("port", type=int)
    parser.add_argument("--attempts", type=int, default=3)
    parser.add_argument("--timeout", type=float, default=1.0)
    args = parser.parse_args()
    results = [attempt(args.host, args.port, args.timeout) for _ in range(args.attempts)]
    print(json.dumps({"target": f"{args.host}:{args.port}", "results": results}), flush=True)


if __name__ == "__main__":
    main()
