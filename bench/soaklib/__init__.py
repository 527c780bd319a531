"""bench/soak: the daemon under hours-like conditions, compressed (see bench/README.md)."""
