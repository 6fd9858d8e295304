#!/usr/bin/env bash
# Creates the client certificate kube-apiserver presents to the webhook, with openssl: a client CA (kept
# apart from the serving CA and from the cluster's CA, so that it signs nothing else) and one client
# certificate, CN kube-apiserver-admission-client, extendedKeyUsage clientAuth.
#
# Usage: certs/apiserver-client.sh [OUTDIR]        (default: certs/out next to this script)
#
# OUTDIR receives:
#   client-ca.crt, client-ca.key        the client CA (EC P-256, 5 years); reused when present and valid
#   apiserver-client.crt, .key          the apiserver's certificate (EC P-256, 1 year), new on every run
# Then: client-ca.crt goes into the ConfigMap nonroot-admission-client-ca, the certificate and key onto
# the control-plane nodes (deploy/apiserver/, "Client authentication" in deploy/README.md).
#
# Environment: NONROOT_CA_DAYS (1825), NONROOT_CERT_DAYS (365), NONROOT_CLIENT_NAME (the CN).
set -euo pipefail
[ $# -le 1 ] || { echo "usage: $0 [OUTDIR]" >&2; exit 2; }
outdir=${1:-"$(cd "$(dirname "$0")" && pwd)/out"}
ca_days=${NONROOT_CA_DAYS:-1825}
cert_days=${NONROOT_CERT_DAYS:-365}
name=${NONROOT_CLIENT_NAME:-kube-apiserver-admission-client}
for value in "$ca_days" "$cert_days"; do
    [[ $value =~ ^[1-9][0-9]*$ ]] || { echo "error: NONROOT_CA_DAYS and NONROOT_CERT_DAYS must be positive integers" >&2; exit 2; }
done
[[ $name =~ ^[A-Za-z0-9:._-]{1,64}$ ]] || { echo "error: NONROOT_CLIENT_NAME must be 1 to 64 of A-Z a-z 0-9 : . _ -" >&2; exit 2; }
command -v openssl >/dev/null || { echo "error: openssl is required" >&2; exit 1; }
umask 077
# Keys are written to a private scratch folder inside OUTDIR, then renamed into place.
outdir=$(mkdir -p "$outdir" && cd "$outdir" && pwd)
work=$(mktemp -d "$outdir/.client.XXXXXX") && trap 'rm -rf "$work"' EXIT

if [ -s "$outdir/client-ca.crt" ] && [ -s "$outdir/client-ca.key" ] \
    && openssl x509 -in "$outdir/client-ca.crt" -noout -checkend $((cert_days * 86400)) >/dev/null 2>&1 \
    && [ "$(openssl x509 -in "$outdir/client-ca.crt" -noout -pubkey)" = "$(openssl pkey -in "$outdir/client-ca.key" -pubout)" ]; then
    ca_state=reused
else
    ca_state=created
    openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out "$work/client-ca.key" 2>/dev/null
    openssl req -x509 -new -key "$work/client-ca.key" -sha256 -days "$ca_days" -subj "/CN=nonroot-admission client CA" \
        -addext "basicConstraints=critical,CA:TRUE,pathlen:0" -addext "keyUsage=critical,keyCertSign,cRLSign" \
        -set_serial "0x$(openssl rand -hex 16)" -out "$work/client-ca.crt"
    mv -f "$work/client-ca.key" "$outdir/client-ca.key"
    mv -f "$work/client-ca.crt" "$outdir/client-ca.crt"
fi

cat >"$work/leaf.cnf" <<EOC
[leaf]
basicConstraints = critical, CA:FALSE
keyUsage = critical, digitalSignature
extendedKeyUsage = clientAuth
subjectKeyIdentifier = hash
authorityKeyIdentifier = keyid, issuer
EOC
openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out "$work/apiserver-client.key" 2>/dev/null
openssl req -new -key "$work/apiserver-client.key" -subj "/CN=$name" -out "$work/apiserver-client.csr"
openssl x509 -req -in "$work/apiserver-client.csr" -CA "$outdir/client-ca.crt" -CAkey "$outdir/client-ca.key" -sha256 \
    -days "$cert_days" -set_serial "0x$(openssl rand -hex 16)" -extfile "$work/leaf.cnf" -extensions leaf \
    -out "$work/apiserver-client.crt" 2>/dev/null
openssl verify -CAfile "$outdir/client-ca.crt" -purpose sslclient "$work/apiserver-client.crt" >/dev/null
chmod 0644 "$work/apiserver-client.crt" "$outdir/client-ca.crt"
mv -f "$work/apiserver-client.key" "$outdir/apiserver-client.key"
mv -f "$work/apiserver-client.crt" "$outdir/apiserver-client.crt"
echo "client CA $ca_state: $outdir/client-ca.crt"
echo "apiserver client certificate CN=$name: $outdir/apiserver-client.crt, key $outdir/apiserver-client.key"
