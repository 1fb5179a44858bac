"""Authentication: password hashing and auth tokens."""
