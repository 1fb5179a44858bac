"""sdk/js ships compiled JS and .d.ts in dist/ (so ``npm install ./sdk/js`` needs no build): dist/
must be exactly what ``tsc`` makes of src/ now, and a strictly typed app compiles against it."""

from __future__ import annotations

from pathlib import Path

from tests.sdk_js.kit import SDK_DIR, run_node

TSC = "node_modules/typescript/bin/tsc"


def test_dist_is_built_from_src(tmp_path: Path) -> None:
    out = tmp_path / "dist"
    run_node(TSC, "-p", "tsconfig.json", "--outDir", str(out))
    built = {p.relative_to(out): p.read_bytes() for p in out.rglob("*") if p.is_file()}
    dist = SDK_DIR / "dist"
    shipped = {p.relative_to(dist): p.read_bytes() for p in dist.rglob("*") if p.is_file()}
    assert built, "tsc wrote nothing"
    stale = sorted(str(k) for k in built.keys() | shipped.keys() if built.get(k) != shipped.get(k))
    assert not stale, f"sdk/js/dist is stale ({', '.join(stale)}): run `cd sdk/js && npm run build`"


def test_types_check_strictly() -> None:
    """test/types/sample.ts: a typed schema map, wrong bodies and unknown collections are type errors."""
    run_node(TSC, "-p", "test/types/tsconfig.json")
