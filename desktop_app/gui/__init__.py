"""The Qt windows. The only package that builds windows."""
