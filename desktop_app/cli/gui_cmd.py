"""``microclimate gui``: the desktop window (the default command)."""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Mapping
from pathlib import Path

from desktop_app.errors import MicroclimateError


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


def check_display(env: Mapping[str, str] | None = None) -> None:
    """A window needs a display. Without one, Qt prints several lines and aborts the
    process (exit 134); say it in one line and how to do without."""
    env = os.environ if env is None else env
    if not sys.platform.startswith("linux") or env.get("QT_QPA_PLATFORM"):
        return  # Windows/macOS always have one; an explicit Qt platform is the user's
    if not (env.get("DISPLAY") or env.get("WAYLAND_DISPLAY")):
        raise MicroclimateError(
            "no display for the window (DISPLAY and WAYLAND_DISPLAY are unset); run it on "
            "a desktop, or headless: xvfb-run -a microclimate gui --screenshot out.png, or "
            "use the commands (microclimate --help)")


def run(args: argparse.Namespace) -> int:
    check_display()
    # Qt is imported only when a window is wanted, so headless commands stay light.
    from desktop_app.gui.app import end_process, run_gui

    end_process(run_gui(data_path=args.data, screenshot=args.screenshot))
