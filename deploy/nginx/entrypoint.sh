#!/bin/sh
# Generates a self-signed certificate on first start (kept in the certs
# volume), then runs the command (nginx in the foreground by default).
set -eu
CERT_DIR="${CERT_DIR:-/etc/nginx/certs}"
TLS_HOSTNAME="${TLS_HOSTNAME:-localhost}"
if [ ! -s "$CERT_DIR/server.crt" ] || [ ! -s "$CERT_DIR/server.key" ]; then
    mkdir -p "$CERT_DIR"
    echo "entrypoint: generating a self-signed certificate for $TLS_HOSTNAME in $CERT_DIR" >&2
    openssl req -x509 -newkey rsa:2048 -sha256 -nodes -days 825 \
        -subj "/CN=$TLS_HOSTNAME" \
        -addext "subjectAltName=DNS:$TLS_HOSTNAME,DNS:localhost,IP:127.0.0.1" \
        -keyout "$CERT_DIR/server.key" -out "$CERT_DIR/server.crt" 2>/dev/null
    chmod 600 "$CERT_DIR/server.key"
fi
exec "$@"
