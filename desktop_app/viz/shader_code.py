"""vispy's shader programs, parsed without its quadratic comment strip.

Before vispy reads a program's variables it removes ``//`` comments with
``re.sub(r'(.*)(//.*)', r'\\1', code, flags=re.M)``. Python's regex engine tries that
pattern from every position of every line and backtracks over the rest of the line each
time: quadratic in the line length. For the map's dozen programs it was the largest
single cost of the first frame after the imports (0.2-0.3 s on the 2-core machine).
:func:`strip_line_comments` gives the same string in one pass: each line cut at its
last ``//`` (the greedy first group makes the last one the match). :func:`fast_shader_parsing`
routes exactly that call to it; every other use of ``re`` in the module is untouched.
"""

from __future__ import annotations

import re
from typing import Any

VISPY_PATTERN = r"(.*)(//.*)"


def strip_line_comments(code: str) -> str:
    """``re.sub(VISPY_PATTERN, r'\\1', code, flags=re.M)``, in one pass."""
    return "\n".join(line[:line.rfind("//")] if "//" in line else line
                     for line in code.split("\n"))


class _CommentStripRe:
    """The ``re`` module as vispy's program module sees it, with its comment strip
    answered by :func:`strip_line_comments`."""

    def __getattr__(self, name: str) -> Any:
        return getattr(re, name)

    @staticmethod
    def sub(pattern: Any, repl: Any, string: str, count: int = 0, flags: Any = 0) -> str:
        if pattern == VISPY_PATTERN and repl == r"\1" and count == 0 and flags == re.M:
            return strip_line_comments(string)
        return re.sub(pattern, repl, string, count=count, flags=flags)


def fast_shader_parsing() -> bool:
    """Install the one-pass comment strip in vispy's program module (once); False where
    vispy is not as expected, and then nothing changes."""
    try:
        from vispy.gloo import program
    except ImportError:
        return False
    current = getattr(program, "re", None)
    if isinstance(current, _CommentStripRe):
        return True
    if current is not re:
        return False
    program.re = _CommentStripRe()
    return True
