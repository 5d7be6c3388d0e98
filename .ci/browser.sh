#!/usr/bin/env bash
# Installs (if needed) Debian's Chromium and a CJK font for the browser tests, and
# playwright-core (pinned by tests/browser/package-lock.json) into target/browser-node.
set -euo pipefail
cd "$(dirname "$0")/.."
if [ ! -x /usr/bin/chromium ] || ! fc-list 2>/dev/null | grep -qi "wenquanyi\|noto sans cjk"; then
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq >/dev/null
  apt-get install -y -qq --no-install-recommends chromium fonts-wqy-microhei >/dev/null
fi
mkdir -p target/browser-node
cp tests/browser/package.json tests/browser/package-lock.json target/browser-node/
(cd target/browser-node && npm ci --no-audit --no-fund --loglevel=error)
echo "ci: $(/usr/bin/chromium --version) with playwright-core ready"
