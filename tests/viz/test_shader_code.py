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


# -- the variable patterns without their leading \s* ----------------------------------------
KINDS = ("uniform", "attribute", "varying", "const", "in", "out")


def _vispy_patterns():
    from vispy.gloo import program

    from desktop_app.viz import shader_code

    shader_code.fast_shader_parsing()
    return shader_code.vispy_variable_patterns or dict(program.REGEX_VAR)


def _found(patterns, code):
    return [(kind, m.group("type"), m.group("name"), m.group("size"))
            for kind in KINDS for m in patterns[kind].finditer(code)]


def test_the_faster_patterns_are_vispys_without_the_leading_space():
    from desktop_app.viz.shader_code import variable_patterns

    vispy = _vispy_patterns()
    faster = variable_patterns(vispy)
    assert sorted(faster) == sorted(KINDS)
    for kind in KINDS:
        assert r"\s*" + faster[kind].pattern == vispy[kind].pattern
        assert faster[kind].flags == vispy[kind].flags
    assert variable_patterns({"uniform": re.compile(r"uniform\s+(?P<name>\w+);")}) == {}


_TOKENS = st.sampled_from([*KINDS, "highp", "lowp", "vec4", "float", "u_x", "main", "min",
                           "margin", "[3]", "[", "]", "=", "1.5", ";", ",", " ", "  ",
                           "\t", "\n", "\n        ", "(", ")", "{", "}"])


@given(st.lists(_TOKENS, max_size=40).map("".join))
def test_same_variables_on_any_glsl_like_text(code):
    from desktop_app.viz.shader_code import variable_patterns

    vispy = _vispy_patterns()
    assert _found(variable_patterns(vispy), code) == _found(vispy, code)


@pytest.mark.parametrize("code", [
    "uniform vec4 u_color;\nattribute vec2 a_pos;\n",
    "    uniform   highp   float  u_k [4] = 1.0 ;\n",
    "void main() { float min = 0.0; }\nin vec3 v_normal;\nout vec4 frag;\n",
    "const float PI = 3.14;\n\n\n        varying vec2 v_uv;",
])
def test_same_variables_on_shader_lines(code):
    from desktop_app.viz.shader_code import variable_patterns

    vispy = _vispy_patterns()
    found = _found(variable_patterns(vispy), code)
    assert found == _found(vispy, code) and found


# -- a shader function's own variables, line by line ----------------------------------------
def _vispy_find_program_variables():
    from vispy.visuals.shaders import parsing

    from desktop_app.viz import shader_code

    shader_code.fast_shader_parsing()
    assert parsing.find_program_variables is shader_code.find_program_variables
    return shader_code.vispy_find_program_variables


_LINE_TOKENS = st.sampled_from([*KINDS, "inout", "vec4", "float", "sampler2D", "mat4",
                                "a_pos", "u_k", "$tmpl", ",", " ", "  ", "\t", "=", ";",
                                "1.0", "\n", "(", ")", "//"])


@given(st.lists(_LINE_TOKENS, max_size=40).map("".join))
def test_same_function_variables_on_any_glsl_like_text(code):
    from desktop_app.viz.shader_code import find_program_variables

    assert find_program_variables(code) == _vispy_find_program_variables()(code)


def test_same_function_variables_on_declarations():
    from desktop_app.viz.shader_code import find_program_variables

    code = ("uniform vec4 u_color;\n  attribute float x, y ,z;\nvarying vec2 v_uv = 0.0;\n"
            "const mat4 M;\nvec4 plain(vec4 p) { return p; }\nin vec3 v_n;")
    found = find_program_variables(code)
    assert found == _vispy_find_program_variables()(code)
    assert found["u_color"] == ("uniform", "vec4") and found["z"] == ("attribute", "float")
