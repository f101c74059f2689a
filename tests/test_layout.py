"""The layout keeps its rules: import direction, no cycles, no hidden imports, short modules,
``__all__`` everywhere, no Streamlit internals; the demo store and the installed package are
the same as before the move (issue "One house")."""

from __future__ import annotations

import ast
import hashlib
import json
import os
import subprocess
import sys
import venv
from pathlib import Path

import numpy as np
import pandas as pd
import pyogrio
import pytest
import shapely

ROOT = Path(__file__).resolve().parent.parent
SOURCES = sorted(
    p
    for p in [
        ROOT / "app.py",
        *ROOT.glob("geo/*.py"),
        *ROOT.glob("layers/**/*.py"),
        *ROOT.glob("views/*.py"),
    ]
    if "__pycache__" not in p.parts
)
#: bottom to top: a module may import only its own group and groups below it
LAYERS: tuple[tuple[str, ...], ...] = (
    ("geo",),
    (
        "layers.schema",
        "layers.settings",
        "layers.errors",
        "layers.issues",
        "layers.store",
        "layers.storefilter",
        "layers.storeagg",
        "layers.storehash",
        "layers.storefile",
        "layers.pgstore",
        "layers.pgwrite",
        "layers.data",
        "layers.accounts",
        "layers.access",
    ),
    ("layers.demo",),
    ("layers.ingest",),
    ("layers.build",),
    ("layers.present",),
    ("layers.export",),
    ("layers.cli", "views", "app"),
)
MAX_LINES = 600


def module_name(path: Path) -> str:
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def rank(module: str) -> int | None:
    for i, group in enumerate(LAYERS):
        if any(module == g or module.startswith(g + ".") for g in group):
            return i
    return None


def project_imports(tree: ast.AST) -> list[tuple[ast.AST, str, bool]]:
    """(node, imported module, at top level) for every import of a project module."""
    top = set(map(id, tree.body))
    out = []
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names = [node.module] + [f"{node.module}.{a.name}" for a in node.names]
        elif isinstance(node, ast.Import):
            names = [a.name for a in node.names]
        else:
            continue
        for name in names:
            if name.split(".")[0] in {"geo", "layers", "views", "app"} and (rank(name) is not None):
                out.append((node, name, id(node) in top))
    return out


def is_type_checking(tree: ast.Module, node: ast.AST) -> bool:
    for block in tree.body:
        guarded = isinstance(block, ast.If) and "TYPE_CHECKING" in ast.unparse(block.test)
        if guarded and any(n is node for n in ast.walk(block)):
            return True
    return False


@pytest.fixture(scope="module")
def trees() -> dict[str, ast.Module]:
    return {module_name(p): ast.parse(p.read_text(encoding="utf-8")) for p in SOURCES}


def test_imports_point_down_and_sideways_only(trees: dict[str, ast.Module]) -> None:
    wrong = []
    for mod, tree in trees.items():
        here = rank(mod)
        for node, name, _ in project_imports(tree):
            there = rank(name)
            if here is not None and there is not None and there > here:
                wrong.append(f"{mod} imports {name} (line {node.lineno})")
            if mod.startswith("views") and name.startswith("layers.cli"):
                wrong.append(f"{mod} imports {name}: views and the CLI never import each other")
            if mod.startswith("layers.cli") and name.split(".")[0] in {"views", "app"}:
                wrong.append(f"{mod} imports {name}: views and the CLI never import each other")
    assert not wrong, "\n".join(wrong)


def test_no_function_level_imports_of_project_modules(trees: dict[str, ast.Module]) -> None:
    hidden = [
        f"{mod}:{node.lineno} imports {name} inside a function"
        for mod, tree in trees.items()
        for node, name, top in project_imports(tree)
        if not top and not is_type_checking(tree, node)
    ]
    assert not hidden, "\n".join(hidden)


def test_no_import_cycles(trees: dict[str, ast.Module]) -> None:
    known = set(trees)
    graph = {
        mod: {
            target
            for _, name, top in project_imports(tree)
            for target in (name, name.rpartition(".")[0])
            if top and target in known and target != mod and not target.endswith("__init__")
        }
        for mod, tree in trees.items()
    }
    state: dict[str, int] = {}
    cycles: list[str] = []

    def visit(node: str, path: list[str]) -> None:
        state[node] = 1
        for nxt in sorted(graph[node]):
            if state.get(nxt) == 1 and nxt in path:
                cycles.append(" → ".join([*path[path.index(nxt) :], nxt]))
            elif nxt not in state:
                visit(nxt, [*path, nxt])
        state[node] = 2

    for mod in sorted(graph):
        if mod not in state:
            visit(mod, [mod])
    # a package's __init__ importing nothing, cycles through it are not counted
    cycles = [c for c in cycles if c.count("→") > 0 and "." in c]
    assert not cycles, "\n".join(cycles)


