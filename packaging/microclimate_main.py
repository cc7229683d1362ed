"""Entry point of the frozen app: the same ``microclimate`` command as the venv's."""

import sys

from desktop_app.cli import main

if __name__ == "__main__":
    sys.exit(main())
