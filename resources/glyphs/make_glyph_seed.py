"""Write the glyph distance fields the app ships (resources/glyphs), for vispy's font.

vispy draws each label character from a distance field it works out on the CPU the first
time the character is drawn (3-6 ms a glyph). The app keeps those fields in the user's
cache folder (desktop_app.viz.glyphs); this file seeds that cache on a first launch, so
the first map frame of a new install, or of a new region's names, works none of them
out. Run it under a display (xvfb-run -a python resources/glyphs/make_glyph_seed.py)
after a vispy upgrade; the file name carries vispy's version, and a file for another
version is simply not read.
"""

from __future__ import annotations

import string
import tempfile
from pathlib import Path

import numpy as np

# what map labels are written in: ASCII, the degree and minus signs and other units, and
# the Latin letters of European and American place and station names
CHARS = (string.ascii_letters + string.digits + string.punctuation + " °−–·±µ²³×"
         "ÀÁÂÃÄÅÆÇÈÉÊËÌÍÎÏÑÒÓÔÕÖØÙÚÛÜÝßàáâãäåæçèéêëìíîïñòóôõöøùúûüýÿ"
         "ĄąĆćČčĎďĘęĚěŁłŃńŇňŐőŘřŚśŠšŤťŮůŰűŹźŻżŽžĞğİıŞş")


def main() -> Path:
    from vispy import scene

    from desktop_app.viz import glyphs

    out = glyphs.distance_field_file(Path(__file__).resolve().parent)
    with tempfile.TemporaryDirectory() as tmp:
        cache = glyphs.cache_distance_fields(Path(tmp) / "fields.npz")
        assert cache is not None, "vispy's glyph renderer is not as expected"
        canvas = scene.SceneCanvas(size=(400, 200), show=False)
        view = canvas.central_widget.add_view()
        scene.visuals.Text(list(CHARS), pos=np.zeros((len(CHARS), 2)), parent=view.scene)
        canvas.render()  # vispy works the fields out as it draws them
        canvas.close()
        fields = list(cache.fields.values())
        np.savez_compressed(
            out, keys=np.array(list(cache.fields), dtype="U32"),
            shapes=np.array([f.shape for f in fields], np.int64).reshape(-1, 2),
            flat=np.concatenate([f.ravel() for f in fields]))
    print(f"{out}: {len(fields)} glyphs, {out.stat().st_size / 1e3:.0f} kB")
    return out


if __name__ == "__main__":
    main()
