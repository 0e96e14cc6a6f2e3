#!/usr/bin/env bash
# Idempotent installer run first by `npm test`, `npm run demo` and `npm start` on a Debian 12
# machine. Installs what is missing, nothing else:
#   - Debian packages: debootstrap (builds the Asterisk root, see src/asterisk/),
#     espeak-ng and sox (text-to-speech prompts), postgresql (the cluster store; the tests start
#     a server of their own in a temp dir). `apt-get update` runs only when one is missing.
#   - node_modules via `npm ci`, when missing or older than package-lock.json.
# When everything is present it prints one line and takes a few milliseconds.
#
# Flags:
#   --no-apt       skip the Debian packages (e.g. not root, or packages managed elsewhere)
#   --no-asterisk  skip debootstrap only (`npm start`: Asterisk runs elsewhere, e.g. Docker)
set -euo pipefail

cd "$(dirname "$0")/.."

no_apt=0
no_asterisk=0
for arg in "$@"; do
  case "$arg" in
    --no-apt) no_apt=1 ;;
    --no-asterisk) no_asterisk=1 ;;
    -h|--help) sed -n '2,11p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
    *) echo "setup: unknown option '$arg' (try --help)" >&2; exit 2 ;;
  esac
done

# command name -> Debian package. /usr/sbin is searched too: a non-login root shell may lack it.
PATH="$PATH:/usr/local/sbin:/usr/sbin:/sbin"
missing=()
if [ "$no_apt" -eq 0 ]; then
  [ "$no_asterisk" -eq 1 ] || command -v debootstrap >/dev/null 2>&1 || missing+=(debootstrap)
  command -v espeak-ng >/dev/null 2>&1 || missing+=(espeak-ng)
  command -v sox >/dev/null 2>&1 || missing+=(sox)
  compgen -G '/usr/lib/postgresql/*/bin/initdb' >/dev/null || missing+=(postgresql) # cluster store; tests and demo:cluster run their own server
  [ "$no_asterisk" -eq 1 ] || command -v baresip >/dev/null 2>&1 || missing+=(baresip) # admin integration tests: a real SIP phone (not for npm start)
  [ "$no_asterisk" -eq 1 ] || command -v systemd-analyze >/dev/null 2>&1 || missing+=(systemd) # service-units test: systemd-analyze verify of the units `liandong service install` writes (not for npm start)
  [ "$no_asterisk" -eq 1 ] || command -v zstd >/dev/null 2>&1 || missing+=(zstd) # asterisk pack test: the root tarball is zstd-compressed
  [ "$no_asterisk" -eq 1 ] || { [ -x /usr/bin/chromium ] && [ -e /usr/share/fonts/truetype/wqy/wqy-microhei.ttc ]; } || missing+=(chromium fonts-wqy-microhei) # console e2e test: headless browser and a CJK font (not for npm start)
fi

did=()
if [ "${#missing[@]}" -gt 0 ]; then
  if [ "$(id -u)" -ne 0 ]; then
    echo "setup: missing Debian packages: ${missing[*]}" >&2
    echo "setup: install them as root: sudo apt-get install -y ${missing[*]}   (or rerun: sudo npm run setup; or skip with --no-apt)" >&2
    exit 1
  fi
  if ! command -v apt-get >/dev/null 2>&1; then
    echo "setup: missing ${missing[*]} and this is not a Debian/Ubuntu system (no apt-get); install them by hand" >&2
    exit 1
  fi
  echo "setup: installing ${missing[*]}"
  apt-get update -q
  DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends "${missing[@]}"
  did+=("installed ${missing[*]}")
fi

if [ ! -d node_modules ] || [ ! -f node_modules/.package-lock.json ] || [ package-lock.json -nt node_modules/.package-lock.json ]; then
  echo "setup: npm ci"
  npm ci --no-audit --no-fund
  did+=("npm ci")
fi

if [ "${#did[@]}" -eq 0 ]; then
  echo "setup: ok (packages and node_modules present)"
else
  echo "setup: done (${did[*]})"
fi
