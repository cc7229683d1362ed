"""``microclimate gui``: the desktop window (the default command)."""

from __future__ import annotations

import argparse
from pathlib import Path


def register(sub: argparse._SubParsersAction) -> None:
    parser = sub.add_parser("gui", help="open the desktop window (default)")
    parser.add_argument(
        "--data",
        type=Path,
        default=None,
        help="region folder, or a forecast file the app wrote (default: the bundled "
             "sample region)",
    )
    parser.add_argument(
        "--screenshot",
        type=Path,
        metavar="PATH",
        help="render the window once the map is shown, save a PNG to PATH and exit",
    )
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    # Qt is imported only when a window is wanted, so headless commands stay light.
    from desktop_app.gui.app import run_gui

    return run_gui(data_path=args.data, screenshot=args.screenshot)
