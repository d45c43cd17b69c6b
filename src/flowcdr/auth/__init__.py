"""Who is calling: password hashes, signed tokens (sign-in and subscription), sign-in throttling."""
