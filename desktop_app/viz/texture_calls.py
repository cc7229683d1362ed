"""vispy's 1-D and 3-D texture uploads through its own ctypes OpenGL binding.

vispy's 2-D calls go through ctypes (``vispy.gloo.gl.gl2``), but it imports PyOpenGL for
the first 1-D or 3-D texture call. The map's time stack is a 3-D texture, so the first
frame paid for PyOpenGL's import: about 1,300 wrapped functions and their enums, 0.15-0.3 s
on the 2-core machine, for two calls. :func:`ctypes_texture_calls` gives vispy the same
four calls, with its signatures and argument order, through the function lookup its
ctypes binding uses for every other call (the GL library's export, or wglGetProcAddress on
Windows), looked up at the first call, when a context is current.
"""

from __future__ import annotations

import ctypes
from collections.abc import Callable
from typing import Any

import numpy as np

_natives: dict[str, Any] = {}
_INT, _UINT, _PTR = ctypes.c_int, ctypes.c_uint, ctypes.c_void_p
SIGNATURES = {  # OpenGL 1.2 core (3-D) and 1.0 (1-D), as in the GL headers
    "glTexImage3D": (_UINT, _INT, _INT, _INT, _INT, _INT, _INT, _UINT, _UINT, _PTR),
    "glTexSubImage3D": (_UINT, _INT, _INT, _INT, _INT, _INT, _INT, _INT, _UINT, _UINT, _PTR),
    "glTexImage1D": (_UINT, _INT, _INT, _INT, _INT, _UINT, _UINT, _PTR),
    "glTexSubImage1D": (_UINT, _INT, _INT, _INT, _UINT, _UINT, _PTR),
}


def _native(name: str) -> Callable[..., None]:
    func = _natives.get(name)
    if func is None:
        from vispy.gloo.gl import gl2

        func = _natives[name] = gl2._get_gl_func(name, None, SIGNATURES[name])
    return func


def _pixels(data: np.ndarray) -> tuple[np.ndarray, int]:
    data = np.ascontiguousarray(data)
    return data, data.ctypes.data  # (the array is kept alive by the caller's frame)


def _mark_used() -> None:
    from vispy.gloo import glir

    glir.USE_TEX_3D = True  # as vispy's own calls do: its draws then unbind 1-D/3-D too


def tex_image_3d(target: int, level: int, internalformat: int, format: int, type: int,
                 pixels: tuple[int, int, int]) -> None:
    _mark_used()
    depth, height, width = pixels
    _native("glTexImage3D")(target, level, internalformat, width, height, depth, 0, format,
                            type, None)


def tex_sub_image_3d(target: int, level: int, xoffset: int, yoffset: int, zoffset: int,
                     format: int, type: int, pixels: np.ndarray) -> None:
    _mark_used()
    data, address = _pixels(pixels)
    depth, height, width = data.shape[:3]
    _native("glTexSubImage3D")(target, level, xoffset, yoffset, zoffset, width, height, depth,
                               format, type, address)


def tex_image_1d(target: int, level: int, internalformat: int, format: int, type: int,
                 pixels: tuple[int]) -> None:
    _mark_used()
    _native("glTexImage1D")(target, level, internalformat, pixels[0], 0, format, type, None)


def tex_sub_image_1d(target: int, level: int, xoffset: int, format: int, type: int,
                     pixels: np.ndarray) -> None:
    _mark_used()
    data, address = _pixels(pixels)
    _native("glTexSubImage1D")(target, level, xoffset, data.shape[0], format, type, address)


REPLACEMENTS = {"glTexImage3D": tex_image_3d, "glTexSubImage3D": tex_sub_image_3d,
                "glTexImage1D": tex_image_1d, "glTexSubImage1D": tex_sub_image_1d}
replaced: dict[str, Any] = {}  # vispy's own functions, once replaced (for the tests)


def ctypes_texture_calls() -> bool:
    """Install the four calls in ``vispy.gloo.glir`` (once); False where vispy's modules
    are not as expected (its default ctypes binding, the four PyOpenGL-backed functions),
    and then nothing changes."""
    try:
        from vispy.gloo import glir
        from vispy.gloo.gl import gl2
    except ImportError:
        return False
    if all(getattr(glir, name, None) is ours for name, ours in REPLACEMENTS.items()):
        return True
    if not callable(getattr(gl2, "_get_gl_func", None)) or not all(
            callable(getattr(glir, name, None)) for name in REPLACEMENTS):
        return False
    for name, ours in REPLACEMENTS.items():
        replaced[name] = getattr(glir, name)
        setattr(glir, name, ours)
    return True
