"""What the window does to start faster (issue 22), checked on its real map: the label
glyphs reach the disk after its frames (the next launch reads their distance fields
instead of working them out again), and its shader programs are parsed as vispy would."""

from __future__ import annotations

import gc
import re

import pytest

from desktop_app.viz import glyphs
from desktop_app.viz.shader_code import VISPY_PATTERN, fast_shader_parsing, strip_line_comments

pytestmark = pytest.mark.gui


def test_the_window_saves_the_glyphs_it_labelled_with(window, qtbot):
    cache = glyphs.distance_fields  # installed by the first map canvas of the process
    assert cache is not None
    assert window.map.drawn.disconnect(cache.save_soon)  # saves after the map's frames
    window.map.drawn.connect(cache.save_soon)
    qtbot.waitUntil(lambda: not cache.dirty, timeout=glyphs.SAVE_DELAY_MS + 10000)
    # what the next launch reads (its own file, or the fields the app ships while it has
    # none) holds every field this window used
    from desktop_app.paths import resources_dir

    stored = glyphs.DistanceFieldCache(
        cache.path, glyphs.distance_field_file(resources_dir() / "glyphs"))
    assert stored.fields.keys() == cache.fields.keys()
    # the labels on screen (graticule degrees, station names, colour bar) are in it
    assert len(stored.fields) >= 20


def test_the_maps_programs_are_parsed_the_same(window):
    from vispy.gloo import Program
    from vispy.gloo import program as program_module

    assert fast_shader_parsing()
    assert program_module.re.sub is not re.sub  # installed in vispy's module only
    assert re.sub(VISPY_PATTERN, r"\1", "a // b", flags=re.M) == "a "  # ours untouched
    codes = {"\n\n".join(sh.code for sh in p.shaders) for p in gc.get_objects()
             if issubclass(type(p), Program) and p.shaders and all(p.shaders)}
    assert len(codes) >= 6  # field, lines, markers, text, colour bar ...
    assert sum(c.count("//") for c in codes) > 10  # with comments to strip
    for code in codes:
        assert strip_line_comments(code) == re.sub(VISPY_PATTERN, r"\1", code, flags=re.M)
    # and their variables read with the patterns that lack the leading \s*: the same
    from desktop_app.viz.shader_code import vispy_variable_patterns

    assert program_module.REGEX_VAR["uniform"] is not vispy_variable_patterns["uniform"]

    def found(patterns, code):
        return [(kind, m.group("type"), m.group("name"), m.group("size"))
                for kind in patterns for m in patterns[kind].finditer(code)]

    stripped = [strip_line_comments(code) for code in codes]
    assert sum(len(found(vispy_variable_patterns, c)) for c in stripped) > 30
    for code in stripped:
        assert found(program_module.REGEX_VAR, code) == found(vispy_variable_patterns, code)
    # and each shader function's own variables, read line by line: the same dicts
    from vispy.visuals.shaders import parsing
    from vispy.visuals.shaders.function import Function

    from desktop_app.viz import shader_code

    assert parsing.find_program_variables is shader_code.find_program_variables
    functions = {f._code for f in gc.get_objects()
                 if isinstance(f, Function) and isinstance(getattr(f, "_code", None), str)}
    assert len(functions) > 20
    results = [shader_code.find_program_variables(c) for c in functions]
    assert sum(map(len, results)) > 20
    assert results == [shader_code.vispy_find_program_variables(c) for c in functions]


def test_the_time_stack_reaches_the_gpu_through_vispys_ctypes_binding(window):
    from vispy.gloo import glir

    from desktop_app.viz import texture_calls

    assert texture_calls.ctypes_texture_calls()
    for name, ours in texture_calls.REPLACEMENTS.items():
        assert getattr(glir, name) is ours
        assert texture_calls.replaced[name] is not ours  # vispy's PyOpenGL-backed call
    # the shown step came through them: the stack is a 3-D texture, uploaded and drawn
    assert "glTexImage3D" in texture_calls._natives
    assert "glTexSubImage3D" in texture_calls._natives
    assert glir.USE_TEX_3D
