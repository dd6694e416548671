#!/usr/bin/env bash
# make-certs.sh DIR — writes the throwaway PKI examples/mtls.yaml names into
# DIR (default: the directory of this script): a CA for the gateway's and
# admin port's server certificates, a CA for client certificates with two
# partners (alice by subject, carol by SPIFFE URI), a client certificate
# Turnout presents to upstreams, and an admin tokens file. For trying the
# example only: every key is unencrypted and the CAs sign for 127.0.0.1.
set -euo pipefail
dir=${1:-$(cd "$(dirname "$0")" && pwd)}
mkdir -p "$dir"
cd "$dir"
days=30
ec() { openssl ecparam -name prime256v1 -genkey -noout -out "$1.key" 2>/dev/null; }
ca() { # name
  ec "$1-ca"
  openssl req -x509 -new -key "$1-ca.key" -sha256 -days $days -subj "/CN=$1 example CA" -out "$1-ca.pem" 2>/dev/null
}
leaf() { # ca name subject extensions
  ec "$2"
  openssl req -new -key "$2.key" -subj "$3" -out "$2.csr" 2>/dev/null
  openssl x509 -req -in "$2.csr" -CA "$1-ca.pem" -CAkey "$1-ca.key" -CAcreateserial -sha256 -days $days \
    -extfile <(printf '%s\n' "$4") -out "$2.crt" 2>/dev/null
  rm -f "$2.csr"
}
server_ext='subjectAltName=IP:127.0.0.1,DNS:localhost
extendedKeyUsage=serverAuth'
client_ext() { printf 'extendedKeyUsage=clientAuth\n%s' "${1:+subjectAltName=$1}"; }

ca server
ca clients
leaf server gateway "/CN=localhost" "$server_ext"
leaf server admin "/CN=localhost" "$server_ext"
leaf clients alice "/CN=alice/O=Partner A" "$(client_ext '')"
leaf clients carol "/CN=carol/O=Partner C" "$(client_ext 'URI:spiffe://example.org/carol')"
leaf clients turnout-client "/CN=turnout" "$(client_ext '')"
cp server-ca.pem upstream-ca.pem
rm -f ./*.srl

# The admin tokens: an operator stored as a SHA-256 (the file holds no
# secret) and a viewer. The secrets are printed, not kept.
op=$(openssl rand -hex 24)
viewer=$(openssl rand -hex 24)
cat > admin-tokens.yaml <<YAML
tokens:
  - { name: ops, role: operator, sha256: $(printf '%s' "$op" | sha256sum | cut -d' ' -f1) }
  - { name: grafana, role: viewer, sha256: $(printf '%s' "$viewer" | sha256sum | cut -d' ' -f1) }
YAML
chmod 600 ./*.key admin-tokens.yaml
echo "operator token (ops):     $op"
echo "viewer token (grafana):   $viewer"
