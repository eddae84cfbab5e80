"""A small fuzzing budget over every input reader (benchmarks/fuzz_readers.py runs 10,000 cases each)."""

from __future__ import annotations

from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings

from rnamsm.errors import RnamsmError
from tests.support.fuzzing import READERS, fuzz_inputs


@pytest.mark.parametrize("reader_name", sorted(READERS))
def test_reader_never_crashes(reader_name: str, tmp_path: Path) -> None:
    suffix, reader = READERS[reader_name]

    @settings(max_examples=200, deadline=None, suppress_health_check=list(HealthCheck))
    @given(data=fuzz_inputs(reader_name))
    def check(data: bytes) -> None:
        path = tmp_path / f"input{suffix}"
        path.write_bytes(data)
        try:
            reader(path)
        except RnamsmError as error:
            assert "\n" not in str(error)

    check()
