# Two commands set everything up on a fresh machine: `make demo` and `make test`.
PY      ?= python3
VENV    := .venv
BIN     := $(VENV)/bin
DATA    ?= $(if $(MMSEARCH_DATA),$(MMSEARCH_DATA),../shared/data)
DEMO_DB := .mmsearch/demo

.PHONY: install demo test check clean

$(BIN)/mmsearch: pyproject.toml
	$(PY) -m venv $(VENV)
	# torch and torchvision are pinned here (they come from local disk on our machines);
	# pyproject.toml keeps ranges so users elsewhere get their own builds.
	$(BIN)/pip install -q torch==2.14.1 torchvision==0.29.1
	$(BIN)/pip install -q -e '.[dev,speech,ray,onnx,photos]'
	touch $@

install: $(BIN)/mmsearch

demo: install
	$(BIN)/mmsearch index $(DATA)/skimage_data/images $(DATA)/caltech101/images \
		--captions $(DATA)/flickr8k_800/captions.csv --db $(DEMO_DB)
	$(BIN)/mmsearch query "an airplane" -k 5 --modality image --db $(DEMO_DB)
	$(BIN)/mmsearch query "a dolphin jumping out of the water" -k 5 --modality image --db $(DEMO_DB)
	$(BIN)/mmsearch query --image $(DATA)/skimage_data/images/chelsea.png -k 5 --modality image --db $(DEMO_DB)
	$(BIN)/mmsearch query --image $(DATA)/skimage_data/images/chelsea.png -k 3 --modality text --db $(DEMO_DB)
	$(BIN)/mmsearch classify $(DATA)/skimage_data/images/coffee.png $(DATA)/fsdd/recordings/7_yweweler_0.wav \
		--labels "cup of coffee,cat,rocket,seven,three"
	$(BIN)/mmsearch info --db $(DEMO_DB)
	@echo "search it in a browser: $(BIN)/mmsearch serve --db $(DEMO_DB) --open"

# The README's test command: lint, format check and type check, then the whole suite.
test: check
	MMSEARCH_DATA=$(DATA) $(BIN)/python -m pytest -q --durations=25

check: install
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy

clean:
	rm -rf $(VENV) .mmsearch
