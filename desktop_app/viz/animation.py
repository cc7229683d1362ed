"""The time loop as an animated GIF or an MP4 (H.264), for briefings.

Each frame is the headless PNG map of :mod:`desktop_app.viz.export` (title, valid time,
colorbar, attribution), so a loop and a still of the same step look the same. GIF is
written by Pillow (imageio's GIF backend) on one shared palette (see :class:`_GifWriter`),
MP4 by imageio-ffmpeg (the ffmpeg binary comes with the wheel). The job checks
``cancel`` between frames, and the file is written atomically: a cancelled or
failed export leaves nothing at the destination.
"""

from __future__ import annotations

import threading
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import xarray as xr
from PySide6 import QtGui

from desktop_app.core.progress import Progress
from desktop_app.errors import CancelledError, DataFileError
from desktop_app.fsutil import atomic_path
from desktop_app.viz import export

FORMATS = {".gif": "GIF", ".mp4": "MP4"}
MAX_FPS = 30.0


def image_rgb(image: QtGui.QImage) -> np.ndarray:
    """``(height, width, 3)`` uint8 copy of a QImage (alpha dropped)."""
    rgb = image.convertToFormat(QtGui.QImage.Format.Format_RGB888)
    h, w, stride = rgb.height(), rgb.width(), rgb.bytesPerLine()
    buf = np.frombuffer(rgb.constBits(), np.uint8, count=stride * h)
    return buf.reshape(h, stride)[:, : w * 3].reshape(h, w, 3).copy()


def frame_rgb(ds: xr.Dataset, variable: str, t: int, width: int, height: int, dpi: int = 96,
              **spec_options: Any) -> np.ndarray:
    """One frame: the PNG renderer's map of step ``t`` as an RGB array."""
    spec = export.spec_from_dataset(ds, variable, t, **spec_options)
    return image_rgb(export.render_map(spec, width, height, dpi))


def check_request(path: Path, steps: Sequence[int], fps: float) -> str:
    """The format for ``path``'s extension; bad requests are one clear error."""
    kind = FORMATS.get(Path(path).suffix.lower())
    if kind is None:
        raise DataFileError(f"{path}: an animation is .gif or .mp4")
    if not steps:
        raise DataFileError("no time steps chosen for the animation")
    if not 0.1 <= fps <= MAX_FPS:
        raise DataFileError(f"frame rate must be 0.1..{MAX_FPS:g} frames per second, got {fps:g}")
    return kind


def colormap_ramp(ds: xr.Dataset, variable: str, t: int, n: int = 128,
                  **spec_options: Any) -> np.ndarray:
    """``(k, 3)`` uint8: ``n`` colours evenly along the loop's colormap, as the colorbar
    draws them (k < n for a stepped palette: its bands, once each), in colormap order."""
    from desktop_app.viz.styles import make_colormap

    cs = export.spec_from_dataset(ds, variable, t, **spec_options).field.scale
    rgba = np.asarray(make_colormap(cs.cmap, cs.steps).map(np.linspace(0.0, 1.0, n)[:, None]))
    ramp = (rgba[:, :3] * 255).round().astype(np.uint8)
    _, first = np.unique(ramp, axis=0, return_index=True)
    return ramp[np.sort(first)]


def _rgb_keys(rgb: np.ndarray) -> np.ndarray:
    flat = rgb.reshape(-1, 3).astype(np.int32)
    return np.asarray(flat[:, 0] << 16 | flat[:, 1] << 8 | flat[:, 2])


def _palette_image(colours: np.ndarray) -> Any:
    from PIL import Image

    palette = Image.new("P", (1, 1))
    padded = np.zeros((256, 3), np.uint8)
    padded[: len(colours)] = colours[:256]
    palette.putpalette([int(c) for c in padded.ravel()])
    return palette


def shared_palette(rgb: np.ndarray, ramp: np.ndarray | None = None, exact: int = 48) -> Any:
    """A 256-colour Pillow palette image for frames like ``rgb``.

    First ``ramp``, the colormap itself, as it is: the colorbar maps onto it in order
    (an octree of the whole frame gave the bar's few hundred pixels a few dozen colours:
    visible bands). Then the ``exact`` most frequent other colours as they are (page,
    text, frame lines). The rest by octree, of only the pixels those do not already
    match well (the field seen through the hillshade, the basemap)."""
    from PIL import Image

    fixed = np.zeros((0, 3), np.uint8) if ramp is None else np.asarray(ramp, np.uint8)[:192]
    keys, counts = np.unique(_rgb_keys(rgb), return_counts=True)
    keys = keys[np.argsort(counts)[::-1]]
    keys = keys[~np.isin(keys, _rgb_keys(fixed))][:exact]
    top = np.stack([keys >> 16, (keys >> 8) & 255, keys & 255], axis=1).astype(np.uint8)
    fixed = np.concatenate([fixed, top])
    n_rest = 256 - len(fixed)
    if n_rest > 0:
        near = np.asarray(Image.fromarray(rgb).quantize(
            palette=_palette_image(fixed), dither=Image.Dither.NONE).convert("RGB"))
        misfit = np.abs(near.astype(np.int16) - rgb).max(axis=-1) > 3
        rest_px = rgb[misfit] if misfit.any() else rgb.reshape(-1, 3)
        rest = Image.fromarray(rest_px[None]).quantize(
            n_rest, method=Image.Quantize.FASTOCTREE, dither=Image.Dither.NONE).getpalette()
        fixed = np.concatenate([fixed, np.asarray(rest or [], np.uint8).reshape(-1, 3)
                                [:n_rest]])
    return _palette_image(fixed)


