#!/usr/bin/env bash
# The whole test suite, as `make test` runs it (the venv's bin directory comes first on PATH).
# Brings the local single-node Slurm up for the run and down again afterwards.
set -euo pipefail
cd "$(dirname "$0")/.."

ruff check .
snakemake --lint
pytest "$@"
