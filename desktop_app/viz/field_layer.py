"""A time stack of 2-D fields resident on the GPU as one 3-D texture.

Every step is uploaded once (normalised to 16 bits over fixed colour limits, 0 kept for
NaN); moving the time slider changes one uniform, so scrubbing and animation never
re-upload a frame. Changing the colormap swaps a shader function, again no upload.
Values shown to the user (hover, export) always come from the float data, never from
the texture, so the 16-bit display quantisation cannot change a reported number.

Speed under software GL (Mesa llvmpipe, what a desktop without a GPU driver draws with):
a time step redraws every pixel of the field, so the fragment shader is kept to two
nearest-neighbour fetches (the frame, then a 1024-entry RGBA8 colour table) instead of
vispy's colormap functions (a float table with linear filtering, or a chain of mixes),
and blending is on only when the field is see-through (over the terrain shading).

A big stack (a week of hourly 1024x1024 frames) goes up in slices of frames
(:meth:`FieldStackVisual.begin_frames`, then :meth:`~FieldStackVisual.upload_frames` per
slice, which the map canvas spreads over the event loop): each slice is encoded on its
own, so no copy of the whole stack is made besides the texture itself.
"""

from __future__ import annotations

import numpy as np
from vispy import gloo
from vispy.color import get_colormap
from vispy.color.colormap import BaseColormap
from vispy.scene.visuals import create_visual_node
from vispy.visuals import Visual

_VERT = """
attribute vec2 a_position;
varying vec2 v_uv;
void main() {
    v_uv = a_position / $grid_size;
    gl_Position = $transform(vec4(a_position, 0.0, 1.0));
}
"""

_FRAG = """
varying vec2 v_uv;
void main() {
    float raw = texture3D($frames, vec3(v_uv, $layer)).r;
    if (raw < 0.5 / 65535.0) discard;  // 0 encodes NaN: transparent
    // 1..65535 -> the colour table's texel centres 0.5/N..(N-0.5)/N
    float v = (raw * 65535.0 - 1.0) / 65534.0 * $lut_scale + $lut_offset;
    vec4 color = texture2D($lut, vec2(v, 0.5));
    gl_FragColor = vec4(color.rgb, color.a * $opacity);
}
"""

MAX_3D_TEXTURE = 2048  # GL guarantees 256; desktop drivers and Mesa llvmpipe give 2048
LUT_SIZE = 1024  # colour table entries: steps of 1/1023 of the range, below what shows


def colour_table(cmap: BaseColormap) -> np.ndarray:
    """(1, LUT_SIZE, 4) RGBA8 table of ``cmap`` at 0, 1/1023, ..., 1."""
    rgba = np.asarray(cmap.map(np.linspace(0.0, 1.0, LUT_SIZE, dtype=np.float32)[:, None]))
    return np.rint(np.clip(rgba, 0.0, 1.0) * 255.0).astype(np.uint8)[None]


def encode_uint16(frames: np.ndarray, clim: tuple[float, float]) -> np.ndarray:
    """Map values to 1..65535 over ``clim`` (clipped, rounded), NaN and infinities to
    0. Works in one float32 buffer the size of ``frames`` (a slice of the stack)."""
    lo, hi = clim
    scale = np.float32(65534.0 / (hi - lo) if hi > lo else 0.0)
    buf = np.subtract(frames, np.float32(lo), dtype=np.float32)
    buf *= scale
    np.clip(buf, 0.0, 65534.0, out=buf)
    np.copyto(buf, -1.0, where=~np.isfinite(frames))  # -> 0 below, with no cast of NaN
    buf += 1.5  # 1..65535, and truncation below rounds to the nearest
    return buf.astype(np.uint16)


