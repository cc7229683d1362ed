"""Entry point of the frozen app: the same ``microclimate`` command as the venv's."""

import os
import sys

from desktop_app.launch import main

if __name__ == "__main__":
    code = main()
    # Every output is written and renamed into place by now. In the bundle, the
    # interpreter's final garbage collection of the C extensions (Qt/vispy, GDAL and PROJ
    # loaded side by side) has aborted after a successful run ("bool_dealloc" at
    # finalization); end the process here instead of running that teardown.
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(code)
