"""selo ships ``py.typed``: ``mypy --strict`` over the package reports no error.

Checks python/selo with python/pyproject.toml's ``[tool.mypy]``; the
generated ``selo._native`` it imports is the installed wheel's
(scripts/test-python builds and installs it, and installs mypy).
"""

import pathlib
import subprocess
import sys

import pytest

PYTHON_DIR = pathlib.Path(__file__).resolve().parents[1]


def test_mypy_strict(tmp_path):
    try:
        import mypy  # noqa: F401
    except ImportError:
        # Never a skip: this test must run (scripts/test-python installs mypy).
        pytest.fail("mypy is not installed: pip install 'mypy>=2.4,<3' (scripts/test-python does)")
    r = subprocess.run(
        [sys.executable, "-m", "mypy", "--strict", "--no-incremental", "--config-file", "pyproject.toml",
         "--cache-dir", str(tmp_path / "mypy-cache"), "selo"],
        cwd=PYTHON_DIR, capture_output=True, text=True, timeout=600,
    )
    assert r.returncode == 0, f"mypy --strict over selo failed (exit {r.returncode}):\n{r.stdout}{r.stderr}"
    assert "Success: no issues found" in r.stdout, r.stdout + r.stderr
