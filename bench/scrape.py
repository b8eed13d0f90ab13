"""Read a histogram's running sum and count from a service's Prometheus /metrics (loopback)."""

from __future__ import annotations

import urllib.request


def histogram_totals(port: int, name: str) -> tuple[float, float]:
    """(sum, count) of histogram NAME as served on 127.0.0.1:PORT; (0, 0) if not exported."""
    with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=5) as resp:
        text = resp.read().decode()
    totals = {"sum": 0.0, "count": 0.0}
    for line in text.splitlines():
        for part in totals:
            if line.startswith(f"{name}_{part} "):
                totals[part] = float(line.split()[1])
    return totals["sum"], totals["count"]
