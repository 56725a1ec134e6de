"""Every chapter notebook starts with the cell that installs bandits_lib on Colab, and that
cell names the repository of _config.yml (_ext/set_repository_url.py writes it)."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "_ext"))
import set_repository_url as tool  # noqa: E402

NOTEBOOKS = tool.notebooks(ROOT)


def test_there_are_notebooks() -> None:
    assert len(NOTEBOOKS) >= 10


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_first_cell_installs_from_the_configured_repository(path: Path) -> None:
    url, branch = tool.repository(ROOT / "_config.yml")
    problems = tool.cell_problems(json.loads(path.read_text(encoding="utf-8")), url, branch)
    assert not problems, (
        f"{path.name}: {'; '.join(problems)}. Run `python _ext/set_repository_url.py` after changing "
        "repository.url / repository.branch in _config.yml."
    )


class FakeShell:
    """Records the magics the cell runs (IPython turns `%pip ...` into run_line_magic)."""

    def __init__(self) -> None:
        self.magics: list[tuple[str, str]] = []

    def run_line_magic(self, name: str, line: str) -> None:
        self.magics.append((name, line))


def run_cell(source: str, importable: bool, monkeypatch: pytest.MonkeyPatch) -> FakeShell:
    import importlib.util

    from IPython.core.inputtransformer2 import TransformerManager

    shell = FakeShell()
    code = TransformerManager().transform_cell(source)
    real_find_spec = importlib.util.find_spec
    monkeypatch.setattr(importlib.util, "find_spec",
                        lambda name, *a: real_find_spec(name, *a) if importable or name != "bandits_lib" else None)
    exec(compile(code, "<install cell>", "exec"), {"get_ipython": lambda: shell})
    return shell


def test_the_cell_does_nothing_where_the_library_is_installed(monkeypatch: pytest.MonkeyPatch) -> None:
    source = tool.cell_source("https://github.com/example/book", "main")
    assert run_cell(source, importable=True, monkeypatch=monkeypatch).magics == []


def test_the_cell_installs_from_the_repository_where_it_is_missing(monkeypatch: pytest.MonkeyPatch) -> None:
    source = tool.cell_source("https://github.com/example/book", "release")
    magics = run_cell(source, importable=False, monkeypatch=monkeypatch).magics
    assert len(magics) == 1 and magics[0][0] == "pip"
    assert 'install --quiet "bandits_lib[widgets] @ git+https://github.com/example/book@release"' in magics[0][1]


def test_update_touches_only_the_first_cell(tmp_path: Path) -> None:
    source = NOTEBOOKS[0]
    copy = tmp_path / "chapters" / source.name
    copy.parent.mkdir()
    original = json.loads(source.read_text(encoding="utf-8"))
    original["cells"] = [c for c in original["cells"] if c.get("id") != tool.CELL_ID]
    copy.write_text(json.dumps(original, indent=1, sort_keys=True, ensure_ascii=False) + "\n", encoding="utf-8")

    assert tool.update_notebook(copy, "https://github.com/example/book", "main")
    updated = json.loads(copy.read_text(encoding="utf-8"))
    assert updated["cells"][1:] == original["cells"]  # the rest, ids included, unchanged
    assert not tool.cell_problems(updated, "https://github.com/example/book", "main")
    assert tool.cell_problems(updated, "https://github.com/example/other", "main")
    assert not tool.update_notebook(copy, "https://github.com/example/book", "main")  # idempotent

    assert tool.update_notebook(copy, "https://github.com/example/moved", "dev")  # a new home: updated in place
    moved = json.loads(copy.read_text(encoding="utf-8"))
    assert len(moved["cells"]) == len(updated["cells"]) and moved["cells"][1:] == original["cells"]
    assert "git+https://github.com/example/moved@dev" in "".join(moved["cells"][0]["source"])


def test_repository_is_read_and_checked(tmp_path: Path) -> None:
    config = tmp_path / "_config.yml"
    config.write_text("repository:\n  url: https://github.com/a/b/\n  branch: main\n", encoding="utf-8")
    assert tool.repository(config) == ("https://github.com/a/b", "main")
    config.write_text("repository:\n  url: git@github.com:a/b\n", encoding="utf-8")
    with pytest.raises(ValueError, match="https"):
        tool.repository(config)
