#!/usr/bin/env bash
# Installs hfprobe into ./.venv with every extra and the test tools ([dev]), under the exact versions the project
# is tested with (constraints.txt; docs/design.md says why). A user's `pip install hfprobe` needs none of this.
set -euo pipefail
cd "$(dirname "$0")"
# System extras: the headless browser the UI tests drive, and offline datasets the zoos train on.
# Needs root (or sudo); without it, hfprobe still works and the tests that need them skip, saying why.
if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
  apt-get update -qq || true
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends \
    chromium fortunes fortunes-min dataset-fashion-mnist >/dev/null || echo "install.sh: apt packages unavailable; continuing without them"
fi
python3 -m venv .venv
.venv/bin/pip install -q --upgrade pip
.venv/bin/pip install -q -e ".[dev]" -c constraints.txt
echo "installed: $(.venv/bin/hfprobe --version)"
