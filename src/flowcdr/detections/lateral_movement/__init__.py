"""Rules of the lateral movement family."""