class FieldStackVisual(Visual):
    """Draws frame ``layer`` of a (time, ny, nx) stack in cell units: x=column, y=row."""

    def __init__(self) -> None:
        super().__init__(vcode=_VERT, fcode=_FRAG)
        self._n_frames = 1
        self._vbo = gloo.VertexBuffer(np.zeros((6, 2), np.float32))
        self._texture = gloo.Texture3D(np.zeros((1, 1, 1), np.uint16), format="luminance",
                                       internalformat="r16", interpolation="nearest")
        self._lut = gloo.Texture2D(np.zeros((1, LUT_SIZE, 4), np.uint8),
                                   interpolation="nearest")
        self.shared_program["a_position"] = self._vbo
        self.shared_program.frag["frames"] = self._texture
        self.shared_program.frag["lut"] = self._lut
        self.shared_program.frag["lut_scale"] = (LUT_SIZE - 1.0) / LUT_SIZE
        self.shared_program.frag["lut_offset"] = 0.5 / LUT_SIZE
        self.shared_program.vert["grid_size"] = (1.0, 1.0)
        self.set_gl_state("translucent", cull_face=False)
        self._draw_mode = "triangles"
        self.cmap_name = "viridis"
        self.clim: tuple[float, float] = (0.0, 1.0)
        self.layer = 0
        self.field_opacity = 1.0
        self._bounds: tuple[tuple[float, float], tuple[float, float]] | None = None
        inf = float("inf")
        self._shown = (-inf, inf, -inf, inf)
        self.uploads = 0  # steps sent to the GPU so far (tests check scrubbing)
        self.set_cmap("viridis")
        self.set_layer(0)
        self.set_opacity(1.0)

    @staticmethod
    def fits(shape: tuple[int, ...]) -> bool:
        return all(n <= MAX_3D_TEXTURE for n in shape)

    def set_frames(self, frames: np.ndarray, clim: tuple[float, float]) -> None:
        """Upload the whole (time, ny, nx) stack at once."""
        frames = np.asarray(frames)
        self.begin_frames(frames.shape, clim)
        self.upload_frames(frames, 0, frames.shape[0])

    def begin_frames(self, shape: tuple[int, ...], clim: tuple[float, float]) -> None:
        """Make room on the GPU for a (time, ny, nx) stack; steps not uploaded yet are
        undefined until :meth:`upload_frames` fills them."""
        if len(shape) != 3 or not self.fits(shape):
            raise ValueError(f"frame stack of shape {shape} does not fit a 3-D texture")
        nt, ny, nx = (int(n) for n in shape)
        self.clim = clim
        self._n_frames = nt
        if self._texture.shape[:3] != (nt, ny, nx):  # another variable, same grid: reuse
            self._texture.resize((nt, ny, nx))
        self.shared_program.vert["grid_size"] = (float(nx), float(ny))
        self._bounds = ((0.0, float(nx)), (0.0, float(ny)))
        self.show_cells(*self._shown)
        self.set_layer(min(self.layer, nt - 1))

    def show_cells(self, x0: float, x1: float, y0: float, y1: float) -> None:
        """Draw only the part of the grid inside x0..x1, y0..y1 (cell units): the quad
        is cut to what is on screen, so no per-pixel clipping test is needed."""
        self._shown = (x0, x1, y0, y1)
        if self._bounds is None:
            return
        (gx0, gx1), (gy0, gy1) = self._bounds
        a, b = max(gx0, x0), min(gx1, x1)
        c, d = max(gy0, y0), min(gy1, y1)
        if a >= b or c >= d:
            a = b = c = d = 0.0  # off screen: an empty quad
        quad = np.array([[a, c], [b, c], [b, d], [a, c], [b, d], [a, d]], np.float32)
        self._vbo.set_data(quad)
        self.update()

    def upload_frames(self, frames: np.ndarray, start: int, stop: int) -> None:
        """Encode and upload ``frames[start:stop]`` into the stack begun last."""
        self._texture.set_data(encode_uint16(frames[start:stop], self.clim),
                               offset=(start, 0, 0))
        self.uploads += stop - start
        self.update()

    def upload_rows(self, frames: np.ndarray, t: int, row0: int, row1: int) -> None:
        """Encode and upload rows ``row0:row1`` of step ``t``; ``uploads`` counts the
        step once its last row is in."""
        self._texture.set_data(encode_uint16(frames[t:t + 1, row0:row1], self.clim),
                               offset=(t, row0, 0))
        if row1 >= frames.shape[1]:
            self.uploads += 1
        if t == self.layer:  # rows of a step not on screen need no redraw (a frame's cost)
            self.update()

    def set_layer(self, t: int) -> None:
        self.layer = int(t)
        self.shared_program.frag["layer"] = (self.layer + 0.5) / self._n_frames
        self.update()

    def set_cmap(self, name: str | BaseColormap) -> None:
        self.cmap_name = name if isinstance(name, str) else getattr(name, "name", "custom")
        self._lut.set_data(colour_table(get_colormap(name)))
        self.update()

    def set_opacity(self, opacity: float) -> None:
        self.field_opacity = float(opacity)
        self.shared_program.frag["opacity"] = self.field_opacity
        # an opaque field needs no blending (a cost per pixel in software GL); NaN cells
        # are discarded either way, so what lies below still shows through them
        self.set_gl_state(blend=self.field_opacity < 1.0, depth_test=False,
                          cull_face=False,
                          blend_func=("src_alpha", "one_minus_src_alpha"))
        self.update()

    def _prepare_transforms(self, view: object) -> None:
        view.view_program.vert["transform"] = view.get_transform()  # type: ignore[attr-defined]

    def _compute_bounds(self, axis: int, view: object) -> tuple[float, float] | None:
        return self._bounds[axis] if self._bounds is not None and axis < 2 else None


FieldStack = create_visual_node(FieldStackVisual)
