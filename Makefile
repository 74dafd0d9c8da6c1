# Samnav: one workspace, one Makefile. Targets loop over the workspace's
# modules (go.work), so a new module needs no edit here.
SHELL := /bin/bash
GO ?= go
MODULES := $(shell $(GO) work edit -json | sed -n 's/.*"DiskPath": "\(.*\)".*/\1/p')
DATA_DIR ?= $(CURDIR)/data
# The full suites run once without the race detector (it slows the pure-Go
# SQLite and the 100,000-change soak tests several-fold), then the race
# detector runs over the -short set, which skips only those soak tests.
TEST_FLAGS ?= -count=1 -timeout 20m
RACE_FLAGS ?= -race -short -count=1 -timeout 20m
BENCH ?= .
BENCH_FLAGS ?= -run '^$$' -bench '$(BENCH)' -benchmem -timeout 60m
GOLANGCI_LINT_VERSION ?= v2.15.0
# golangci-lint is installed at that version into GOBIN once and reused:
# `make lint` reinstalls it only when the binary there is another version.
GOBIN ?= $(shell $(GO) env GOPATH)/bin
GOLANGCI_LINT ?= $(GOBIN)/golangci-lint

.PHONY: check-contracts run test test-short bench lint lint-install check generate check-generated fmt tidy tidy-check fuzz build clean screenshots

## run: start everything (embedded Kafka on 127.0.0.1:9092, registry on :8081, console on :8080)
run:
	$(GO) run ./tools/samnav dev --data-dir "$(DATA_DIR)"

## build: compile every module
build:
	@set -e; for m in $(MODULES); do echo "==> build $$m"; (cd $$m && $(GO) build ./...); done

## test: vet and test every module, and check the contracts against their history (the CI gate)
test: check-contracts
	@set -e; for m in $(MODULES); do echo "==> vet $$m"; (cd $$m && $(GO) vet ./...); done
	@set -e; for m in $(MODULES); do echo "==> test $$m"; (cd $$m && $(GO) test $(TEST_FLAGS) ./...); done
	@set -e; for m in $(MODULES); do echo "==> test -race -short $$m"; (cd $$m && $(GO) test $(RACE_FLAGS) ./...); done

## test-short: the quick subset, for the edit-test loop
test-short:
	@set -e; for m in $(MODULES); do (cd $$m && $(GO) test -short ./...); done

## bench: every benchmark, once; figures go to docs/benchmarks.md
bench:
	@set -e; for m in $(MODULES); do echo "==> bench $$m"; (cd $$m && $(GO) test $(BENCH_FLAGS) ./...); done

## screenshots: refresh docs/screenshots/ from the console's end-to-end browser tests (needs chromium)
screenshots:
	cd services/console && SAMNAV_SCREENSHOTS=docs/screenshots $(GO) test -count=1 -run 'E2E' ./...

## fuzz: run each fuzz target for FUZZTIME (default 30s)
FUZZTIME ?= 30s
fuzz:
	@set -e; for m in $(MODULES); do (cd $$m && for pkg in $$($(GO) list ./...); do \
		for f in $$($(GO) test -list '^Fuzz' $$pkg | grep '^Fuzz' || true); do \
			echo "==> fuzz $$pkg $$f"; $(GO) test -run '^$$' -fuzz "^$$f$$" -fuzztime $(FUZZTIME) $$pkg; done; done); done

## lint: golangci-lint v2 with the linters of .golangci.yml over every module
lint: lint-install
	@set -e; for m in $(MODULES); do echo "==> lint $$m"; (cd $$m && "$(GOLANGCI_LINT)" run ./...); done

## lint-install: install golangci-lint $(GOLANGCI_LINT_VERSION) into GOBIN unless it is there
lint-install:
	@if ! "$(GOLANGCI_LINT)" version 2>/dev/null | grep -q 'has version $(patsubst v%,%,$(GOLANGCI_LINT_VERSION)) '; then \
		echo "installing golangci-lint $(GOLANGCI_LINT_VERSION) into $(GOBIN)"; \
		GOBIN="$(GOBIN)" $(GO) install github.com/golangci/golangci-lint/v2/cmd/golangci-lint@$(GOLANGCI_LINT_VERSION); \
	fi

## check: the static checks CI runs before the tests: lint, tidy-check, check-generated
check: lint tidy-check check-generated

## generate: regenerate contracts and other generated code
generate:
	@set -e; for m in $(MODULES); do (cd $$m && $(GO) generate ./...); done

## check-generated: fail if generated files are not current (changed or new after make generate)
check-generated: generate
	@if ! git rev-parse --git-dir >/dev/null 2>&1; then echo "not a git checkout: generated files not checked"; exit 0; fi; \
	changed=$$(git status --porcelain -- contracts services pkg tools docs/api.md); \
	if [ -n "$$changed" ]; then echo "$$changed"; git --no-pager diff --stat -- contracts services pkg tools docs/api.md; \
		echo "generated files are not current: run 'make generate' and commit the result" >&2; exit 1; fi; \
	echo "generated files are current"

## check-contracts: no contract may break against any earlier version of it in git
## (BACKWARD_TRANSITIVE across the history of contracts/avro)
check-contracts:
	@mkdir -p bin && $(GO) build -o bin/samnav ./tools/samnav
	@if ! git rev-parse --git-dir >/dev/null 2>&1; then echo "not a git checkout: contracts history not checked"; exit 0; fi; \
	revs=$$(git log --format=%H -- contracts/avro); \
	for rev in $$revs; do bin/samnav contracts check --against $$rev || exit 1; done; \
	echo "contracts checked against $$(echo $$revs | wc -w) earlier versions"

## fmt: gofmt every module
fmt:
	gofmt -w $(MODULES)

## tidy: go mod tidy every module
tidy:
	@set -e; for m in $(MODULES); do (cd $$m && $(GO) mod tidy); done

## tidy-check: fail if any module's go.mod or go.sum is not what `go mod tidy` makes
## of it (each module alone, as a business system importing it would see it)
tidy-check:
	@fail=0; for m in $(MODULES); do echo "==> tidy $$m"; (cd $$m && $(GO) mod tidy -diff) || fail=1; done; \
	if [ $$fail != 0 ]; then echo "run 'make tidy' and commit the result" >&2; exit 1; fi

clean:
	rm -rf "$(DATA_DIR)"
