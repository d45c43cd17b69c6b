"""The gateway: the HTTP API users, the portal and collectors talk to (``create_app``)."""
