"""Settings read once from the environment, and what derives from them."""
