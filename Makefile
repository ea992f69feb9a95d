# The two commands a newcomer needs (see README.md).
.PHONY: run test bench

## Build everything and run the app on http://127.0.0.1:3000 with demo data.
run:
	infra/run-local.sh

## Set up a fresh machine and run every test.
test:
	infra/test-all.sh

## Reproduce the figures in BENCHMARKS.md.
bench:
	infra/bench.sh