def test_geo_is_domain_free(trees: dict[str, ast.Module]) -> None:
    leaks = [
        f"{mod} imports {name}"
        for mod, tree in trees.items()
        if mod.startswith("geo")
        for _, name, _ in project_imports(tree)
        if not name.startswith("geo")
    ]
    assert not leaks, "\n".join(leaks)


def test_modules_are_short_and_say_what_they_export(trees: dict[str, ast.Module]) -> None:
    problems = []
    for path in SOURCES:
        mod = module_name(path)
        lines = len(path.read_text(encoding="utf-8").splitlines())
        if lines > MAX_LINES:
            problems.append(f"{mod}: {lines} lines (> {MAX_LINES}); split it by job")
        tree = trees[mod]
        if not ast.get_docstring(tree):
            problems.append(f"{mod}: no module docstring")
        public = not path.name.startswith("_") and mod.split(".")[0] in {"geo", "layers"}
        if public and path.name != "__init__.py":
            has_all = any(
                isinstance(n, ast.Assign)
                and any(getattr(t, "id", "") == "__all__" for t in n.targets)
                for n in tree.body
            )
            if not has_all:
                problems.append(f"{mod}: no __all__")
    assert not problems, "\n".join(problems)


def test_no_streamlit_internals() -> None:
    banned = ("PagesManager", "uses_pages_directory", "get_script_run_ctx")
    found = [
        f"{p.relative_to(ROOT)} names {word}"
        for p in [*SOURCES, *ROOT.glob("tests/**/*.py")]
        if p.name != "test_layout.py"
        for word in banned
        if word in p.read_text(encoding="utf-8")
    ]
    assert not found, "\n".join(found)
    assert not (ROOT / "pages").exists(), "a pages/ folder puts Streamlit in legacy multipage mode"


# --- the store and the package are the same as before the move ---------------------------------


def layer_digest(path: Path, name: str) -> str:
    """SHA-256 of a layer's columns, values (floats to 9 significant digits) and geometry."""
    df = pyogrio.read_dataframe(path, layer=name)
    parts = [",".join(map(str, df.columns)), str(len(df))]
    geom = df.pop("geometry") if "geometry" in df.columns else None
    parts[0] = ",".join(map(str, df.columns))
    for col in df.columns:
        values = df[col]
        if pd.api.types.is_float_dtype(values):
            text = ["nan" if pd.isna(v) else format(float(v), ".9g") for v in values]
        else:
            text = ["<NA>" if v is None or pd.isna(v) else str(v) for v in values]
        parts.append(col + ":" + "|".join(text))
    if geom is not None:
        wkb = shapely.to_wkb(
            shapely.set_precision(np.asarray(geom.values, dtype=object), 1e-9), hex=True
        )
        parts.append("geom:" + "|".join(map(str, wkb)))
    return hashlib.sha256("\n".join(parts).encode()).hexdigest()


@pytest.mark.slow
def test_demo_store_is_identical_to_the_one_before_the_move(tmp_path: Path) -> None:
    """`onemap demo --scale 0.05` writes the same layers, value for value, as before the move
    (digests recorded on the last commit of the old layout)."""
    golden = json.loads((ROOT / "tests" / "data" / "demo_scale005_digests.json").read_text())
    golden.pop("_about")
    out = tmp_path / "demo.gpkg"
    subprocess.run(
        [sys.executable, "-m", "layers.cli.main", "demo", "--scale", "0.05", "--out", str(out)],
        check=True,
        capture_output=True,
    )
    # build_info (time, version) and the revision log (time, user) are not content
    layers = [n for n, _ in pyogrio.list_layers(out) if n not in ("build_info", "revisions")]
    assert sorted(layers) == sorted(golden)
    changed = [n for n in layers if layer_digest(out, n) != golden[n]]
    assert not changed, f"layers differ from the old layout's store: {changed}"


