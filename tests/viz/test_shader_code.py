"""The one-pass comment strip gives vispy's regex result, on any text and on the map's own
shader programs."""

from __future__ import annotations

import re

import pytest
from hypothesis import given
from hypothesis import strategies as st

from desktop_app.viz.shader_code import VISPY_PATTERN, strip_line_comments


def vispy_strip(code: str) -> str:
    return re.sub(VISPY_PATTERN, r"\1", code, flags=re.M)


@pytest.mark.parametrize("code", ["", "\n", "a // b // c", "x///y", "//", "a/b/c//",
                                  "uniform vec4 u;  // colour\r\nvoid main() {}\n// end"])
def test_the_awkward_lines(code):
    assert strip_line_comments(code) == vispy_strip(code)


@given(st.text(alphabet="/ a\n\r\t;", max_size=80))
def test_any_text(code):
    assert strip_line_comments(code) == vispy_strip(code)
