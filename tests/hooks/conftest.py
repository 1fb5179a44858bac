"""The in-process API fixture (tests/api/conftest.py), shared by the hook tests."""

from tests.api.conftest import SU_EMAIL, SU_PASS, Api, api  # noqa: F401
