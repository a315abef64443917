#!/usr/bin/env bash
# Render the simulation report of examples/sessions/*.jsonl in headless Chromium:
# save a PNG screenshot to look at, and check the browser's DOM has every table and chart
# (per session: the comparison and the losses tables, four SVG charts).
#
# Usage: scripts/check_report.sh [OUT_DIR]   (default: a new temporary directory)
# Needs: ctxchunk installed (the project's venv active) and Debian's chromium
# (apt-get install -y chromium). Writes OUT_DIR/report.html, OUT_DIR/report.png and
# OUT_DIR/dom.html; exits non-zero if Chromium fails or anything is missing.
set -euo pipefail
cd "$(dirname "$0")/.."

browser="$(command -v chromium || command -v chromium-browser || true)"
if [ -z "$browser" ]; then
    echo "check_report: no chromium binary; install it with: apt-get install -y chromium" >&2
    exit 1
fi
out="${1:-$(mktemp -d)}"
mkdir -p "$out"
out="$(cd "$out" && pwd)"
profile="$(mktemp -d)"
trap 'rm -rf "$profile"' EXIT

sessions=(examples/sessions/*.jsonl)
ctxchunk simulate "${sessions[@]}" --budget 16000 \
    --policy baseline --policy recommended --policy summarize \
    --policy clear-tool-results:3+role-priority \
    --report "$out/report.html" >/dev/null 2>"$out/simulate.log" ||
    { cat "$out/simulate.log" >&2; exit 1; }

# Without the background-networking flags Chromium tries to reach Google's services,
# and on a closed network those refused connections slow or break the headless run.
flags=(--headless --no-sandbox --disable-gpu --disable-background-networking
    --disable-component-update --disable-sync --no-first-run
    --user-data-dir="$profile" --window-size=1400,3000)
"$browser" "${flags[@]}" --screenshot="$out/report.png" "file://$out/report.html" \
    2>"$out/chromium.log" >/dev/null
"$browser" "${flags[@]}" --dump-dom "file://$out/report.html" \
    >"$out/dom.html" 2>>"$out/chromium.log"

n=${#sessions[@]}
tables=$(grep -o '<table>' "$out/dom.html" | wc -l)
svgs=$(grep -o '<svg' "$out/dom.html" | wc -l)
rows=$(grep -o '<tr>' "$out/dom.html" | wc -l)
png=$(stat -c %s "$out/report.png")
echo "sessions $n: tables $tables, table rows $rows, svg charts $svgs, screenshot $png bytes"
status=0
[ "$tables" -eq $((2 * n)) ] || { echo "expected $((2 * n)) tables (comparison + losses per session)" >&2; status=1; }
[ "$svgs" -eq $((4 * n)) ] || { echo "expected $((4 * n)) svg charts" >&2; status=1; }
[ "$rows" -eq $((10 * n)) ] || { echo "expected $((10 * n)) table rows (header + 4 policies, two tables each)" >&2; status=1; }
[ "$png" -gt 50000 ] || { echo "screenshot suspiciously small" >&2; status=1; }
echo "screenshot: $out/report.png"
echo "DOM dump:   $out/dom.html"
exit "$status"
