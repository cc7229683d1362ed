"""``microclimate trainer serve``: the trainer job service (needs the [train] extra).

Bound to 127.0.0.1 unless told otherwise. The bearer token is read from
``--token-file``; without one, a new random token is written (mode 0600) to the state
folder and its path printed, never the token itself.
"""

from __future__ import annotations

import argparse
import os
import secrets
from pathlib import Path

from desktop_app import paths
from desktop_app.cli._common import training_extra
from desktop_app.errors import ConfigError
from desktop_app.fsutil import atomic_path
from desktop_app.validation import PORT, arg_int


def register(sub: argparse._SubParsersAction) -> None:
    parser = sub.add_parser("trainer", help="the trainer job service for a GPU workstation "
                                            "(needs [train])")
    actions = parser.add_subparsers(dest="action", metavar="ACTION", required=True)
    serve = actions.add_parser("serve", help="serve the authenticated HTTP job API")
    serve.add_argument("--host", default="127.0.0.1",
                       help="address to bind (default 127.0.0.1: this machine only)")
    serve.add_argument("--port", type=PORT, default=8765)
    serve.add_argument("--token-file", type=Path, default=None,
                       help="file holding the bearer token (default: create one in the "
                            "state folder)")
    serve.add_argument("--state-dir", type=Path, default=None,
                       help="job database, uploads and job folders")
    serve.add_argument("--data-root", type=Path, action="append", default=[],
                       help="allow jobs to read server files under this folder (repeat)")
    serve.add_argument("--max-upload-mb", type=arg_int(1, 1024**2), default=2048)
    parser.set_defaults(func=run)


def read_or_create_token(token_file: Path | None, state_dir: Path) -> tuple[str, Path]:
    if token_file is not None:
        try:
            token = token_file.read_text(encoding="utf-8").strip()
        except OSError as exc:
            raise ConfigError(f"cannot read the token file {token_file}: {exc}") from exc
        except UnicodeDecodeError as exc:
            raise ConfigError(f"the token file {token_file} is not UTF-8 text") from exc
        if len(token) < 16:
            raise ConfigError(f"the token in {token_file} is shorter than 16 characters")
        return token, token_file
    path = state_dir / "token"
    if path.exists():
        return read_or_create_token(path, state_dir)
    token = secrets.token_urlsafe(32)
    with atomic_path(path) as tmp:
        tmp.write_text(token + "\n", encoding="utf-8")
        os.chmod(tmp, 0o600)
    return token, path


def run(args: argparse.Namespace) -> int:
    with training_extra():
        import desktop_app.training.run  # noqa: F401  the jobs need torch: say so now
        import desktop_app.training.service as service
    state_dir = args.state_dir or paths.trainer_dir()
    state_dir.mkdir(parents=True, exist_ok=True)
    token, token_path = read_or_create_token(args.token_file, state_dir)
    if args.host not in ("127.0.0.1", "localhost", "::1"):
        print(f"warning: listening on {args.host}: anyone who can reach this port and has "
              "the token can run jobs; put TLS (a reverse proxy) in front of it")
    print(f"trainer service on http://{args.host}:{args.port}  token: {token_path}  "
          f"state: {state_dir}")
    service.serve(args.host, args.port, token, state_dir, data_roots=args.data_root,
                  max_upload_bytes=args.max_upload_mb * 1024 * 1024)
    return 0
