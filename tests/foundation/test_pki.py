"""`livegate pki init` makes the CA and every dev identity with the SAN the dev config maps."""

from __future__ import annotations

import stat
import subprocess
import sys
from pathlib import Path

from cryptography import x509

from livegate_common.devconfig import policy_principals, writer_principals
from livegate_common.pki import DEV_IDENTITIES


def test_pki_init_when_run_then_each_identity_has_its_mapped_san(tmp_path: Path) -> None:
    result = subprocess.run(
        [sys.executable, "-m", "livegate_cli.main", "pki", "init", str(tmp_path)],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    mapped = {
        san: name
        for name, body in {**policy_principals(), **writer_principals()}.items()
        for san in body["sans"]
    }
    ca = x509.load_pem_x509_certificate((tmp_path / "ca.pem").read_bytes())
    for name in DEV_IDENTITIES:
        cert = x509.load_pem_x509_certificate((tmp_path / f"{name}.pem").read_bytes())
        assert cert.issuer == ca.subject
        uris = cert.extensions.get_extension_for_class(
            x509.SubjectAlternativeName
        ).value.get_values_for_type(x509.UniformResourceIdentifier)
        assert len(uris) == 1
        if name not in ("writer",):  # the writer is a server only: nobody calls as it
            assert mapped[uris[0]] == name
        mode = stat.S_IMODE((tmp_path / f"{name}.key").stat().st_mode)
        assert mode == 0o600