@pytest.mark.slow
def test_installed_package_carries_its_data(tmp_path: Path) -> None:
    """`pip install .` (not editable) into a fresh venv; from another directory `onemap demo`
    and `onemap summary` work with the county facts, zones and column map of the package."""
    env_dir = tmp_path / "venv"
    venv.create(env_dir, system_site_packages=True, with_pip=True)
    py = env_dir / "bin" / "python"
    env = {k: v for k, v in os.environ.items() if k not in {"PYTHONPATH", "ONEMAP_STORE"}}
    subprocess.run(
        [str(py), "-m", "pip", "install", "-q", "--no-deps", str(ROOT)],
        check=True,
        capture_output=True,
        env=env,
    )
    work = tmp_path / "elsewhere"
    work.mkdir()
    where = subprocess.run(
        [str(py), "-c", "import layers.settings as s; print(s.__file__); print(s.DATA_DIR)"],
        cwd=work,
        check=True,
        capture_output=True,
        text=True,
        env=env,
    ).stdout.split()
    assert str(env_dir) in where[0] and str(env_dir) in where[1], where
    onemap = str(env_dir / "bin" / "onemap")
    store = tmp_path / "x.gpkg"
    subprocess.run(
        [onemap, "demo", "--scale", "0.05", "--out", str(store)],
        cwd=work,
        check=True,
        capture_output=True,
        env=env,
    )
    out = subprocess.run(
        [onemap, "summary", "--store", str(store), "--json"],
        cwd=work,
        check=True,
        capture_output=True,
        text=True,
        env=env,
    ).stdout
    record = json.loads(out)
    assert record["code"] == "530000000000" and record["county_libraries"] == 122
    zone = subprocess.run(
        [onemap, "summary", "--store", str(store), "--zone", "怒江州", "--json"],
        cwd=work,
        check=True,
        capture_output=True,
        text=True,
        env=env,
    ).stdout
    assert json.loads(zone)["zone"] == "怒江州"


#: functions still without Parameters: their modules are at the 600-line limit and need a split
#: first (issue 8); remove a name once it is documented, never add one
PENDING_PARAMETERS = frozenset(
    {
        *(
            f"geo.staticmap.{f}"
            for f in [
                "legend_colors",
                "draw_choropleth",
                "fit_extent",
                "place_labels",
                "add_scale_bar",
                "true_north_angle",
                "add_north_arrow",
                "add_legend",
                "draw_locator",
                "map_figure",
                "save_figure",
            ]
        ),
        *(
            f"geo.webmap.{f}"
            for f in [
                "basemap_layer",
                "probe_tiles",
                "to_basemap_crs",
                "make_map",
                "external_urls",
                "class_colors",
                "outline_layer",
                "labels_layer",
                "points_layer",
                "add_legend",
            ]
        ),
        *(
            f"layers.build.metrics.{f}"
            for f in [
                "isin_index",
                "project_key",
                "project_counts",
                "crosstab",
                "matched_households",
                "village_counts",
                "registry_counts",
                "aggregate",
                "unit_counts",
                "with_unit_counts",
                "aggregate_zones",
            ]
        ),
    }
)


def test_public_functions_document_their_parameters(trees: dict[str, ast.Module]) -> None:
    """Public module-level functions of geo/ and layers/ with more than one argument carry a
    numpydoc ``Parameters`` section (model: ``geo.classify.class_breaks``)."""
    missing = []
    for path in SOURCES:
        mod = module_name(path)
        if mod.split(".")[0] not in {"geo", "layers"} or path.name.startswith("_"):
            continue
        for node in trees[mod].body:
            if not isinstance(node, ast.FunctionDef) or node.name.startswith("_"):
                continue
            a = node.args
            args = [x.arg for x in (*a.posonlyargs, *a.args, *a.kwonlyargs)]
            args += [x.arg for x in (a.vararg, a.kwarg) if x is not None]
            args = [x for x in args if x not in ("self", "cls")]
            doc = ast.get_docstring(node) or ""
            name = f"{mod}.{node.name}"
            if len(args) > 1 and "Parameters\n" not in doc and name not in PENDING_PARAMETERS:
                missing.append(
                    f"{path.relative_to(ROOT)}:{node.lineno} {node.name}({', '.join(args)})"
                )
    assert not missing, "no numpydoc Parameters section:\n" + "\n".join(missing)
