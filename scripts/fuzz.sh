#!/bin/sh
# Runs every fuzz target of the untrusted input formats for a set time each
# (default 60s) on one core, and prints the executions and the outcome of
# each. New crashers land in the package's testdata/fuzz/ directory; a
# crasher there is replayed by the ordinary "go test ./...".
#
#   scripts/fuzz.sh [DURATION]        e.g. scripts/fuzz.sh 5m
set -eu
cd "$(dirname "$0")/.."
time=${1:-60s}
for target in \
	./safetensors:FuzzParse \
	./tokenizer:FuzzParseModel \
	./tokenizer:FuzzEncode \
	./dataset:FuzzOpen \
	./roberta:FuzzConfig \
	./task:FuzzReadClassification \
	./task:FuzzReadSQuAD \
	./corpus:FuzzReader; do
	pkg=${target%%:*}
	name=${target#*:}
	out=$(go test "$pkg" -run '^$' -fuzz "^$name\$" -fuzztime "$time" -parallel 1 2>&1) && status=ok || status=FAILED
	execs=$(echo "$out" | grep -o 'execs: [0-9]*' | tail -1 | cut -d' ' -f2)
	echo "$pkg $name: ${execs:-0} executions in $time, $status"
	[ "$status" = ok ] || echo "$out" | tail -20
done
