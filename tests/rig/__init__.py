"""Real-process test rig: registries, token server, Redis and OCI test images."""
