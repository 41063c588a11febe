#!/usr/bin/env bash
# Sets up everything the tests need on a machine with Python 3.11 and pip, then runs them.
# Used word for word by the README and by .ci/run.
set -euo pipefail
cd "$(dirname "$0")/.."

python3.11 -m venv .venv
.venv/bin/pip install --quiet --disable-pip-version-check -e ".[test]"
# lightly's losses are the tests' independent oracle; without its training stack (Lightning), which we never use.
.venv/bin/pip install --quiet --disable-pip-version-check --no-deps "lightly==1.6.*" "lightning-utilities>=0.11"

# Debian packages the tests use: Chromium, which the browser tests drive (Playwright cannot download its own
# browser here), and the fortunes, the real English that text mode offers once installed (the app runs without).
PACKAGES=()
command -v chromium >/dev/null 2>&1 || PACKAGES+=(chromium)
[ -f /usr/share/games/fortunes/computers ] || PACKAGES+=(fortunes fortunes-min)
if [ ${#PACKAGES[@]} -gt 0 ]; then
    SUDO=""; [ "$(id -u)" = 0 ] || SUDO="sudo"
    $SUDO apt-get update -qq
    DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq "${PACKAGES[@]}" >/dev/null
fi

export GRADIO_ANALYTICS_ENABLED=False
exec .venv/bin/python -m pytest "$@"
