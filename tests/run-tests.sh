#!/usr/bin/env bash
# The whole test suite, as `make test` runs it (the venv's bin directory comes first on PATH).
# As root it brings the local single-node Slurm up for the run and down again afterwards; without
# root the Slurm tests skip (and fail under CI=true).
set -euo pipefail
cd "$(dirname "$0")/.."

if [ "$(id -u)" -eq 0 ]; then
    trap 'tests/slurm/local-slurm.sh down' EXIT
    trap 'exit 130' INT TERM
    tests/slurm/local-slurm.sh up
fi

ruff check .
snakemake --lint
pytest "$@"
