#!/usr/bin/env bash
# `npm run test:deps`: installs the Debian packages the tests use, when they are missing (uses sudo when not
# root). `.ci/run` runs it too, so CI and a fresh checkout set up the same way.
#   mosquitto  a real broker (benchmark baseline, broker compatibility)
#   openssl    the AWS IoT Core emulator and the TLS tests mint their CA and certificates with it
#   systemd    systemd-analyze verifies the unit file; systemd-notify is the sd_notify fallback under test
#   python3    receives sd_notify datagrams in the notify test
#   file       the release tests check that every native addon is built for the target architecture
#   chromium   the local status page is tested in a real browser (playwright-core drives /usr/bin/chromium)
#   tmux       `fieldgate top` is tested in a real terminal (tmux capture-pane)
set -euo pipefail

needed=()
command -v mosquitto >/dev/null 2>&1 || needed+=(mosquitto)
command -v openssl >/dev/null 2>&1 || needed+=(openssl)
{ command -v systemd-analyze && command -v systemd-notify; } >/dev/null 2>&1 || needed+=(systemd)
command -v python3 >/dev/null 2>&1 || needed+=(python3)
command -v file >/dev/null 2>&1 || needed+=(file)
command -v chromium >/dev/null 2>&1 || needed+=(chromium)
command -v tmux >/dev/null 2>&1 || needed+=(tmux)
if [ ${#needed[@]} -eq 0 ]; then
  echo "test-deps: everything the tests need is installed"
  exit 0
fi
if ! command -v apt-get >/dev/null 2>&1; then
  echo "test-deps: install these with your package manager: ${needed[*]}" >&2
  exit 1
fi
SUDO=""
if [ "$(id -u)" -ne 0 ]; then SUDO="sudo"; fi
echo "test-deps: installing ${needed[*]}"
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq
$SUDO apt-get install -y -qq "${needed[@]}" >/dev/null
