#!/bin/sh
# The image's entrypoint: runs the service as an unprivileged user. Started as root (the default
# in the image), it only hands the data directory to that user (a volume mounted there, as on
# Fly, belongs to root), then drops every privilege and execs the service: the service itself
# never runs as root. Started as any other user (`docker run --user …`), it execs directly.
#
# RUN_AS_USER names the user (default `storymimi`, uid 10001 in the image).
set -eu

user="${RUN_AS_USER:-storymimi}"
data="${STORYMIMI_DATA_DIR:-/data}"

if [ "$(id -u)" != 0 ]; then
  exec "$@"
fi

uid="$(id -u "$user")"
gid="$(id -g "$user")"
mkdir -p "$data"
# Only when the directory is not the user's yet (a new volume): other starts walk nothing.
# (A STORYMIMI_MEDIA_DIR outside the data dir, and its parent, must be the user's too.)
if [ "$(stat -c %u "$data")" != "$uid" ]; then
  chown -R "$uid:$gid" "$data"
fi
HOME="$(getent passwd "$user" | cut -d: -f6)"
export HOME
exec setpriv --reuid="$uid" --regid="$gid" --init-groups --inh-caps=-all --bounding-set=-all --no-new-privs -- "$@"
