"""A scene canvas that redraws only the field while the time slider moves.

Stepping through time changes one uniform of the field; everything drawn above it
(basemap lines, graticule, place names, stations, scale bar, colour bar) stays as it
was. Under software GL (Mesa llvmpipe, what Xvfb and many remote desktops give) those
layers cost more per frame than the field itself: a dozen draw calls of Python and
their triangles and glyphs rasterised again each frame. So when a frame differs from
the last only in the field, the canvas draws what lies above the field once into a
texture and then composites that one texture over the live field.

It is a cache, never a second picture: any change to any other node of the scene
(``SceneCanvas.update(node=...)`` from that node, or an update without a node: a
resize, a camera move) makes the next frame a plain full draw, and the cache is made
again only at the next field-only frame. Offscreen renders (``canvas.render()``, the
exports) always take the plain path. "Over" is associative, so compositing the
pre-blended layers gives the full draw's colours to within 8-bit rounding;
``tests/gui/test_overlay_cache.py`` compares the two pixel by pixel.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from vispy import gloo, scene
from vispy.scene import Node

_VERT = """
attribute vec2 a_position;
varying vec2 v_tex;
void main() {
    v_tex = 0.5 * (a_position + 1.0);
    gl_Position = vec4(a_position, 0.0, 1.0);
}
"""

# the texture holds colours already multiplied by their alpha (see _blend_into_cache)
_FRAG = """
uniform sampler2D u_layers;
varying vec2 v_tex;
void main() {
    gl_FragColor = texture2D(u_layers, v_tex);
}
"""

# straight alpha blending; into the cache its alpha must add up too ("over")
_ALPHA_BLEND = ("src_alpha", "one_minus_src_alpha")
_ALPHA_OVER = ("one", "one_minus_src_alpha")


class CachedOverlayCanvas(scene.SceneCanvas):
    """A SceneCanvas whose ``live_node`` is drawn each frame and everything drawn after
    it from a cached texture while only ``live_node`` changes."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        self.live_node: Node | None = None
        self.cache_enabled = True
        self.cached_frames = 0  # frames drawn with the cache (tests and benchmarks)
        self._dirty = True  # something besides the live node changed since the last frame
        self._cache: gloo.FrameBuffer | None = None
        self._cache_size: tuple[int, int] = (0, 0)
        self._cache_valid = False
        self._quad: gloo.Program | None = None
        super().__init__(*args, **kwargs)

    def update(self, node: Node | None = None) -> None:
        if node is None or node is not self.live_node:
            self._dirty = True
        super().update(node)

    def _draw_scene(self, bgcolor: Any = None) -> None:
        live = self.live_node
        usable = (self.cache_enabled and live is not None and live.visible
                  and not self._fb_stack)  # an offscreen render: the plain path
        if not usable or self._dirty:
            self._dirty = False
            self._cache_valid = False
            super()._draw_scene(bgcolor)
            return
        assert live is not None
        order = self._draw_order.get(self.scene)
        if order is None:
            order = self._draw_order[self.scene] = self._generate_draw_order()
        size = tuple(int(v) for v in self.physical_size)
        self._drawing = True  # (updates asked for while drawing are dropped, as vispy does)
        try:
            if not self._cache_valid or size != self._cache_size:
                self._fill_cache(order, live, (size[0], size[1]))
            self.context.clear(color=self._bgcolor if bgcolor is None else bgcolor,
                               depth=True)
            self._draw_part(order, live, before=True)
            live.draw()
            assert self._quad is not None
            gloo.set_state(blend=True, depth_test=False, cull_face=False,
                           blend_func=_ALPHA_OVER, blend_equation="func_add")
            self._quad.draw("triangle_strip")
        finally:
            self._drawing = False
        self.cached_frames += 1

    @staticmethod
    def _draw_part(order: list[tuple[Node, bool]], live: Node, before: bool) -> None:
        """Draw the visible nodes that come before (or after) ``live`` in draw order."""
        hidden: Node | None = None
        side_before = True
        for node, start in order:
            if node is live:
                side_before = False
                continue
            if not start:
                if node is hidden:
                    hidden = None
                continue
            if hidden is not None:
                continue
            if not node.visible:
                hidden = node
                continue
            if side_before == before and hasattr(node, "draw"):
                node.draw()

    def _fill_cache(self, order: list[tuple[Node, bool]], live: Node,
                    size: tuple[int, int]) -> None:
        if self._cache is None or size != self._cache_size:
            texture = gloo.Texture2D(shape=(size[1], size[0], 4), interpolation="nearest")
            fbo = gloo.FrameBuffer(color=texture, depth=gloo.RenderBuffer((size[1], size[0])))
            self._cache, self._cache_size = fbo, size
            if self._quad is None:
                self._quad = gloo.Program(_VERT, _FRAG)
                self._quad["a_position"] = np.array([[-1, -1], [1, -1], [-1, 1], [1, 1]],
                                                    np.float32)
            self._quad["u_layers"] = texture
        self.push_fbo(self._cache, (0, 0), self.size)
        glir = self.context.glir
        plain = glir.command
        glir.command = _blend_into_cache(plain)
        try:
            self.context.clear(color=(0.0, 0.0, 0.0, 0.0), depth=True)
            self._draw_part(order, live, before=False)
        finally:
            glir.command = plain
            self.pop_fbo()
        self._cache_valid = True


def _blend_into_cache(command: Any) -> Any:
    """Wrap the GL command queue so straight alpha blending also adds up alpha: into a
    transparent texture, vispy's 'translucent' mode keeps the texture's alpha (zero),
    and the layers would vanish when composited."""

    def rewritten(*args: Any) -> Any:
        if (len(args) == 6 and args[0] == "FUNC" and args[1] == "glBlendFuncSeparate"
                and tuple(args[2:4]) == _ALPHA_BLEND):
            args = (*args[:4], *_ALPHA_OVER)
        return command(*args)

    return rewritten
