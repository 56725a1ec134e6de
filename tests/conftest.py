import os
import sys

import pytest
import torch

sys.path.insert(0, os.path.dirname(__file__))


@pytest.fixture(autouse=True)
def _one_thread():
    """Tests compare floating-point results; one thread keeps reductions in one order."""
    previous = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(previous)


# --- The built book, shared by tests/test_book.py and any browser test -------------------

import re  # noqa: E402
import shutil  # noqa: E402
import subprocess  # noqa: E402
import time  # noqa: E402
from dataclasses import dataclass  # noqa: E402
from pathlib import Path  # noqa: E402

REPO_ROOT = Path(__file__).resolve().parent.parent
_ANSI = re.compile(r"\x1b\[[0-9;]*m")
# Sphinx diagnostics look like "path:line: WARNING: ..." or "WARNING: ...". Kernel log
# lines ("[IPKernelApp] WARNING | ...") are the kernel's own stderr, not build warnings.
_SPHINX_PROBLEM = re.compile(r"(?:^|\s)(?:WARNING|ERROR|CRITICAL|SEVERE): ")


@dataclass(frozen=True)
class BookBuild:
    """One build of the whole book at smoke scale (``BANDITS_SMOKE=1``).

    Attributes
    ----------
    html_dir : Path
        The built site (``<tmp>/_build/html``); open ``html_dir / "index.html"``.
    returncode : int
        Exit status of ``jupyter-book build <repo> -W -n --keep-going``.
    log : str
        Everything the build printed (stdout and stderr, colour codes removed).
    seconds : float
        Wall-clock duration of the build.
    """

    html_dir: Path
    returncode: int
    log: str
    seconds: float

    @property
    def problems(self) -> list[str]:
        """The Sphinx warnings and errors the build reported, one line each."""
        return [line.strip() for line in self.log.splitlines() if _SPHINX_PROBLEM.search(line)]

    @property
    def ok(self) -> bool:
        """Exit status 0, "build succeeded" and not one warning."""
        return self.returncode == 0 and "build succeeded" in self.log and not self.problems


@pytest.fixture(scope="session")
def book_build(tmp_path_factory: pytest.TempPathFactory) -> BookBuild:
    """Build the book once per test session, at smoke scale, into a temporary folder.

    Runs ``jupyter-book build <repo> --path-output <tmp> -W -n --keep-going`` with
    ``BANDITS_SMOKE=1``. The output folder is new, so its notebook cache
    (``<tmp>/_build/.jupyter_cache``) is empty and every notebook is executed.
    Nothing is asserted here; see :func:`built_book`.
    """
    output = tmp_path_factory.mktemp("book")
    script = Path(sys.executable).with_name("jupyter-book")
    executable = str(script) if script.exists() else shutil.which("jupyter-book")
    if executable is None:
        pytest.fail("jupyter-book is not installed next to this Python nor on the PATH")
    command = [executable, "build", str(REPO_ROOT), "--path-output", str(output), "-W", "-n", "--keep-going"]
    env = {**os.environ, "BANDITS_SMOKE": "1"}
    start = time.perf_counter()
    completed = subprocess.run(command, cwd=REPO_ROOT, env=env, capture_output=True, text=True, timeout=3600)
    seconds = time.perf_counter() - start
    log = _ANSI.sub("", completed.stdout + "\n" + completed.stderr)
    return BookBuild(output / "_build" / "html", completed.returncode, log, seconds)


@pytest.fixture(scope="session")
def built_book(request: pytest.FixtureRequest) -> Path:
    """The html folder of the smoke-scale build; fails the requesting test if the build
    did not succeed with zero warnings.

    ``BANDITS_BOOK_HTML=<folder>`` (e.g. ``_build/html``) makes the site tests inspect
    that existing build instead, without building (its warnings are not checked then).
    """
    existing = os.environ.get("BANDITS_BOOK_HTML", "").strip()
    if existing:
        folder = Path(existing).resolve()
        if not (folder / "index.html").is_file():
            pytest.fail(f"BANDITS_BOOK_HTML={existing}: no built book there (index.html missing)")
        return folder
    book_build = request.getfixturevalue("book_build")
    if not book_build.ok:
        pytest.fail(
            f"the book build failed (exit {book_build.returncode}); problems:\n"
            + "\n".join(book_build.problems[:50])
            + "\n--- end of the build log ---\n"
            + book_build.log[-4000:]
        )
    return book_build.html_dir


@pytest.hookimpl(tryfirst=True)  # before pytest-xdist reads the groups
def pytest_collection_modifyitems(config, items):
    """Groups for ``pytest-xdist --dist loadgroup`` (``make test`` runs two workers).

    A notebook's cells share one kernel, so each file stays on one worker; every test
    that reads the smoke-scale book build joins one group, so the book is built once.
    Without xdist the marker is inert.
    """
    # These ask for the build through built_book (at run time), so list them by name.
    book_files = {"test_book.py", "test_browser.py", "test_site.py"}
    for item in items:
        uses_book = "book_build" in getattr(item, "fixturenames", ()) or item.path.name in book_files
        group = "book" if uses_book else os.path.relpath(item.path, config.rootpath)
        item.add_marker(pytest.mark.xdist_group(group))
