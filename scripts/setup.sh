#!/usr/bin/env bash
# One-step set-up on a fresh Debian machine: system packages, then the project (editable).
#   bash scripts/setup.sh          # dashboard + exports: CJK fonts, the project
#   bash scripts/setup.sh --test   # also Chromium (browser tests), poppler, test extras
set -euo pipefail
cd "$(dirname "$0")/.."
want_test=0
[[ "${1:-}" == "--test" ]] && want_test=1

apt_pkgs=(fonts-noto-cjk fontconfig)
# PostgreSQL + PostGIS: the PostGIS store's tests start their own server (scripts/postgis.sh)
if (( want_test )); then apt_pkgs+=(chromium poppler-utils postgresql-15 postgresql-15-postgis-3); fi
# a fresh Debian has python3 but maybe not pip
python3 -m pip --version >/dev/null 2>&1 || apt_pkgs+=(python3-pip)
missing=()
for p in "${apt_pkgs[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if (( ${#missing[@]} )); then
  SUDO=""; [[ $(id -u) -ne 0 ]] && SUDO="sudo"
  echo "setup: installing Debian packages: ${missing[*]}"
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
  fc-cache -f >/dev/null 2>&1 || true
fi

# Debian's own python3 is "externally managed" (PEP 668): install into it on purpose, as the
# README's commands expect `streamlit`, `onemap` and `pytest` on the PATH without a venv.
if python3 -c 'import os, sys, sysconfig; sys.exit(not os.path.exists(os.path.join(sysconfig.get_path("stdlib"), "EXTERNALLY-MANAGED")))' && [[ -z "${VIRTUAL_ENV:-}" ]]; then
  export PIP_BREAK_SYSTEM_PACKAGES=1
fi
if (( want_test )); then
  python3 -m pip install -q -e ".[test]"
else
  python3 -m pip install -q -e .
fi
echo "setup: done"
