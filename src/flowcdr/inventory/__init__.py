"""Azure inventory through the registered connector, and the network posture audit over it."""
