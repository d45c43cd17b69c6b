"""Rules of the discovery family."""
