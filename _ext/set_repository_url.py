"""Give every chapter notebook its install cell, from the repository named in _config.yml.

The launch buttons (Binder, Colab) open a chapter's notebook from the repository in
``_config.yml`` (``repository: url:`` and ``branch:``, the one place where the book's
home is named). Binder installs the library itself (``postBuild``); Colab does not. So
every notebook starts with this cell, hidden on the web site (tag ``remove-cell``),
which installs ``bandits_lib`` from that repository when, and only when, it cannot be
imported: wherever the library is installed (the book build, nbval, Binder, a clone with
``pip install -e .``) the cell does nothing and needs no network.

Usage (from the repository root)::

    python _ext/set_repository_url.py           # insert / update the cell in chapters/*.ipynb
    python _ext/set_repository_url.py --check   # exit 1 and list the notebooks that disagree

Run it after changing the repository URL or branch in ``_config.yml``;
``tests/test_repository_cell.py`` fails while a notebook's cell disagrees. Only the
first cell is touched (added, or its source and tags set); the rest of the notebook,
cell ids included, is written back byte for byte as it was.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

import yaml

ROOT = Path(__file__).resolve().parent.parent
CELL_ID = "install-bandits-lib"
CELL_TAGS = ["remove-cell"]
#: Optional dependencies the chapters use beyond the library's own (widgets, Vega charts).
EXTRAS = "widgets"


def repository(config_path: Path = ROOT / "_config.yml") -> tuple[str, str]:
    """``(url, branch)`` of the book's repository, from ``_config.yml``."""
    config = yaml.safe_load(config_path.read_text(encoding="utf-8")) or {}
    repo = config.get("repository") or {}
    url, branch = str(repo.get("url", "")).strip().rstrip("/"), str(repo.get("branch", "main")).strip()
    if not url.startswith("https://"):
        raise ValueError(f"{config_path}: repository.url must be an https:// URL, got {url!r}")
    if not branch or any(c.isspace() for c in branch):
        raise ValueError(f"{config_path}: repository.branch must be a branch name, got {branch!r}")
    return url, branch


def cell_source(url: str, branch: str) -> str:
    """The install cell's code for the repository ``url`` at ``branch``."""
    requirement = f"bandits_lib[{EXTRAS}] @ git+{url}@{branch}"
    return (
        "# Colab (and any Jupyter without the book's library): install bandits_lib from the\n"
        "# book's repository. Where it is installed already (the book build, Binder, a local\n"
        "# clone) this does nothing. Written by _ext/set_repository_url.py from _config.yml.\n"
        "import importlib.util\n"
        "\n"
        'if importlib.util.find_spec("bandits_lib") is None:\n'
        f'    %pip install --quiet "{requirement}"\n'
        "    importlib.invalidate_caches()"
    )


def _lines(source: str) -> list[str]:
    return source.splitlines(keepends=True)


def expected_cell(url: str, branch: str) -> dict[str, Any]:
    return {
        "cell_type": "code",
        "execution_count": None,
        "id": CELL_ID,
        "metadata": {"tags": list(CELL_TAGS)},
        "outputs": [],
        "source": _lines(cell_source(url, branch)),
    }


def cell_problems(notebook: dict[str, Any], url: str, branch: str) -> list[str]:
    """Why the notebook's first cell is not the install cell for ``url``/``branch`` (empty: it is)."""
    cells = notebook.get("cells") or []
    if not cells:
        return ["the notebook has no cells"]
    first = cells[0]
    problems = []
    if first.get("id") != CELL_ID:
        problems.append(f"the first cell's id is {first.get('id')!r}, not {CELL_ID!r}")
    if first.get("cell_type") != "code":
        problems.append("the first cell is not a code cell")
    source = first.get("source", "")
    source = "".join(source) if isinstance(source, list) else source
    if source != cell_source(url, branch):
        problems.append("its source differs from the one for the repository in _config.yml")
    tags = (first.get("metadata") or {}).get("tags") or []
    missing = [tag for tag in CELL_TAGS if tag not in tags]
    if missing:
        problems.append(f"it lacks the tag(s) {missing}")
    if first.get("outputs") or first.get("execution_count") is not None:
        problems.append("it has outputs (notebooks are stored without)")
    if sum(1 for cell in cells if cell.get("id") == CELL_ID) > 1:
        problems.append(f"more than one cell has the id {CELL_ID!r}")
    return problems


def _dump(notebook: dict[str, Any], original: str) -> str:
    """The notebook as JSON in the same layout as ``original`` (nbformat's, if unsure)."""
    layouts = ({"indent": 1, "sort_keys": True, "ensure_ascii": False}, {"indent": 1, "ensure_ascii": False},
               {"indent": 1, "sort_keys": True}, {"indent": 1})
    before = json.loads(original)
    for layout in layouts:
        if json.dumps(before, **layout) + "\n" == original:
            return json.dumps(notebook, **layout) + "\n"
    return json.dumps(notebook, **layouts[0]) + "\n"


def update_notebook(path: Path, url: str, branch: str) -> bool:
    """Insert or update the install cell of one notebook; True if the file changed."""
    original = path.read_text(encoding="utf-8")
    notebook = json.loads(original)
    if not cell_problems(notebook, url, branch):
        return False
    cells = notebook.setdefault("cells", [])
    kept = [cell for cell in cells if cell.get("id") != CELL_ID]
    old = next((cell for cell in cells if cell.get("id") == CELL_ID), None)
    cell = expected_cell(url, branch)
    if old is not None:  # keep whatever else its metadata holds
        metadata = dict(old.get("metadata") or {})
        metadata["tags"] = list(dict.fromkeys(list(metadata.get("tags") or []) + CELL_TAGS))
        cell["metadata"] = metadata
    notebook["cells"] = [cell, *kept]
    if (notebook.get("nbformat"), notebook.get("nbformat_minor", 0)) < (4, 5):
        raise ValueError(f"{path}: cell ids need nbformat 4.5 or later")
    path.write_text(_dump(notebook, original), encoding="utf-8")
    return True


def notebooks(root: Path = ROOT) -> list[Path]:
    return sorted((root / "chapters").glob("*.ipynb"))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--check", action="store_true", help="change nothing; exit 1 if a notebook disagrees")
    args = parser.parse_args(argv)
    url, branch = repository()
    wrong = []
    for path in notebooks():
        problems = cell_problems(json.loads(path.read_text(encoding="utf-8")), url, branch)
        if not problems:
            continue
        if args.check:
            wrong.append(f"{path.relative_to(ROOT)}: {'; '.join(problems)}")
        elif update_notebook(path, url, branch):
            print(f"updated {path.relative_to(ROOT)}")
    if wrong:
        print("install cells that disagree with _config.yml (run python _ext/set_repository_url.py):")
        print("\n".join(wrong))
        return 1
    print(f"every notebook installs bandits_lib from {url}@{branch} when it is missing")
    return 0


if __name__ == "__main__":
    sys.exit(main())
