# The two commands a newcomer needs (see README.md).
.PHONY: run test run-cluster demo bench

## Build everything and run the app on http://127.0.0.1:3000 with demo data.
run:
	infra/run-local.sh

## Set up a fresh machine and run every test.
test:
	infra/test-all.sh

## Three nodes on 127.0.0.1:3001-3003 sharing PostgreSQL and Redis (both started locally).
run-cluster:
	infra/run-cluster.sh

## Walk the five golden paths with the API against the app make run started.
demo:
	infra/demo/journeys.sh $(BASE_URL)

## Reproduce the figures in BENCHMARKS.md.
bench:
	infra/bench.sh
