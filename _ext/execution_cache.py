"""Sphinx extension: reuse executed notebooks between builds until the library changes.

With ``execute_notebooks: cache`` (``_config.yml``), myst-nb keeps each executed notebook
in a jupyter-cache folder and reuses its outputs while the notebook's code cells are
unchanged: a build after a prose-only edit executes nothing. But the cache cannot see
what a notebook imports: after a change in ``bandits_lib`` it would serve outputs that
the new library no longer produces.

This extension keys the cache on everything a notebook's outputs depend on besides its
own code: the files named in ``execution_cache_dependencies`` (the library's source,
the benchmark results the performance appendix reads, ``requirements.txt``), the values
of the environment variables in ``execution_cache_environment`` (``BANDITS_SMOKE``: a
smoke-scale build must never be served to a full-scale one) and the Python version. The
key (a SHA-256 prefix) names a subfolder of the cache, ``_build/.jupyter_cache/<key>``:

* same key as the last build: the cached notebooks are reused (prose-only edit);
* a new key: ``nb_execution_cache_path`` changes, a configuration value that Sphinx
  tracks, so every document is read again and every notebook is executed into the new,
  empty cache. Only the ``execution_cache_keep`` most recently used keys are kept
  (smoke and full scale side by side; older ones are deleted).

A notebook whose execution failed is not cached (jupyter-cache keeps only successful
runs) and is read again on the next build (``env-get-outdated``), so ``-W`` reports the
failure every time, not just once. A fresh clone has no ``_build``: everything executes.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import sys
import time
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from sphinx.application import Sphinx
from sphinx.config import Config
from sphinx.util import logging

logger = logging.getLogger(__name__)

_SKIPPED_PARTS = {"__pycache__", ".ipynb_checkpoints", ".pytest_cache", ".ruff_cache"}
_SKIPPED_SUFFIXES = {".pyc", ".pyo"}


def dependency_files(root: Path, paths: Iterable[str]) -> list[Path]:
    """Every file under each of ``paths`` (files or folders, relative to ``root``), sorted."""
    files: list[Path] = []
    for entry in paths:
        path = (root / entry).resolve()
        if path.is_file():
            files.append(path)
        elif path.is_dir():
            files.extend(
                p for p in path.rglob("*")
                if p.is_file() and not _SKIPPED_PARTS & set(p.relative_to(path).parts)
                and p.suffix not in _SKIPPED_SUFFIXES and not p.name.endswith(".egg-info")
            )
    return sorted(set(files))


def fingerprint(root: Path, paths: Iterable[str], variables: Iterable[str],
                environ: dict[str, str] | None = None) -> str:
    """SHA-256 (hex) of the dependency files' names and bytes, the variables and Python's version."""
    environ = dict(os.environ if environ is None else environ)
    digest = hashlib.sha256()
    digest.update(f"python {sys.version_info[:3]}\n".encode())
    for name in sorted(set(variables)):
        digest.update(f"env {name}={environ.get(name, '').strip()!r}\n".encode())
    for path in dependency_files(root, paths):
        digest.update(f"file {path.relative_to(root.resolve()).as_posix()}\n".encode())
        digest.update(hashlib.sha256(path.read_bytes()).digest())
    return digest.hexdigest()


def _prune(base: Path, keep: int, current: Path) -> list[Path]:
    """Delete all but the ``keep`` most recently used key folders under ``base``."""
    folders = [p for p in base.iterdir() if p.is_dir() and p != current and len(p.name) == 16]
    folders.sort(key=lambda p: p.stat().st_mtime, reverse=True)
    removed = folders[max(0, keep - 1):]
    for folder in removed:
        shutil.rmtree(folder, ignore_errors=True)
    return removed


def key_the_cache(app: Sphinx, config: Config) -> None:
    """``config-inited``: point myst-nb's cache at the subfolder of the current key."""
    if config.nb_execution_mode != "cache":
        return
    root = Path(app.srcdir)
    base = Path(config.nb_execution_cache_path) if config.nb_execution_cache_path else \
        Path(app.outdir).parent / ".jupyter_cache"
    if not base.is_absolute():
        base = root / base
    key = fingerprint(root, config.execution_cache_dependencies, config.execution_cache_environment)[:16]
    folder = base / key
    reused = folder.is_dir()
    folder.mkdir(parents=True, exist_ok=True)
    os.utime(folder, (time.time(), time.time()))
    removed = _prune(base, config.execution_cache_keep, folder)
    config.nb_execution_cache_path = str(folder)
    logger.info(
        f"[execution_cache] key {key}: "
        + ("cached notebooks reused where unchanged" if reused else "new, every notebook executes")
        + (f"; removed {len(removed)} older cache(s)" if removed else "")
    )


def reread_failed_notebooks(app: Sphinx, env, added: set[str], changed: set[str], removed: set[str]) -> list[str]:
    """``env-get-outdated``: read again every notebook whose last execution failed."""
    try:
        from myst_nb.sphinx_ import NbMetadataCollector
    except ImportError:  # pragma: no cover - myst-nb is part of Jupyter Book
        return []
    failed = []
    for docname in env.found_docs - removed:
        try:
            data = NbMetadataCollector.get_exec_data(env, docname)
        except KeyError:
            continue
        if data and data.get("succeeded") is False:
            failed.append(docname)
    if failed:
        logger.info(f"[execution_cache] executing again (failed last time): {', '.join(sorted(failed))}")
    return failed


def setup(app: Sphinx) -> dict[str, Any]:
    app.add_config_value("execution_cache_dependencies", ["bandits_lib"], "env", list)
    app.add_config_value("execution_cache_environment", ["BANDITS_SMOKE"], "env", list)
    app.add_config_value("execution_cache_keep", 2, "", int)
    # After myst-nb's own config-inited handlers, before builder-inited reads the path.
    app.connect("config-inited", key_the_cache, priority=900)
    app.connect("env-get-outdated", reread_failed_notebooks)
    return {"parallel_read_safe": True, "parallel_write_safe": True}
