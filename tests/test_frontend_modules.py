"""Static checks of the dashboard's ES modules: every relative import names a file and an export that exist.

A browser reports a missing export only when the page that imports it is opened; this catches it for every
page at once, without a browser.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

FRONTEND = Path(__file__).resolve().parents[1] / "frontend"
MODULES = sorted((FRONTEND / "src").rglob("*.js"))
IMPORT = re.compile(r'import\s*\{([^}]*)\}\s*from\s*"(\.[^"]+)"')
PAGES = sorted(FRONTEND.glob("*.html"))
MODULE_SCRIPT = re.compile(r'<script type="module" src="([^"]+)"')
CDN = re.compile(r"""(src|href)\s*=\s*["']https?://|from\s+["']https?://|import\(\s*["']https?://""")


def exported_names(source: str) -> set[str]:
    names = set(re.findall(r"export\s+(?:async\s+)?(?:function\*?|class|const|let|var)\s+(\w+)", source))
    for group in re.findall(r"export\s*\{([^}]*)\}", source):
        names.update(part.split(" as ")[-1].strip() for part in group.split(",") if part.strip())
    return names


@pytest.mark.parametrize("module", MODULES, ids=lambda path: str(path.relative_to(FRONTEND)))
def test_named_imports_resolve(module: Path):
    for names, target in IMPORT.findall(module.read_text()):
        path = (module.parent / target).resolve()
        assert path.is_file(), f"{module.name} imports missing file {target}"
        available = exported_names(path.read_text())
        for name in (part.split(" as ")[0].strip() for part in names.split(",") if part.strip()):
            assert name in available, f"{module.name} imports {name!r}, which {target} does not export"


@pytest.mark.parametrize("page", sorted(FRONTEND.glob("*.html")), ids=lambda path: path.name)
def test_pages_load_nothing_from_the_internet(page: Path):
    assert not CDN.search(page.read_text()), f"{page.name} loads something from the internet"


def test_every_vendored_library_ships_its_licence():
    for library in (FRONTEND / "vendor").iterdir():
        if library.is_dir():
            assert any(library.glob("LICENSE*")), f"vendor/{library.name} has no LICENSE file"


def test_every_module_is_imported_by_a_page_or_another_module():
    """No dead modules: each file under src/ is reachable from a page's entry point."""
    entries = {
        (FRONTEND / src).resolve() for page in PAGES for src in MODULE_SCRIPT.findall(page.read_text())
    }
    assert (FRONTEND / "src" / "main.js").resolve() in entries, "no page loads src/main.js"
    entries.add((FRONTEND / "src" / "model" / "grid_worker.js").resolve())  # started by model/grids.js
    reachable: set[Path] = set()
    todo = list(entries)
    while todo:
        module = todo.pop()
        if module in reachable:
            continue
        reachable.add(module)
        for target in re.findall(r'from\s*"(\.[^"]+)"', module.read_text()):
            todo.append((module.parent / target).resolve())
    unused = sorted(str(path.relative_to(FRONTEND)) for path in MODULES if path.resolve() not in reachable)
    assert unused == []


def test_no_source_file_is_over_500_lines():
    long = [str(path.relative_to(FRONTEND)) for path in MODULES if len(path.read_text().splitlines()) > 500]
    assert long == []
