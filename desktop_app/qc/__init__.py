"""Quality control of station observations (QARTOD flags)."""
