#!/bin/sh
# Runs every variant in a process of its own (RssAnon-MiB is the process's).
# Usage: ./run.sh [benchtime]   (default 300x: 30,000 new alerts per variant)
set -e
cd "$(dirname "$0")"
go test -c -o /tmp/enginecmp.test .
for v in state bbolt-full bbolt-lean bbolt-append bbolt-seqidx pebble-full pebble-lean; do
	for open in 10k 100k; do
		/tmp/enginecmp.test -test.run XXX -test.bench "Engines/$v/open=$open\$" -test.benchtime "${1:-300x}" | grep Benchmark
	done
done
