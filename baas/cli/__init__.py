"""The ``baas`` command line."""
