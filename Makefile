# perch: two commands matter: `make run` (the demo dashboard) and `make test`.
SHELL := /bin/bash
GO ?= go
VERSION ?= $(shell git describe --tags --always --dirty 2>/dev/null || echo dev)
LDFLAGS := -X main.version=$(VERSION)
BIN := bin/perch

.PHONY: run build test deps check bench bench-scale snapshot screenshots clean

## run: build perch and open the dashboard on the embedded simulator
run: build
	./$(BIN) --demo

build:
	$(GO) build -ldflags "$(LDFLAGS)" -o $(BIN) ./cmd/perch

## test: install the test servers if missing, then vet, format check and the race-enabled tests
test: deps check
	$(GO) test -race -count=1 ./...

## deps: the real servers integration tests need (cached, skipped when present)
deps:
	scripts/stack/prometheus.sh install
	scripts/stack/influxdb.sh install
	scripts/stack/jaeger.sh install
	scripts/stack/kubernetes.sh build

check:
	@unformatted=$$(gofmt -l $$(git ls-files '*.go')); \
	  if [ -n "$$unformatted" ]; then echo "gofmt needed:"; echo "$$unformatted"; exit 1; fi
	$(GO) vet ./...

## bench: frame-time and store benchmarks (see README for the targets)
bench:
	$(GO) test -run '^$$' -bench . -benchmem -count 5 ./views/... ./tui/... ./store/... ./sources/...

## bench-scale: perch at 1,000/5,000/10,000 pods + 1,000 functions on the real local stack (~15 min; see README)
bench-scale: deps build
	scripts/bench-scale.sh $(BENCH_SCALE_FLAGS)

## screenshots: README pictures from the simulator (installs chromium + xterm.js if missing)
screenshots:
	scripts/screenshots.sh install
	$(GO) test -tags screenshots -count=1 -timeout 15m -v ./screenshots/

## snapshot: print the demo overview once
snapshot: build
	./$(BIN) snapshot --demo

clean:
	rm -rf bin
