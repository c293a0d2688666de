#!/bin/sh
# archive-experiment.sh SRC DST: copy what "lethe experiment --report-only"
# needs from the experiment directory SRC into DST, for committing under
# docs/results: results.json, config.json, and one metrics bundle,
# metrics.jsonl.gz, in place of the runs' own metrics logs (written by
# scripts/metrics-bundle, experiment.WriteMetricsBundle): for each run the
# report draws, its validation and dev records, its embedding resets and,
# for pretraining, the training records at the updates the report's
# training-loss curve draws (at most 1500 per arm). The report and its plots
# are then written again from DST itself, so that what is committed is what
# DST rebuilds; they come out as SRC's when SRC's report is the current
# code's. Paths in the records are made relative (runs/NAME, data).
# Checkpoints, token files, tokenizers, evaluation caches, stage
# marks and the other training records are left out.
# DST is written beside itself and renamed into place at the end. Run it from
# anywhere inside the Lethe repository (it builds scripts/metrics-bundle and
# cmd/lethe with go run).
set -eu
[ $# -eq 2 ] || { echo "usage: $0 SRC DST" >&2; exit 2; }
src=$1 dst=$2
[ -f "$src/results.json" ] || { echo "$0: $src/results.json: not an experiment directory" >&2; exit 1; }
repo=$(cd "$(dirname "$0")/.." && pwd)
src=$(cd "$src" && pwd)
tmp=$(mktemp -d "$(dirname "$dst")/.archive.XXXXXX")
trap 'rm -rf "$tmp"' EXIT
tmp=$(cd "$tmp" && pwd)
chmod 755 "$tmp"
cp "$src/results.json" "$src/config.json" "$tmp/"
# Paths in the records become relative, so that the archive refers to nothing
# outside the repository: the experiment directory SRC is written
# runs/NAME (NAME: DST's last element) and its data directory data.
data=$(sed -n 's/^  "data": "\(.*\)",$/\1/p' "$src/config.json")
name=$(basename "$dst")
for f in "$tmp/results.json" "$tmp/config.json"; do
	sed -i -e "s#$src\([\"/ ]\)#runs/$name\1#g" -e "s#$src\$#runs/$name#g" "$f"
	[ -z "$data" ] || sed -i -e "s#$data\([\"/ ]\)#data\1#g" "$f"
done
go -C "$repo" run ./scripts/metrics-bundle "$src" "$tmp"
go -C "$repo" run ./cmd/lethe experiment --report-only --out "$tmp" >/dev/null
for f in report.md report.html; do
	cmp -s "$src/$f" "$tmp/$f" || echo "$0: note: $f rebuilt from the archive differs from $src/$f (paths made relative; or written by older code)" >&2
done
rm -rf "$dst.old"
[ -e "$dst" ] && mv "$dst" "$dst.old"
mv "$tmp" "$dst"
trap - EXIT
rm -rf "$dst.old"
du -sh "$dst"
