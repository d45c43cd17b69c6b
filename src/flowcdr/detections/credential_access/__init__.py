"""Rules of the credential access family."""
