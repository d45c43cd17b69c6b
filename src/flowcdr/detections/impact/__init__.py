"""Rules of the impact family."""
