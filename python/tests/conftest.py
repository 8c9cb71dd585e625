import json
import pathlib

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
