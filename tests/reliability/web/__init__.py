"""Injection, escaping, CSRF and headers, on the unit tests' in-process gateway and portal."""
