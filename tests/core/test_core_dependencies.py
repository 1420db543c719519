"""Dependencies point one way (docs/architecture.md): every import of our own packages, read from the
source (AST, imports inside functions included), goes from a layer to one it may use."""

from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
PACKAGES = ("attestpay", "oracle", "auditor", "backend", "attestpay_cli")

# The backend's leaves: no layer of their own, any backend layer may use them.
BACKEND_BASE = {"backend.errors", "backend.settings", "backend.memory"}
CORE = {"attestpay"}
# layer -> the layers its modules may import (besides itself and, in the backend, BACKEND_BASE)
MAY_IMPORT: dict[str, set[str]] = {
    "attestpay": set(),
    "oracle": CORE,
    "auditor": CORE | {"oracle"},
    "backend.chain": CORE,
    "backend.db": CORE,
    "backend.migrations": CORE | {"backend.db"},
    "backend.domain": CORE | {"oracle", "backend.db"},
    "backend.services": CORE | {"oracle", "auditor", "backend.chain", "backend.db", "backend.domain"},
    "backend.engine": CORE | {"oracle", "auditor", "backend.chain", "backend.db", "backend.domain", "backend.services"},
    # the app runs the engine's worker in its own process when asked (`backend.engine.worker`)
    "backend.api": CORE
    | {"oracle", "auditor", "backend.chain", "backend.db", "backend.domain", "backend.services", "backend.engine"},
    "backend.client": set(),  # the HTTP client of the API, for the CLI
}
TOP = "attestpay_cli"  # may import everything


def layer(module: str) -> str:
    parts = module.split(".")
    if parts[0] == "backend" and len(parts) > 1:
        return "backend." + parts[1]
    return parts[0]


def allowed(importer: str, imported: str) -> bool:
    source, target = layer(importer), layer(imported)
    if source in (target, TOP):
        return True
    if source.startswith("backend") and target in BACKEND_BASE:
        return True
    if source in BACKEND_BASE:
        return target in CORE or target in BACKEND_BASE
    return target in MAY_IMPORT[source]


def own_imports(path: Path) -> list[tuple[int, str]]:
    """(line, module) of every import of our packages in the file, relative imports resolved."""
    module = ".".join(path.relative_to(ROOT).with_suffix("").parts)
    package = module.split(".")[:-1]
    found = []
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            found += [(node.lineno, alias.name) for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                base = ".".join(package[: len(package) - node.level + 1] + ([base] if base else []))
            found.append((node.lineno, base))
    return [(line, name) for line, name in found if name.split(".")[0] in PACKAGES]


def violations() -> list[str]:
    found = []
    for package in PACKAGES:
        for path in sorted((ROOT / package).rglob("*.py")):
            importer = ".".join(path.relative_to(ROOT).with_suffix("").parts)
            for line, imported in own_imports(path):
                if not allowed(importer, imported):
                    found.append(f"{path.relative_to(ROOT)}:{line}: {layer(importer)} imports {imported}")
    return found


def test_every_import_points_down_the_layers():
    assert violations() == []


def test_the_check_sees_an_upward_import():
    """The rule itself: a service importing the API or the engine, or the core importing anything of
    ours, is refused (so the test above can fail)."""
    assert not allowed("backend.services.release", "backend.engine.automation")
    assert not allowed("backend.services.agreements", "backend.api.schemas")
    assert not allowed("backend.db.session", "backend.services.documents")
    assert not allowed("attestpay.payout", "oracle.spec")
    assert not allowed("oracle.service", "backend.chain")
    assert not allowed("backend.engine.relayer", "backend.api.app")
    assert allowed("backend.engine.automation", "backend.services.intents")
    assert allowed("attestpay_cli.main", "backend.api.app")


def test_no_module_imports_another_modules_private_names():
    found = []
    for package in PACKAGES:
        for path in sorted((ROOT / package).rglob("*.py")):
            for node in ast.walk(ast.parse(path.read_text())):
                if isinstance(node, ast.ImportFrom) and (node.module or "").split(".")[0] in PACKAGES:
                    private = [a.name for a in node.names if a.name.startswith("_") and not a.name.startswith("__")]
                    found += [f"{path.relative_to(ROOT)}:{node.lineno}: {node.module}.{name}" for name in private]
    assert found == []


def test_no_two_modules_of_ours_define_a_class_of_the_same_name():
    defined: dict[str, list[str]] = {}
    for package in PACKAGES:
        for path in sorted((ROOT / package).rglob("*.py")):
            for node in ast.parse(path.read_text()).body:
                if isinstance(node, ast.ClassDef):
                    defined.setdefault(node.name, []).append(str(path.relative_to(ROOT)))
    repeated = {name: paths for name, paths in defined.items() if len(paths) > 1}
    assert repeated == {}
