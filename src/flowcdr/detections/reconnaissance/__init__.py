"""Rules of the reconnaissance family."""
