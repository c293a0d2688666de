#!/bin/sh
# archive-experiment.sh SRC DST: copy what "lethe experiment --report-only"
# needs from the experiment directory SRC into DST, for committing under
# docs/results: results.json, config.json, the report and its plots, and the
# metrics logs the report's curves are drawn from, gzipped: pretraining's whole
# log (its training-loss curve), and only the validation and dev records of
# adaptation and fine-tuning (their per-update records draw nothing).
# Checkpoints, token files, tokenizers, evaluation caches and stage marks are
# left out.
# DST is written beside itself and renamed into place at the end.
set -eu
[ $# -eq 2 ] || { echo "usage: $0 SRC DST" >&2; exit 2; }
src=$1 dst=$2
[ -f "$src/results.json" ] || { echo "$0: $src/results.json: not an experiment directory" >&2; exit 1; }
tmp=$(mktemp -d "$(dirname "$dst")/.archive.XXXXXX")
chmod 755 "$tmp"
trap 'rm -rf "$tmp"' EXIT
cp "$src/results.json" "$src/config.json" "$src/report.md" "$src/report.html" "$tmp/"
cp -r "$src/plots" "$tmp/"
(cd "$src" && find . -name metrics.jsonl -path './seed-*' | sort) | while read -r f; do
	mkdir -p "$tmp/$(dirname "$f")"
	case $f in
	*/pretrain/*) cat "$src/$f" ;;
	*) grep -E '"(valid|dev)_' "$src/$f" || true ;;
	esac | gzip -9cn > "$tmp/$f.gz"
done
rm -rf "$dst.old"
[ -e "$dst" ] && mv "$dst" "$dst.old"
mv "$tmp" "$dst"
trap - EXIT
rm -rf "$dst.old"
du -sh "$dst"
