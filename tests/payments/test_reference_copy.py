"""The vendored Paystack reference material equals ../shared/paystack (when that folder is beside the clone)."""
from __future__ import annotations

from pathlib import Path

import pytest

from tests.payments.conftest import SHARED


def _upstream() -> Path | None:
    for parent in Path(__file__).resolve().parents:
        candidate = parent / "shared" / "paystack"
        if candidate.is_dir():
            return candidate
    return None


def test_reference_copy_matches_shared():
    upstream = _upstream()
    if upstream is None:
        pytest.skip("../shared/paystack is not beside this clone")
    ours = {p.relative_to(SHARED): p.read_bytes() for p in SHARED.rglob("*") if p.is_file()}
    theirs = {p.relative_to(upstream): p.read_bytes() for p in upstream.rglob("*") if p.is_file()}
    assert ours == theirs
