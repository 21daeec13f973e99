"""``ferlab serve``: the Breed web app (interactive evolution, gallery, explorer)."""
from __future__ import annotations

import sys


def register(sub) -> None:
    p = sub.add_parser(
        "serve", help="run the Breed web app (Picbreeder-style interactive evolution)",
        description="Serve the Breed web app: click images to breed the next screen, publish "
                    "to a gallery with lineage, explore any genome. Listens on 127.0.0.1 only "
                    "unless --host says otherwise; GET /api/health answers {\"ok\": true} once ready.")
    p.add_argument("--db", metavar="PATH", default=None,
                   help="SQLite database (default: $XDG_DATA_HOME/ferlab/ferlab.db or "
                        "~/.local/share/ferlab/ferlab.db)")
    p.add_argument("--host", default="127.0.0.1", help="address to listen on (default 127.0.0.1)")
    p.add_argument("--port", type=int, default=8765, help="port (default 8765)")
    p.add_argument("--log-level", default="warning",
                   choices=("critical", "error", "warning", "info", "debug"))
    p.set_defaults(func=serve)


def serve(args) -> int:
    from ferlab.cli import CLIError

    if not 0 < args.port < 65536:
        raise CLIError(f"port must be in 1..65535, got {args.port}")
    from ferlab.store import StoreError, default_db_path
    from ferlab.web import create_app
    from ferlab.web.server import allowed_hosts, is_loopback, run

    try:
        app = create_app(args.db, allowed_hosts=allowed_hosts(args.host))
    except StoreError as e:
        raise CLIError(str(e)) from None
    db = args.db or default_db_path()
    if not is_loopback(args.host):
        print(f"ferlab serve: warning: listening on {args.host}, not only this computer: anyone "
              "who can reach it can breed, import and publish (there are no accounts)", file=sys.stderr)
    print(f"ferlab serve: http://{args.host}:{args.port}/ (database {db})", file=sys.stderr)
    run(app, args.host, args.port, log_level=args.log_level)
    return 0
