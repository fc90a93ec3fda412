# Each target sets up .venv itself when it is missing (Python >= 3.11 and make are all it needs).
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
# The compiled kernels: an edit to one rebuilds them (pip install -e runs setup.py).
KERNEL_SOURCES := setup.py $(shell find src -name '*.pyx' -o -name '*.pxd')
DATA ?= $(if $(SPIKECODEC_DATA),$(SPIKECODEC_DATA),../shared/data)

.PHONY: demo test test-all bench fuzz lint clean

FUZZ_SECONDS ?= 600
FUZZ_RUNS ?= 0
FUZZ_ENGINE ?= random

$(STAMP): pyproject.toml $(KERNEL_SOURCES)
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	touch $(STAMP)

demo: $(STAMP)
	$(BIN)/spikecodec demo --out out

test: $(STAMP)
	$(BIN)/python -m pytest -q -m "not slow"

test-all: $(STAMP)
	$(BIN)/python -m pytest -q

bench: $(STAMP)
	SPIKECODEC_DATA=$(DATA) $(BIN)/python -m pytest -q -m slow
	SPIKECODEC_DATA=$(DATA) $(BIN)/python benchmarks/fig5.py
	$(BIN)/python benchmarks/quantizer_speed.py
	SPIKECODEC_DATA=$(DATA) $(BIN)/python benchmarks/rd.py --scope all --codecs all
	SPIKECODEC_DATA=$(DATA) $(BIN)/python benchmarks/fig6.py
	SPIKECODEC_DATA=$(DATA) $(BIN)/python benchmarks/speed.py
	SPIKECODEC_DATA=$(DATA) $(BIN)/python benchmarks/stripes.py
	SPIKECODEC_DATA=$(DATA) $(BIN)/python benchmarks/progressive.py
	SPIKECODEC_DATA=$(DATA) $(BIN)/python benchmarks/ratecontrol.py
	SPIKECODEC_DATA=$(DATA) $(BIN)/python benchmarks/neuron_regimes.py
	SPIKECODEC_DATA=$(DATA) $(BIN)/python benchmarks/lossless.py
	SPIKECODEC_DATA=$(DATA) $(BIN)/python benchmarks/deep.py

fuzz: $(STAMP)
	$(BIN)/python -m pip install --quiet atheris || echo "atheris unavailable: the random engine still runs"
	$(BIN)/python fuzz/fuzz_decode.py --engine $(FUZZ_ENGINE) --runs $(FUZZ_RUNS) --seconds $(FUZZ_SECONDS)

lint: $(STAMP)
	$(BIN)/ruff check src tests benchmarks fuzz
	$(BIN)/ruff format --check src tests benchmarks fuzz

clean:
	rm -rf $(VENV) out build dist
	find src -name '*.so' -delete -o -name '*.c' -delete  # the compiled kernels
