"""Rules of the exfiltration family."""
