"""livegate-policy-db: what a DBA runs, as the tables' owner: migrations and the service's grants.

The policy service migrates at start when it may (SQLite, or a PostgreSQL role that owns the
tables); as deployed on PostgreSQL its role owns nothing and may not change audit rows, so the
owner migrates first and grants it what it may do (storage.append_only.grant_app_role).
"""

from __future__ import annotations

import argparse
import os
import sys

from sqlalchemy import create_engine
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.pool import NullPool

from policy_service.storage.engine import migrate


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="livegate-policy-db", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)
    up = sub.add_parser("migrate", help="migrate to head as the owner, then grant the app role")
    up.add_argument(
        "--url-env",
        required=True,
        help="environment variable holding the owner's SQLAlchemy URL (it may hold a password)",
    )
    up.add_argument("--app-role", default="", help="the policy service's own database role")
    args = parser.parse_args(argv)
    url = os.environ.get(args.url_env, "")
    if not url:
        print(f"environment variable {args.url_env} holds no database URL", file=sys.stderr)
        return 2
    engine = create_engine(url, poolclass=NullPool)
    try:
        migrate(engine, app_role=args.app_role)
    except (SQLAlchemyError, ValueError) as exc:
        print(f"migration failed: {type(exc).__name__}: {exc}".splitlines()[0], file=sys.stderr)
        return 1
    finally:
        engine.dispose()
    granted = f", {args.app_role} granted" if args.app_role else ""
    print(f"migrated to head{granted}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
