"""Run the deployment test: python -m tests.deploy.real (scripts/test-deploy installs its tools).

Images from a local base, the compose stack with the demo, and site.yml on one systemd host per
role; every container, image, network, volume and file it made is removed at the end, also when
a check fails or the run is interrupted. Exit 0 only when every check passed.
"""

from __future__ import annotations

import os
import shutil
import signal
import sys
import tempfile
import time
import traceback
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from types import FrameType

from tests.deploy.real import images
from tests.deploy.real.converge import RoleReport, run_hosts
from tests.deploy.real.engine import Engine
from tests.deploy.real.prep import prepare
from tests.deploy.real.shell import CheckFailed, Timings, end_all_commands, run, say
from tests.deploy.real.stack import run_stack

# Keeps the base tarball and the image store between runs (for whoever works on this test);
# CI leaves it unset and starts from nothing.
CACHE_ENV = "LIVEGATE_DEPLOY_CACHE"


def _interrupted(signum: int, _frame: FrameType | None) -> None:
    end_all_commands()  # the worker threads return at once; cleanup follows
    raise KeyboardInterrupt(f"signal {signum}")


def _unmount_under(path: Path) -> None:
    """debootstrap mounts /proc and /sys in its target; an interrupted one leaves them."""
    with open("/proc/mounts", encoding="utf-8") as mounts:
        points = [line.split()[1] for line in mounts if line.split()[1].startswith(str(path))]
    for point in sorted(points, key=len, reverse=True):
        run(["umount", "--lazy", point], path.parent / "umount.log", check=False)


def _users_of(work: Path) -> list[int]:
    """Processes (conmon, a container's cleanup hook) whose command line names WORK."""
    found = []
    for proc in Path("/proc").glob("[0-9]*"):
        try:
            if str(work).encode() in (proc / "cmdline").read_bytes():
                found.append(int(proc.name))
        except OSError:
            continue
    return [pid for pid in found if pid != os.getpid()]


def _remove(work: Path) -> None:
    """The work dir, once nothing of podman's still runs from it (it would recreate its dirs)."""
    deadline = time.monotonic() + 20
    while _users_of(work) and time.monotonic() < deadline:
        time.sleep(0.5)
    shutil.rmtree(work, ignore_errors=True)
    if work.exists():
        print(f"could not remove {work}: still used by {_users_of(work)}", file=sys.stderr)


def _report(
    reports: dict[str, RoleReport], stack: dict[str, str], timings: Timings, total: float
) -> None:
    print("\n== deployment test: per role", flush=True)
    print(
        f"{'role':<5} {'converge':>9} {'changed 1st/2nd':>16} {'probe':>13}"
        "  security (policy / writer)"
    )
    for report in reports.values():
        changed = "/".join(str(c) for c in report.changed) or "-"
        security = report.security
        scores = f"{security.get('livegate-policy', '-')} / {security.get('livegate-writer', '-')}"
        print(
            f"{report.role:<5} {report.converge_s:>8.1f}s {changed:>16} {report.verdict:>13}"
            f"  {scores}"
        )
        for note in report.notes:
            print(f"      {note}")
    if stack:
        print(
            f"compose stack: demo {stack.get('demo')}, "
            f"{stack.get('audit_rows_postgres')} audit events in PostgreSQL"
        )
    print("\n== timings")
    for name, took in timings.steps:
        print(f"{took:7.1f}s  {name}")
    print(f"{total:7.1f}s  total", flush=True)


def main() -> int:
    signal.signal(signal.SIGTERM, _interrupted)
    signal.signal(signal.SIGINT, _interrupted)
    started = time.monotonic()
    cache_dir = os.environ.get(CACHE_ENV)
    cache = Path(cache_dir) if cache_dir else None
    work = Path(tempfile.mkdtemp(prefix="livegate-deploytest-", dir="/var/tmp"))
    logs = work / "logs"
    engine = Engine(work / "engine", (cache or work) / "storage", logs)
    timings = Timings()
    reports: dict[str, RoleReport] = {}
    stack: dict[str, str] = {}
    failures: list[str] = []
    say("main", f"work dir {work} (logs in {logs})")
    try:
        images.require_tools()
        with ThreadPoolExecutor(6) as pool:
            control_f = pool.submit(prepare, work, logs)
            with timings.step("images", "Debian bookworm base (debootstrap --variant=minbase)"):
                images.make_base(engine, work, cache)
            built = images.start_builds(engine, work, pool, timings)

            def stack_track() -> dict[str, str]:
                for name in ("services", "postgres", "openbao"):
                    built[name].result()
                return run_stack(engine, timings)

            def hosts_track() -> dict[str, RoleReport]:
                for name in ("host", "openbao"):
                    built[name].result()
                return run_hosts(engine, control_f.result(), work, timings)

            tracks = {"stack": pool.submit(stack_track), "hosts": pool.submit(hosts_track)}
            for name, future in tracks.items():
                try:
                    result = future.result()
                except CheckFailed as exc:
                    failures.append(f"{name}: {exc}")
                    continue
                if name == "stack":
                    stack = result  # type: ignore[assignment]
                else:
                    reports = result  # type: ignore[assignment]
    except CheckFailed as exc:
        failures.append(str(exc))
    except (KeyboardInterrupt, Exception) as exc:  # cleanup below must run whatever happened
        failures.append(f"{type(exc).__name__}: {exc}\n{traceback.format_exc()}")
    finally:
        with timings.step("main", "cleanup (containers, images, networks, volumes, files)"):
            engine.remove_everything(keep_images=cache is not None)
            _unmount_under(work)
            if cache is not None:  # the logs of the last run, for whoever keeps a cache
                shutil.rmtree(cache / "logs-last", ignore_errors=True)
                shutil.copytree(logs, cache / "logs-last", dirs_exist_ok=True)
            _remove(work)
    _report(reports, stack, timings, time.monotonic() - started)
    for failure in failures:
        print(f"\nFAILED {failure}", file=sys.stderr, flush=True)
    print("\ndeployment test " + ("FAILED" if failures else "passed"), flush=True)
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
