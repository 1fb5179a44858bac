"""Declaring functions: bad declarations fail when the project loads, naming the function."""

from __future__ import annotations

from pathlib import Path

import pytest

from baas.functions import FunctionError, function
from baas.plugins import PluginError
from tests.harness import app_for, unique


@pytest.mark.parametrize(
    "kwargs,message",
    [
        ({"name": "has space"}, "function name 'has space'"),
        ({"name": "x", "timeout": 0}, "timeout must be a positive"),
        ({"name": "x", "max_concurrency": 0}, "max_concurrency must be an integer"),
        ({"name": "x", "rule": "@request.auth.id ="}, "function 'x': invalid rule"),
    ],
    ids=["name with a space", "zero timeout", "zero concurrency", "rule syntax error"],
)
def test_a_bad_declaration_is_refused_with_the_function_named(kwargs, message):
    with pytest.raises(FunctionError, match=message):
        function(**kwargs)(lambda ctx: None)


async def test_a_name_declared_in_two_modules_fails_the_load_naming_both(tmp_path: Path):
    pkg = unique("dupfns")
    root = tmp_path / "proj"
    (root / pkg).mkdir(parents=True)
    (root / pkg / "__init__.py").write_text("")
    for mod in ("a", "b"):
        (root / pkg / f"{mod}.py").write_text(
            "from baas.functions import function\n\n@function(name='same', rule='')\nasync def f(ctx):\n    return 1\n"
        )
    (root / "baas.yaml").write_text(f"functions: {pkg}\n")
    with pytest.raises(PluginError, match=r"function 'same' is declared twice .*\.a .*\.b"):
        async with app_for(tmp_path, str(root / "baas.yaml")):
            pass
