"""HTTP: Litestar controllers, thin; the engine does the work."""
