"""Quality control of station observations: QARTOD checks, buddy check, config, runner."""