class _GifWriter:
    """GIF frames on one palette, made once from a few frames of the loop.

    Pillow's own RGB-to-GIF path (what imageio's GIF writer calls) builds an adaptive
    palette per frame, 0.3 s at 1024x1024; every frame of a loop shares its colormap,
    colorbar and labels (the colour range spans the whole loop), so one palette from a
    sample of frames holds them, and mapping a frame to it takes ~25 ms."""

    def __init__(self, path: Path, fps: float, sample: list[np.ndarray],
                 ramp: np.ndarray | None = None) -> None:
        from PIL import Image

        self.path, self.duration = path, round(1000.0 / fps)
        self.palette = shared_palette(np.concatenate([f[::2, ::2] for f in sample], axis=0),
                                      ramp)
        self.frames: list[Image.Image] = []

    def add(self, rgb: np.ndarray) -> None:
        from PIL import Image

        self.frames.append(Image.fromarray(rgb).quantize(palette=self.palette,
                                                         dither=Image.Dither.NONE))

    def close(self) -> None:
        self.frames[0].save(self.path, format="GIF", save_all=True,
                            append_images=self.frames[1:], duration=self.duration,
                            loop=0, disposal=1)
        self.frames = []

    def abort(self) -> None:
        self.frames = []


class _Mp4Writer:
    def __init__(self, path: Path, fps: float, size: tuple[int, int]) -> None:
        import imageio_ffmpeg

        # the temp file's name does not end in .mp4, so the container is named
        self.gen = imageio_ffmpeg.write_frames(
            str(path), size, fps=fps, codec="libx264", pix_fmt_out="yuv420p", quality=8,
            macro_block_size=2, ffmpeg_log_level="error",
            output_params=["-f", "mp4", "-movflags", "+faststart"])
        self.gen.send(None)

    def add(self, rgb: np.ndarray) -> None:
        self.gen.send(np.ascontiguousarray(rgb))

    def close(self) -> None:
        self.gen.close()

    def abort(self) -> None:
        self.gen.close()


def write_animation(ds: xr.Dataset, variable: str, path: Path, steps: Sequence[int],
                    fps: float = 4.0, width: int = 1024, height: int = 1024, dpi: int = 96,
                    *, progress: Progress | None = None,
                    cancel: threading.Event | None = None, **spec_options: Any) -> Path:
    """Write the frames of ``steps`` of ``variable`` to ``path`` (.gif or .mp4)."""
    path = Path(path)
    kind = check_request(path, steps, fps)
    if kind == "MP4":  # H.264 in yuv420p needs even sides
        width, height = width - width % 2, height - height % 2
    export.ensure_gui_app()

    def frame(t: int) -> np.ndarray:
        return frame_rgb(ds, variable, t, width, height, dpi, **spec_options)

    first = frame(steps[0])
    try:
        with atomic_path(path) as tmp:
            writer: _GifWriter | _Mp4Writer
            if kind == "GIF":  # the palette sample: first, middle and last frame
                ends = [frame(steps[len(steps) // 2]), frame(steps[-1])] if len(steps) > 2 \
                    else []
                ramp = colormap_ramp(ds, variable, steps[0], **spec_options)
                writer = _GifWriter(tmp, fps, [first, *ends], ramp)
            else:
                writer = _Mp4Writer(tmp, fps, (width, height))
            try:
                for n, t in enumerate(steps):
                    if cancel is not None and cancel.is_set():
                        raise CancelledError("animation export cancelled")
                    writer.add(first if n == 0 else frame(t))
                    if progress is not None:
                        progress((n + 1) / len(steps), f"frame {n + 1}/{len(steps)}")
            except BaseException:
                writer.abort()  # atomic_path then removes the temp file
                raise
            writer.close()
    except (OSError, RuntimeError) as exc:
        raise DataFileError(f"cannot write {kind} {path}: {exc}") from exc
    return path
