"""Every test module's asserts rewritten once per run, not once per worker.

pytest rewrites the asserts of each test module when it imports it and caches the result
beside it (`__pycache__/*-pytest-*.pyc`). On a fresh clone, as in CI, there is no cache yet,
and xdist's workers all start at once: each rewrote every module, about 4.5 s of CPU per
worker on this machine, nearly two thirds of its collection. The controller now writes the
cache before it starts them, split over two processes; the workers then only read it.

An optimisation only: it writes what pytest itself would write (pytest's own functions, the
same file names, atomically), respects PYTHONDONTWRITEBYTECODE, and when pytest's internals
are not as expected it does nothing and the workers rewrite as before.
"""

from __future__ import annotations

import fnmatch
import multiprocessing
import sys
from pathlib import Path

import pytest

#: set in the controller before the pool forks: the forked children inherit it
_CONFIG: pytest.Config | None = None


def _modules(config: pytest.Config) -> list[Path]:
    """The files pytest would rewrite when it collects the suite: conftest files and the
    files matching `python_files` under the test paths."""
    patterns = [*config.getini("python_files"), "conftest.py"]
    root = config.rootpath
    found: list[Path] = []
    for top in config.getini("testpaths") or ["."]:
        for path in sorted((root / top).rglob("*.py")):
            if any(fnmatch.fnmatch(path.name, p) for p in patterns):
                found.append(path)
    return found


def _rewrite(path: Path) -> None:
    from _pytest.assertion.rewrite import (
        PYC_TAIL,
        _read_pyc,
        _rewrite_test,
        _write_pyc,
        assertstate_key,
        get_cache_dir,
        try_makedirs,
    )

    config = _CONFIG
    assert config is not None
    cache_dir = get_cache_dir(path)
    pyc = cache_dir / (path.name[:-3] + PYC_TAIL)
    if _read_pyc(path, pyc) is not None:
        return
    if not try_makedirs(cache_dir):
        return
    stat, code = _rewrite_test(path, config)
    _write_pyc(config.stash[assertstate_key], code, stat, pyc)


def rewrite_once(config: pytest.Config) -> None:
    """In the controller of a parallel run: fill the rewrite cache of every test module."""
    global _CONFIG
    if sys.dont_write_bytecode or config.getoption("assertmode") != "rewrite":
        return
    try:
        modules = _modules(config)
        _CONFIG = config
        with multiprocessing.get_context("fork").Pool(2) as pool:
            pool.map(_rewrite, modules, chunksize=4)
    except Exception:  # an optimisation: the workers rewrite what is missing
        return
    finally:
        _CONFIG = None
