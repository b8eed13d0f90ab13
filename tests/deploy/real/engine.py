"""Podman with storage, networks and settings of the test's own, so cleanup removes all of it."""

from __future__ import annotations

import os
import time
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Final

from tests.deploy.real.shell import CheckFailed, Result, run

# This machine kind cannot raise rlimits and runs hybrid cgroups, which crun refuses: runc, with
# limits the VM already allows.
CONTAINERS_CONF: Final = """\
[containers]
default_ulimits = ["nofile=20000:20000", "nproc=32768:32768"]
[engine]
runtime = "runc"
[network]
network_config_dir = "{networks}"
"""
STORAGE_CONF: Final = """\
[storage]
driver = "overlay"
graphroot = "{graph}"
runroot = "{run}"
"""
# Builds reach PyPI through a proxy that re-signs TLS: the host's CA bundle stands in for the
# image's own, read-only, during RUN steps only.
CA_BUNDLE: Final = "/etc/ssl/certs/ca-certificates.crt"


class Engine:
    """podman, configured through CONTAINERS_CONF / CONTAINERS_STORAGE_CONF under ROOT."""

    def __init__(self, root: Path, storage: Path, logs: Path):
        self.root = root
        self.logs = logs
        root.mkdir(parents=True, exist_ok=True)
        (root / "networks").mkdir(exist_ok=True)
        conf = root / "containers.conf"
        conf.write_text(CONTAINERS_CONF.format(networks=root / "networks"), encoding="utf-8")
        storage_conf = root / "storage.conf"
        storage_conf.write_text(
            # Beside the graph: podman's database remembers the run root of its first use.
            STORAGE_CONF.format(graph=storage / "graph", run=storage / "runroot"),
            encoding="utf-8",
        )
        self.env = {
            **os.environ,
            "CONTAINERS_CONF": str(conf),
            "CONTAINERS_STORAGE_CONF": str(storage_conf),
        }

    def podman(
        self,
        *args: str,
        log: str = "podman",
        check: bool = True,
        timeout: float = 600,
        stdin: bytes | None = None,
        env: Mapping[str, str] | None = None,
    ) -> Result:
        return run(
            ["podman", *args],
            self.logs / f"{log}.log",
            env={**self.env, **(env or {})},
            check=check,
            timeout=timeout,
            stdin=stdin,
        )

    def build(
        self,
        tag: str,
        dockerfile: Path,
        context: Path,
        base: str,
        target: str | None = None,
        extra: Sequence[str] = (),
    ) -> None:
        """Build TAG in docker format (OCI drops HEALTHCHECK) from the local BASE."""
        argv = ["build", "--format", "docker", "--layers", "-f", str(dockerfile), "-t", tag]
        argv += ["-v", f"{CA_BUNDLE}:{CA_BUNDLE}:ro", "--build-arg", f"BASE_IMAGE={base}"]
        if target:
            argv += ["--target", target]
        self.podman(*argv, *extra, str(context), log=f"build-{tag.split(':')[0]}", timeout=900)

    def wait_healthy(self, container: str, timeout_s: float) -> None:
        """Run the image's HEALTHCHECK until it passes: no engine timer runs it here."""
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            if (
                self.podman("healthcheck", "run", container, check=False, log="health").returncode
                == 0
            ):
                return
            state = self.podman(
                "inspect", "--format", "{{.State.Status}}", container, check=False, log="health"
            ).stdout.strip()
            if state in ("exited", "stopped"):
                logs = self.podman("logs", "--tail", "30", container, check=False).stdout
                raise CheckFailed(f"{container} exited before it was healthy:\n{logs}")
            time.sleep(1)
        logs = self.podman("logs", "--tail", "30", container, check=False).stdout
        raise CheckFailed(f"{container} not healthy within {timeout_s:.0f}s:\n{logs}")

    def remove_everything(self, keep_images: bool) -> None:
        """Containers, pods, volumes, networks and (unless cached) images of this storage."""
        for args in (
            ("rm", "--all", "--force", "--time", "2"),
            ("pod", "rm", "--all", "--force"),
            ("volume", "rm", "--all", "--force"),
            ("network", "prune", "--force"),
        ):
            self.podman(*args, check=False, log="cleanup", timeout=120)
        if not keep_images:
            self.podman("system", "reset", "--force", check=False, log="cleanup", timeout=300)
