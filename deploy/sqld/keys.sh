#!/bin/sh
# Keys for the libSQL primary (sqld) and the token StoryMimi's replicas present to it.
#
#   deploy/sqld/keys.sh DIR
#
# sqld checks each client's token (an EdDSA JWT) against Ed25519 public keys; whoever holds
# the private key can make tokens. In DIR (created, readable by you alone):
#   jwt-private.pem     the Ed25519 private key: keep it offline (a password manager), never
#                       on a machine; made once, reused when DIR already has one
#   jwt-public.pem      its public key (PKCS#8 PEM), for sqld's key file (SQLD_AUTH_JWT_KEY_FILE;
#                       several keys concatenated are all accepted: that is how keys rotate)
#   jwt-public.b64url   the same public key as sqld's SQLD_AUTH_JWT_KEY takes it (32 raw bytes,
#                       URL-safe base64)
#   replica.jwt         a read-write token ({"a":"rw"}, no expiry: it lives until its key is
#                       retired) for STORYMIMI_DB_AUTH_TOKEN; a new one on every run
# Needs openssl 3 (Ed25519 signing with -rawin) and coreutils' basenc.
set -eu

dir="${1:?usage: deploy/sqld/keys.sh DIR}"
umask 077
mkdir -p "$dir"

b64url() { basenc --base64url -w0 | tr -d '='; }

if [ ! -s "$dir/jwt-private.pem" ]; then
  openssl genpkey -algorithm ed25519 -out "$dir/jwt-private.pem"
fi
openssl pkey -in "$dir/jwt-private.pem" -pubout -out "$dir/jwt-public.pem"
# The last 32 bytes of the DER public key are the raw Ed25519 key.
openssl pkey -in "$dir/jwt-private.pem" -pubout -outform DER | tail -c 32 | b64url >"$dir/jwt-public.b64url"

header="$(printf '{"alg":"EdDSA","typ":"JWT"}' | b64url)"
claims="$(printf '{"a":"rw","iat":%s}' "$(date +%s)" | b64url)"
printf '%s.%s' "$header" "$claims" >"$dir/.signing-input"
signature="$(openssl pkeyutl -sign -inkey "$dir/jwt-private.pem" -rawin -in "$dir/.signing-input" | b64url)"
rm -f "$dir/.signing-input"
printf '%s.%s.%s\n' "$header" "$claims" "$signature" >"$dir/replica.jwt"

echo "made in $dir: jwt-private.pem (keep offline), jwt-public.pem, jwt-public.b64url, replica.jwt"
