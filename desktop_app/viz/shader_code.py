"""vispy's shader programs, parsed without its quadratic comment strip.

Before vispy reads a program's variables it removes ``//`` comments with
``re.sub(r'(.*)(//.*)', r'\\1', code, flags=re.M)``. Python's regex engine tries that
pattern from every position of every line and backtracks over the rest of the line each
time: quadratic in the line length. For the map's dozen programs it was the largest
single cost of the first frame after the imports (0.2-0.3 s on the 2-core machine).
:func:`strip_line_comments` gives the same string in one pass: each line cut at its
last ``//`` (the greedy first group makes the last one the match). :func:`fast_shader_parsing`
routes exactly that call to it; every other use of ``re`` in the module is untouched.

It then reads each kind of variable with a regex that starts ``\\s*uniform\\s+...``: from
every position of a run of indentation the engine takes the whole run and gives it back
again, so each run costs the square of its length, six times over (one pass per kind).
The map's 12 programs are 450,000 characters, mostly indentation: 107 ms. The same
patterns without the leading ``\\s*`` (:func:`variable_patterns`) find the same matches,
the same groups, in 3 ms: a match can only begin where the kind's word begins, the
leading spaces are in no group, and what follows is the same pattern.

Each shader function's own variables are read line by line with a pattern given as a
string (``re.match(r"\\s*" + ..., line)``): 8,600 lines at start-up, each a trip through
``re``'s pattern cache, 38 ms. :func:`find_program_variables` compiles it once and skips
the lines that cannot match (the pattern ends in ``=`` or ``;``, so a line with neither
has no declaration): the same dict, in a fraction of the time.
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


LEADING_SPACE = r"\s*"
vispy_variable_patterns: dict[str, re.Pattern[str]] = {}  # vispy's own (for the tests)


def variable_patterns(patterns: dict[str, re.Pattern[str]]) -> dict[str, re.Pattern[str]]:
    """vispy's ``REGEX_VAR`` without each pattern's leading ``\\s*``; {} where a pattern
    is not the one expected (it does not start ``\\s*<kind>\\s+``)."""
    faster = {}
    for kind, pattern in patterns.items():
        if not pattern.pattern.startswith(LEADING_SPACE + kind + r"\s+"):
            return {}
        faster[kind] = re.compile(pattern.pattern[len(LEADING_SPACE):], pattern.flags)
    return faster


_program_variable: re.Pattern[str] | None = None
vispy_find_program_variables: Any = None  # vispy's own (for the tests)


def find_program_variables(code: str) -> dict[str, tuple[str, str]]:
    """vispy's ``parsing.find_program_variables``: the same pattern, compiled once, on
    the lines that hold an ``=`` or a ``;``."""
    global _program_variable
    if _program_variable is None:
        from vispy.visuals.shaders import parsing

        _program_variable = re.compile(r"\s*" + parsing.re_prog_var_declaration + r"\s*(=|;)")
    found: dict[str, tuple[str, str]] = {}
    for line in code.split("\n"):
        if ";" not in line and "=" not in line:
            continue
        m = _program_variable.match(line)
        if m is not None:
            vtype, dtype, names = m.groups()[:3]
            for name in names.split(","):
                found[name.strip()] = (vtype, dtype)
    return found


def fast_shader_parsing() -> bool:
    """Install the one-pass comment strip and the variable patterns without the leading
    ``\\s*`` in vispy's program module (once); False where vispy is not as expected, and
    then nothing changes."""
    try:
        from vispy.gloo import program
    except ImportError:
        return False
    current = getattr(program, "re", None)
    if isinstance(current, _CommentStripRe):
        return True
    patterns = getattr(program, "REGEX_VAR", None)
    if current is not re or not isinstance(patterns, dict):
        return False
    faster = variable_patterns(patterns)
    if not faster:
        return False
    global vispy_find_program_variables
    from vispy.visuals.shaders import parsing

    if not isinstance(getattr(parsing, "re_prog_var_declaration", None), str) or not callable(
            getattr(parsing, "find_program_variables", None)):
        return False
    vispy_variable_patterns.update(patterns)
    patterns.update(faster)  # (the dict vispy's parser reads at each call)
    vispy_find_program_variables = parsing.find_program_variables
    parsing.find_program_variables = find_program_variables  # (looked up at each call)
    program.re = _CommentStripRe()
    return True
