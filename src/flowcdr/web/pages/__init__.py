"""One module per portal page (or group of pages), each with its own router."""
