"""A time stack of 2-D fields resident on the GPU as one 3-D texture.

Every step is uploaded once (normalised to 16 bits over fixed colour limits, 0 kept for
NaN); moving the time slider changes one uniform, so scrubbing and animation never
re-upload a frame. Changing the colormap swaps a shader function, again no upload.
Values shown to the user (hover, export) always come from the float data, never from
the texture, so the 16-bit display quantisation cannot change a reported number.

A big stack (a week of hourly 1024x1024 frames) goes up in slices of frames
(:meth:`FieldStackVisual.begin_frames`, then :meth:`~FieldStackVisual.upload_frames`
per slice, which the map canvas spreads over the event loop): each slice is encoded on
its own, so no float32 copy of the whole stack is ever made, and the window keeps
answering while the rest of the week uploads.
"""

from __future__ import annotations

import numpy as np
from vispy import gloo
from vispy.color import get_colormap
from vispy.scene.visuals import create_visual_node
from vispy.visuals import Visual
from vispy.visuals.shaders import Function

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
    float v = (raw * 65535.0 - 1.0) / 65534.0;
    vec4 color = $cmap(v);
    gl_FragColor = vec4(color.rgb, color.a * $opacity);
}
"""

MAX_3D_TEXTURE = 2048  # GL guarantees 256; desktop drivers and Mesa llvmpipe give 2048


def encode_uint16(frames: np.ndarray, clim: tuple[float, float]) -> np.ndarray:
    """Map values to 1..65535 over ``clim`` (clipped), NaN to 0."""
    lo, hi = clim
    scale = 65534.0 / (hi - lo) if hi > lo else 0.0
    norm = np.clip((np.asarray(frames, np.float32) - lo) * scale, 0.0, 65534.0) + 1.0
    return np.where(np.isfinite(frames), np.rint(norm), 0.0).astype(np.uint16)


class FieldStackVisual(Visual):
    """Draws frame ``layer`` of a (time, ny, nx) stack in cell units: x=column, y=row."""

    def __init__(self) -> None:
        super().__init__(vcode=_VERT, fcode=_FRAG)
        self._n_frames = 1
        self._vbo = gloo.VertexBuffer(np.zeros((6, 2), np.float32))
        self._texture = gloo.Texture3D(np.zeros((1, 1, 1), np.uint16), format="luminance",
                                       internalformat="r16", interpolation="nearest")
        self.shared_program["a_position"] = self._vbo
        self.shared_program.frag["frames"] = self._texture
        self.shared_program.vert["grid_size"] = (1.0, 1.0)
        self.set_gl_state("translucent", cull_face=False)
        self._draw_mode = "triangles"
        self.cmap_name = "viridis"
        self.clim: tuple[float, float] = (0.0, 1.0)
        self.layer = 0
        self.field_opacity = 1.0
        self._bounds: tuple[tuple[float, float], tuple[float, float]] | None = None
        self.uploads = 0  # how many times frames went to the GPU (tests check scrubbing)
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
        """Make room on the GPU for a (time, ny, nx) stack; frames not uploaded yet are
        undefined until :meth:`upload_frames` fills them."""
        if len(shape) != 3 or not self.fits(shape):
            raise ValueError(f"frame stack of shape {shape} does not fit a 3-D texture")
        nt, ny, nx = (int(n) for n in shape)
        self.clim = clim
        self._n_frames = nt
        if self._texture.shape[:3] != (nt, ny, nx):  # another variable, same grid: reuse
            self._texture.resize((nt, ny, nx))
        quad = np.array([[0, 0], [nx, 0], [nx, ny], [0, 0], [nx, ny], [0, ny]], np.float32)
        self._vbo.set_data(quad)
        self.shared_program.vert["grid_size"] = (float(nx), float(ny))
        self._bounds = ((0.0, float(nx)), (0.0, float(ny)))
        self.set_layer(min(self.layer, nt - 1))

    def upload_frames(self, frames: np.ndarray, start: int, stop: int) -> None:
        """Encode and upload ``frames[start:stop]`` into the stack begun last."""
        self._texture.set_data(encode_uint16(frames[start:stop], self.clim),
                               offset=(start, 0, 0))
        self.uploads += 1
        self.update()

    def set_layer(self, t: int) -> None:
        self.layer = int(t)
        self.shared_program.frag["layer"] = (self.layer + 0.5) / self._n_frames
        self.update()

    def set_cmap(self, name: str) -> None:
        self.cmap_name = name
        cmap = get_colormap(name)
        self.shared_program.frag["cmap"] = Function(cmap.glsl_map)
        # LUT-based colormaps sample a 2-D lookup texture (as vispy's own Image does)
        self.shared_program["texture2D_LUT"] = (
            cmap.texture_lut() if hasattr(cmap, "texture_lut") else None
        )
        self.update()

    def set_opacity(self, opacity: float) -> None:
        self.field_opacity = float(opacity)
        self.shared_program.frag["opacity"] = self.field_opacity
        self.update()

    def _prepare_transforms(self, view: object) -> None:
        view.view_program.vert["transform"] = view.get_transform()  # type: ignore[attr-defined]

    def _compute_bounds(self, axis: int, view: object) -> tuple[float, float] | None:
        return self._bounds[axis] if self._bounds is not None and axis < 2 else None


FieldStack = create_visual_node(FieldStackVisual)
