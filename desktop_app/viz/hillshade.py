"""Terrain hillshade for the map's base layer (pure NumPy)."""

from __future__ import annotations

import math

import numpy as np

M_PER_DEG_LAT = 110_540.0
M_PER_DEG_LON_EQ = 111_320.0


def hillshade(elevation: np.ndarray, lat: np.ndarray, lon: np.ndarray,
              azimuth_deg: float = 315.0, altitude_deg: float = 45.0) -> np.ndarray:
    """Lambertian shade in 0..1 of a (lat, lon) DEM lit from ``azimuth`` (clockwise from
    north) at ``altitude`` above the horizon. Rows are ascending latitude (south first).
    NaN elevations give NaN shade."""
    z = np.asarray(elevation, float)
    dy = abs(float(lat[1] - lat[0])) * M_PER_DEG_LAT if lat.size > 1 else 1.0
    dx = (abs(float(lon[1] - lon[0])) * M_PER_DEG_LON_EQ
          * math.cos(math.radians(float(np.mean(lat))))) if lon.size > 1 else 1.0
    dz_dy, dz_dx = np.gradient(z, dy, dx)  # dz_dy: northward, dz_dx: eastward
    az = math.radians(azimuth_deg)
    alt = math.radians(altitude_deg)
    # surface normal (-dz/dx, -dz/dy, 1), light (sin az cos alt, cos az cos alt, sin alt)
    light = (math.sin(az) * math.cos(alt), math.cos(az) * math.cos(alt), math.sin(alt))
    shade = (-dz_dx * light[0] - dz_dy * light[1] + light[2]) / np.sqrt(
        dz_dx**2 + dz_dy**2 + 1.0)
    return np.clip(shade, 0.0, 1.0)
