"""Serve the Streamlit app with its libraries already imported and the opening region's tables loaded.

Streamlit imports a script's modules on the first page: pandas, geopandas, folium and the library took
most of the first page's 9 s. Started here, the server process imports every module ``app.py`` imports
(read from its source, so the list is never written twice), loads the gazetteer and builds the name index
and schematic cells of the region the app opens on, and only then starts Streamlit: the first page waits
for the sheet's analysis alone.

Usage: ``python -m towncover.serve [streamlit options]`` (``towncover app`` and ``make app`` run it).
"""

from __future__ import annotations

import ast
import importlib
import importlib.util
import sys
from pathlib import Path

from towncover import settings

#: Options every start of the app uses (``towncover app`` adds the port and the upload limit).
STREAMLIT_OPTIONS = ("--server.headless", "true", "--browser.gatherUsageStats", "false",
                     "--server.enableStaticServing", "true")


def script_imports(script: Path, skip: tuple[str, ...] = ()) -> list[str]:
    """The absolute modules a script imports at its top level, in order (``from geo import webmap``:
    ``geo`` and the submodule ``geo.webmap``; names that are not modules are left out), but none of the
    packages in ``skip`` (not even looked up: finding a submodule imports its package).

    Examples
    --------
    >>> import tempfile
    >>> path = Path(tempfile.mkdtemp()) / "s.py"
    >>> _ = path.write_text("import json\\nfrom pathlib import Path\\nfrom . import x\\n")
    >>> script_imports(path)
    ['json', 'pathlib']
    """
    names: list[str] = []
    for node in ast.parse(script.read_text(encoding="utf-8")).body:
        if isinstance(node, ast.Import):
            names += [alias.name for alias in node.names if alias.name.split(".")[0] not in skip]
        elif (isinstance(node, ast.ImportFrom) and node.module and not node.level and node.module != "__future__"
              and node.module.split(".")[0] not in skip):
            names.append(node.module)
            names += [f"{node.module}.{a.name}" for a in node.names if _is_module(f"{node.module}.{a.name}")]
    return list(dict.fromkeys(names))


def _is_module(name: str) -> bool:
    try:
        return importlib.util.find_spec(name) is not None
    except ImportError:  # a parent that is not a package
        return False


def warm(script: Path = settings.APP_PATH, region: str = settings.DEFAULT_REGION) -> None:
    """Import the script's modules; load the gazetteer, the region's name index and its map cells.

    Streamlit's own modules are left to its command: imported before it reads the options, Streamlit
    reports them as changed after start.
    """
    for name in script_imports(script, skip=("streamlit", "streamlit_folium")):
        importlib.import_module(name)
    from geo import boundaries
    from geo.gazetteer import load_gazetteer
    from geo.region_index import region_index

    load_gazetteer().region(region)
    region_index(region)
    if boundaries.has_map(region):
        boundaries.township_cells(region)


def main(argv: list[str] | None = None) -> int:
    """Warm this process, then run ``streamlit run app.py`` in it with ``argv`` as further options."""
    warm()
    from streamlit.web import cli as streamlit_cli

    sys.argv = ["streamlit", "run", str(settings.APP_PATH), *STREAMLIT_OPTIONS, *(argv if argv is not None
                                                                                  else sys.argv[1:])]
    return int(streamlit_cli.main() or 0)


if __name__ == "__main__":
    sys.exit(main())
