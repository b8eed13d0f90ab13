"""livegate_client stands alone: it imports the contract and gRPC, never a service."""

from __future__ import annotations

import ast
import sys
from pathlib import Path

import livegate_client

ALLOWED = {"livegate_client", "livegate_api", "grpc", "google", "__future__"}


def _imported_roots(path: Path) -> set[str]:
    roots = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            roots |= {alias.name.split(".")[0] for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            roots.add(node.module.split(".")[0])
    return roots


def test_client_imports_when_read_then_only_the_contract_grpc_and_the_standard_library() -> None:
    package = Path(livegate_client.__file__).parent
    for module in sorted(package.glob("*.py")):
        outside = _imported_roots(module) - ALLOWED - set(sys.stdlib_module_names)
        assert not outside, f"{module.name} imports {outside}"
