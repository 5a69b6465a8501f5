#!/usr/bin/env bash
# Vendor the front-end files into static/vendor/ from the npm registry (no CDN: the product works offline).
# Usage: scripts/vendor.sh            (versions below; see docs/frontend.md)
set -euo pipefail

BOOTSTRAP_VERSION=5.3.9
CHARTJS_VERSION=4.6.1
HTMX_VERSION=2.0.11

ROOT="$(cd "$(dirname "$0")/.." && pwd)"
DEST="$ROOT/static/vendor"
WORK="$(mktemp -d)"
trap 'rm -rf "$WORK"' EXIT

cd "$WORK"
for spec in "bootstrap@$BOOTSTRAP_VERSION" "chart.js@$CHARTJS_VERSION" "htmx.org@$HTMX_VERSION"; do
  npm pack --silent "$spec" >/dev/null
done
for tgz in *.tgz; do
  name="${tgz%.tgz}"
  mkdir -p "$name"
  tar -xzf "$tgz" -C "$name"
done

rm -rf "$DEST/bootstrap" "$DEST/chart.js" "$DEST/htmx"
mkdir -p "$DEST/bootstrap/css" "$DEST/bootstrap/js" "$DEST/chart.js" "$DEST/htmx"

B="bootstrap-$BOOTSTRAP_VERSION/package"
cp "$B/dist/css/bootstrap.min.css" "$B/dist/css/bootstrap.min.css.map" "$DEST/bootstrap/css/"
cp "$B/dist/js/bootstrap.bundle.min.js" "$B/dist/js/bootstrap.bundle.min.js.map" "$DEST/bootstrap/js/"
cp "$B/LICENSE" "$DEST/bootstrap/LICENSE"

C="chart.js-$CHARTJS_VERSION/package"
cp "$C/dist/chart.umd.min.js" "$C/dist/chart.umd.min.js.map" "$DEST/chart.js/"
cp "$C/LICENSE.md" "$DEST/chart.js/LICENSE.md"

H="htmx.org-$HTMX_VERSION/package"
cp "$H/dist/htmx.min.js" "$DEST/htmx/"
cp "$H/LICENSE" "$DEST/htmx/LICENSE"

cat > "$DEST/VERSIONS" <<VERSIONS
bootstrap $BOOTSTRAP_VERSION
chart.js $CHARTJS_VERSION
htmx.org $HTMX_VERSION
VERSIONS
echo "Vendored into $DEST:"
cat "$DEST/VERSIONS"
