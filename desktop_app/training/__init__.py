"""Headless PyTorch trainer (optional extra [train]); nothing else imports it."""
