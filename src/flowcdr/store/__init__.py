"""Storage: the control plane (tenants, users, tokens, configurations, audit) and, later, flows."""
