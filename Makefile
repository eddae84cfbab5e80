# rnamsm: the two entry points are `make demo` and `make test` (see README.md).
# Each creates or updates the virtual environment in $(VENV) and installs what it needs.

VENV ?= .venv
PYTHON := $(VENV)/bin/python
STAMP := $(VENV)/.rnamsm-installed
SNAKEMAKE := PATH="$(abspath $(VENV))/bin:$$PATH" $(VENV)/bin/snakemake
CORES ?= 2

.PHONY: demo test venv system-deps test-system-deps msa-quality lint clean

demo: venv system-deps
	$(SNAKEMAKE) --profile profiles/local --cores $(CORES)

test: venv system-deps test-system-deps
	PATH="$(abspath $(VENV))/bin:$$PATH" tests/run-tests.sh

venv: $(STAMP)

$(STAMP): $(wildcard pyproject.toml)
	test -x $(PYTHON) || python3 -m venv $(VENV)
	$(PYTHON) -m pip install --quiet --upgrade pip
	$(PYTHON) -m pip install --quiet "torch==2.13.0"
	$(PYTHON) -m pip install --quiet -e ".[workflow,test]"
	touch $(STAMP)

# Debian packages the pipeline runs: Infernal's cmbuild/cmcalibrate, HH-suite's hhfilter (the official
# MSA depth reduction; without it rnamsm falls back to its own identity filter).
system-deps:
	@tests/install-debian-packages.sh cmbuild:infernal cmcalibrate:infernal hhfilter:hhsuite

# Debian packages only the tests need: Chromium for the report tests, cmsearch (Infernal) for the
# pyinfernal comparison (Slurm comes with tests/slurm/).
test-system-deps:
	@tests/install-debian-packages.sh chromium:chromium cmsearch:infernal

# The MSA-quality benchmark (benchmarks/msa_quality.py): rnamsm search vs the RNAcmap3 pipeline, which runs
# Debian's BLAST+, seqkit and Infernal. ARGS are passed on (e.g. ARGS="--queries 10 --time-limit 7200").
msa-quality: venv
	@tests/install-debian-packages.sh blastn:ncbi-blast+ makeblastdb:ncbi-blast+ seqkit:seqkit \
		cmbuild:infernal cmcalibrate:infernal cmsearch:infernal
	$(PYTHON) benchmarks/msa_quality.py $(ARGS)

lint: venv
	$(VENV)/bin/ruff check .
	$(SNAKEMAKE) --lint

clean:
	rm -rf results logs .snakemake
