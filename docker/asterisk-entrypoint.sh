#!/bin/sh
# Copies liandong's rendered configuration (mounted at /etc/asterisk-liandong) over Debian's
# defaults, then runs the command (asterisk -f ...) as PID 1.
set -eu
src=/etc/asterisk-liandong
if [ ! -f "$src/modules.conf" ] || [ ! -f "$src/ari.conf" ]; then
  echo "asterisk-entrypoint: no rendered configuration in $src." >&2
  echo "Run on the host: liandong asterisk render --profile production --out docker/asterisk-etc (with the .env values), then restart." >&2
  exit 1
fi
for f in "$src"/*.conf; do
  install -m 0640 -o asterisk -g asterisk "$f" /etc/asterisk/
done
exec "$@"
