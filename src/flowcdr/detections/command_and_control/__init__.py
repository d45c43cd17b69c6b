"""Rules of the command and control family."""
