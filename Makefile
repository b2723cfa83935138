# idsync build, test and demo entry points. Run `make help` for a summary.

GO        ?= go
BIN       ?= bin/idsync
VERSION   ?= $(shell git describe --tags --always --dirty 2>/dev/null || echo dev)
COMMIT    ?= $(shell git rev-parse --short HEAD 2>/dev/null)
DATE      ?= $(shell date -u +%Y-%m-%dT%H:%M:%SZ)
LDFLAGS   := -s -w -X main.version=$(VERSION) -X main.commit=$(COMMIT) -X main.date=$(DATE)
DC        := scripts/samba-dc.sh
CHAOS_DC   := IDSYNC_DC_DIR=/tmp/idsync-dc-chaos IDSYNC_DC_ADDR=127.77.0.3
CHAOS_TEST := $(CHAOS_DC) CI=true CHAOS_TABLE=$(CURDIR)/bin/chaos-table.txt $(GO) test -tags chaos -count=1 ./chaos

.PHONY: help demo demo-down build man test test-unit bench chaos chaos-ci lint dist check-package dc-up dc-down dc-seed clean

help: ## show this help
	@awk 'BEGIN{FS=":.*## "} /^[a-zA-Z_-]+:.*## /{printf "  %-12s %s\n", $$1, $$2}' $(MAKEFILE_LIST)

demo: ## run the demo: a sample AD, the emulator, a full and a delta sync
	scripts/demo.sh up

demo-down: ## stop what the demo started and remove its files
	scripts/demo.sh down

build: ## build bin/idsync
	CGO_ENABLED=0 $(GO) build -trimpath -ldflags '$(LDFLAGS)' -o $(BIN) ./cmd/idsync

man: ## write the man pages, made from the commands' help, into bin/man
	$(GO) run ./cmd/idsync man bin/man

test: ## run every test, integration included (starts the Samba test DC)
	$(DC) up
	$(DC) seed --profile test
	$(GO) test -race -count=1 ./...

test-unit: ## run the tests that need no domain controller
	$(GO) test -race -count=1 -short ./...

bench: ## measure idsync end to end on its own Samba DC (WORKLOAD=w1k|w10k|w100k, BENCHFLAGS=...)
	IDSYNC_BENCH_COMMAND="make bench WORKLOAD=$(or $(WORKLOAD),w1k) BENCHFLAGS='$(BENCHFLAGS)'" scripts/bench.sh $(or $(WORKLOAD),w1k) $(BENCHFLAGS)

chaos: ## fault suite: cloud and DC faults, kill -9, several agents, bad input, security (prints a table)
	$(CHAOS_DC) $(DC) up
	@mkdir -p bin; rm -f bin/chaos-table.txt; rc=0; $(CHAOS_TEST) -timeout 45m || rc=$$?; cat bin/chaos-table.txt 2>/dev/null; exit $$rc

chaos-ci: ## the short chaos variant .ci/run runs (CHAOS_LEVEL=ci, about a minute)
	$(CHAOS_DC) $(DC) up
	@mkdir -p bin; rm -f bin/chaos-table.txt; rc=0; CHAOS_LEVEL=ci $(CHAOS_TEST) -timeout 10m || rc=$$?; cat bin/chaos-table.txt 2>/dev/null; exit $$rc

STATICCHECK := $(GO) run honnef.co/go/tools/cmd/staticcheck@v0.8.2

lint: ## gofmt, go vet and staticcheck, the chaos-tagged suite included
	@out=$$(gofmt -l $$(git ls-files '*.go')); if [ -n "$$out" ]; then echo "gofmt needed:"; echo "$$out"; exit 1; fi
	$(GO) vet ./...
	$(GO) vet -tags chaos ./chaos
	$(STATICCHECK) ./...
	$(STATICCHECK) -tags chaos ./chaos

dist: ## release binaries (linux, windows; amd64, arm64), .deb packages and SHA256SUMS into dist/
	scripts/dist.sh

check-package: dist ## as root: install the .deb, check it and the service commands, purge it
	scripts/check-package.sh

dc-up: ## start the throwaway Samba AD domain controller
	$(DC) up

dc-seed: ## seed the test DC (PROFILE=test|demo|w1k|w10k)
	$(DC) seed --profile $(or $(PROFILE),test)

dc-down: ## stop the test DC and remove its data
	$(DC) down

clean: ## remove build output
	rm -rf bin dist
