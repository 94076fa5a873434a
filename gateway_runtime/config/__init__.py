"""Configuration: the compiled table, its compiler, the store that swaps it, and the Redis sync."""
