#!/usr/bin/env bash
# Install what the tests need, then run them all. Extra arguments go to pytest.
# Browser tests use Debian's Chromium (/usr/bin/chromium); as root this installs it if missing.
set -euo pipefail
cd "$(dirname "$0")/.."
if [ ! -x /usr/bin/chromium ]; then
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null
  else
    echo "note: /usr/bin/chromium is missing; browser tests will skip (install Debian's 'chromium')" >&2
  fi
fi
python3 -m pip install -q -r requirements-test.txt
# The layering of labcore (pyproject.toml's import contracts): fails the run when broken.
lint-imports --no-cache
python3 -m pytest "$@"
