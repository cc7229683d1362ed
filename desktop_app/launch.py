"""The ``microclimate`` program's entry point: start-up without the cyclic collector.

From the interpreter's start to the window's first map frame Python creates about
120,000 container objects (the imports, then the vispy scene), and the cyclic garbage
collector walked them some 300 times on the way: 160-210 ms of a 2.1-2.3 s launch on the
2-core machine, two full collections of 40-110 ms among them. Nothing built at start-up
is cyclic garbage worth that. The collector is therefore off from here until the command
is under way: a headless command turns it back on as soon as its arguments are parsed
(:func:`desktop_app.cli.main`), the window once its first frame is drawn, or after
:data:`desktop_app.gui.app.COLLECTOR_OFF_AT_MOST_MS` if no frame comes.
"""

from __future__ import annotations

import gc


def main() -> int:
    gc.disable()
    try:
        from desktop_app.cli import main as cli_main

        return cli_main()
    finally:
        gc.enable()  # (whatever happened on the way)
