#!/usr/bin/env bash
# Set up the CS230 midterm kit on a fresh Debian/Ubuntu machine (Python 3.10+, no conda).
#
# * Debian packages (when run as root or with sudo): python3-venv, Chromium (browser
#   tests), bubblewrap (the grading sandbox) and PostgreSQL (optional gradebook tests).
# * A virtual environment in .venv with the kit and its test tools.
#
# Idempotent: running it again only installs what is missing.
set -euo pipefail
cd "$(dirname "$0")/.."

PACKAGES=(python3-venv chromium bubblewrap postgresql)
missing=()
for pkg in "${PACKAGES[@]}"; do
  dpkg -s "$pkg" >/dev/null 2>&1 || missing+=("$pkg")
done
if [ "${#missing[@]}" -gt 0 ] && command -v apt-get >/dev/null 2>&1; then
  SUDO=""
  [ "$(id -u)" -eq 0 ] || SUDO="sudo"
  echo "Installing Debian packages: ${missing[*]}"
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq "${missing[@]}" >/dev/null
fi

PYTHON="${PYTHON:-python3}"
if [ ! -x .venv/bin/python ]; then
  "$PYTHON" -m venv .venv
fi
.venv/bin/python -m pip install -q --upgrade pip
.venv/bin/python -m pip install -q -e ".[test]"
echo "Ready: .venv/bin/cs230-grade, .venv/bin/cs230-selfgrade, .venv/bin/python -m pytest"
