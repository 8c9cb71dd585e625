import json
import os
import pathlib
import re
import subprocess

import pytest

ROOT = pathlib.Path(__file__).resolve().parents[2]
VECTORS = ROOT / "tests" / "vectors"


def vec(rel: str):
    return json.loads((VECTORS / rel).read_text(encoding="utf-8"))


def vec_text(rel: str) -> str:
    return (VECTORS / rel).read_text(encoding="utf-8")


@pytest.fixture(scope="session")
def root():
    return ROOT


def selo_bin():
    """The `selo` CLI: $SELO_BIN, else the cargo target directory."""
    cands = [os.environ.get("SELO_BIN")]
    for t in (os.environ.get("CARGO_TARGET_DIR"), str(ROOT / "target")):
        if t:
            cands += [f"{t}/release/selo", f"{t}/debug/selo"]
    for c in cands:
        if c and os.access(c, os.X_OK):
            return c
    # Never a skip: these tests must run (scripts/test-python builds it).
    pytest.fail("the selo binary (selo-cli) was not found: build it (cargo build --release -p selo-cli) "
                "or set SELO_BIN")


class Sim:
    """One of the project's simulators (`selo sim safra|bmp|ofb ...` on port
    0), ready once it has printed its control line; faults go through its
    control endpoint."""

    def __init__(self, *args):
        self.proc = subprocess.Popen([selo_bin(), "sim", *args, "--port", "0"], stdout=subprocess.PIPE,
                                     stderr=subprocess.DEVNULL, text=True)
        self.lines = [self.proc.stdout.readline().strip()]
        m = re.match(r"listening on (http://127\.0\.0\.1:(\d+)(/\S*))$", self.lines[0])
        assert m, self.lines
        self.url, self.origin = m.group(1), f"http://127.0.0.1:{m.group(2)}"
        while not self.lines[-1].startswith("control:"):
            self.lines.append(self.proc.stdout.readline().strip())

    def fault(self, *faults):
        """Queues faults: a name, or a whole fault object."""
        import httpx

        r = httpx.post(self.origin + "/_control/fault", json=[{"fault": f} if isinstance(f, str) else f
                                                              for f in faults])
        assert r.status_code < 300, r.text

    def close(self):
        self.proc.terminate()
        try:
            self.proc.wait(10)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
