#!/bin/sh
# Screenshots an experiment report the way a reader sees it: Debian's
# headless Chromium at 1280 px wide. Look at the PNG: the answer should be on
# the first screen, and no table or caption should need horizontal scrolling.
#
#   scripts/screenshot-report.sh runs/experiment-quick/report.html report.png [HEIGHT]
#
# Needs the chromium package (apt-get install -y chromium).
set -eu
if [ $# -lt 2 ]; then
	echo "usage: $0 REPORT.html OUT.png [HEIGHT (default 2400)]" >&2
	exit 2
fi
report=$(realpath "$1")
out=$(realpath -m "$2")
height=${3:-2400}
command -v chromium >/dev/null || { echo "$0: chromium is not installed (apt-get install -y chromium)" >&2; exit 1; }
profile=$(mktemp -d)
trap 'rm -rf "$profile"' EXIT
chromium --headless --no-sandbox --disable-gpu --disable-quic --no-first-run \
	--disable-background-networking --disable-component-update --disable-sync \
	--user-data-dir="$profile" --hide-scrollbars --window-size=1280,"$height" \
	--screenshot="$out" "file://$report" 2>/dev/null
echo "wrote $out (1280 x $height)"
