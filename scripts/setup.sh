#!/usr/bin/env bash
# Installs what realtime_sync needs on a fresh Debian/Ubuntu/Raspberry Pi OS machine, then the package itself
# (editable, with every extra). Safe to run again. Uses sudo for apt when not root.
set -euo pipefail
cd "$(dirname "$0")/.."

APT_PACKAGES="portaudio19-dev pulseaudio pulseaudio-utils libasound2-plugins alsa-utils"
SUDO=""
if [ "$(id -u)" != "0" ]; then SUDO="sudo"; fi

missing=""
for pkg in $APT_PACKAGES; do
  dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "install ok installed" || missing="$missing $pkg"
done
if [ -n "$missing" ]; then
  echo "setup: installing apt packages:$missing"
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends $missing >/dev/null
fi

python3 -m pip install -q --disable-pip-version-check --root-user-action=ignore -e '.[dev]'

# Third-party clients the tests run against the simulator: openai / openai-agents come with the dev extra above;
# @openai/agents-realtime needs node. CI installs node when it is missing; elsewhere the node tests skip without it.
if ! command -v node >/dev/null 2>&1 && [ "${CI:-}" = "true" ]; then
  echo "setup: installing nodejs npm"
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends nodejs npm >/dev/null
fi
if command -v npm >/dev/null 2>&1 && [ ! -d tests/node/node_modules/@openai/agents-realtime ]; then
  echo "setup: npm install (tests/node: @openai/agents-realtime)"
  (cd tests/node && npm install --no-audit --no-fund --loglevel=error)
fi
# The example web apps' browser test (tests/examples) drives Debian's chromium headless: CI installs it when it is
# missing; elsewhere that test skips without it (apt-get install chromium).
if ! command -v chromium >/dev/null 2>&1 && [ "${CI:-}" = "true" ]; then
  echo "setup: installing chromium"
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends chromium >/dev/null
fi
echo "setup: done"
