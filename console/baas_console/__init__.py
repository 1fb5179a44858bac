"""The baas web console's static files (``static/``), served at ``/_/`` by ``baas.api.console``.

A package of its own only so that wheels and regular installs carry the files (see the
``[tool.setuptools]`` sections of pyproject.toml); it holds no Python code.
"""
