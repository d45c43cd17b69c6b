"""Rules of the initial access family."""
