"""Live watch: poll stations, QC each new value, score anomalies, keep every verified
forecast in a SQLite verification store. Domain layer: no Qt, no torch."""
