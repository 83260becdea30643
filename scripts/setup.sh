#!/usr/bin/env bash
# Idempotent set-up of everything the local stack and the tests need: Debian packages, the main virtualenv,
# the Cloud Tasks emulator's own virtualenv (it pins protobuf<5), and the npm packages. Safe to run again.
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD
say() { printf '\033[1m[setup]\033[0m %s\n' "$*"; }

# --- Debian packages -------------------------------------------------------------------------------------
DEBS=(chromium ffmpeg tesseract-ocr espeak-ng)
missing=()
for p in "${DEBS[@]}"; do dpkg -s "$p" >/dev/null 2>&1 || missing+=("$p"); done
if [ ${#missing[@]} -gt 0 ]; then
  say "installing Debian packages: ${missing[*]}"
  SUDO=""; [ "$(id -u)" = 0 ] || SUDO="sudo"
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

# --- Python: main virtualenv -------------------------------------------------------------------------------
stamp() { cat "$@" | sha256sum | cut -c1-16; }
PY=${PYTHON:-python3}
if [ ! -x .venv/bin/python ]; then say "creating .venv"; $PY -m venv .venv; fi
# every file requirements-dev.txt includes counts: a stand-in's new pin alone must install too
want=$(stamp requirements-dev.txt $(sed -n 's/^-r //p' requirements-dev.txt))
if [ "$(cat .venv/.stamp 2>/dev/null)" != "$want" ]; then
  say "installing Python packages into .venv"
  .venv/bin/pip install -q --disable-pip-version-check -r requirements-dev.txt
  echo "$want" > .venv/.stamp
fi

# --- Python: Cloud Tasks emulator in its own virtualenv ----------------------------------------------------
if [ ! -x .venv-tasks/bin/python ]; then say "creating .venv-tasks"; $PY -m venv .venv-tasks; fi
want=$(stamp localdev/tasks/requirements.txt)
if [ "$(cat .venv-tasks/.stamp 2>/dev/null)" != "$want" ]; then
  say "installing the Cloud Tasks emulator into .venv-tasks"
  .venv-tasks/bin/pip install -q --disable-pip-version-check -r localdev/tasks/requirements.txt
  echo "$want" > .venv-tasks/.stamp
fi

# --- npm: emulators (localdev/) --------------------------------------------------------------------------
# firebase-tools is large (minutes to install), so its node_modules live in a per-user cache keyed by the lock
# file and localdev/node_modules links there: a second clone on the same machine installs nothing.
CACHE=${MAM_CACHE_DIR:-$HOME/.cache/mam}
want=$(stamp localdev/package.json localdev/package-lock.json)
target="$CACHE/localdev-$want"
if [ ! -f "$target/node_modules/.stamp" ]; then
  say "installing npm packages for the emulators into $target"
  rm -rf "$target"; mkdir -p "$target"
  cp localdev/package.json localdev/package-lock.json "$target/"
  (cd "$target" && npm ci --no-audit --no-fund --loglevel=error)
  echo "$want" > "$target/node_modules/.stamp"
fi
if [ "$(readlink localdev/node_modules 2>/dev/null)" != "$target/node_modules" ]; then
  rm -rf localdev/node_modules
  ln -s "$target/node_modules" localdev/node_modules
fi

# --- npm: the front end (frontend/) ---------------------------------------------------------------------------
if [ -f frontend/package.json ]; then
  want=$(stamp frontend/package.json $( [ -f frontend/package-lock.json ] && echo frontend/package-lock.json))
  if [ ! -d frontend/node_modules ] || [ "$(cat frontend/node_modules/.stamp 2>/dev/null)" != "$want" ]; then
    say "installing npm packages in frontend"
    # npm ci on a fresh clone (exactly the lock file); npm install when node_modules exists (does not wipe it).
    (cd frontend && if [ -f package-lock.json ] && [ ! -d node_modules ]; then npm ci --no-audit --no-fund --loglevel=error; else npm install --no-audit --no-fund --loglevel=error; fi)
    echo "$want" > frontend/node_modules/.stamp
  fi
fi
say "ready"
