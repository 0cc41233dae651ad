# shellcheck shell=bash
# nanorelay integration harness: a test CA and good/bad server certificates.
#
#   source lib/ca.sh; ca_make_all            # ~0.3 s, ECDSA P-256 everywhere
#
# ca_make_all [DIR] creates (default DIR: $NR_TMP/ca) and exports
#   CA_DIR      the directory
#   CA_CERT     root CA certificate: the ONLY trust anchor a client needs
#               (the intermediate is NOT in it)
#   CA_BUNDLE   same file (name for clients that want a "bundle")
# and, for each KIND below, $CA_DIR/KIND.crt (exactly what a server should
# present: the leaf, plus the intermediate when KIND=chain) and
# $CA_DIR/KIND.key:
#   good        leaf for smarthost.test, IP 127.0.0.1, ::1, signed by the root
#   wrongname   leaf for wrong.test only (no IP SANs), signed by the root
#   expired     smarthost.test, valid from -30 days to -1 day (faketime)
#   notyet      smarthost.test, valid from +10 days to +40 days (faketime)
#   selfsigned  self-signed smarthost.test (not from the CA)
#   untrusted   smarthost.test signed by a different CA ($CA_DIR/other-ca.crt)
#   chain       smarthost.test signed by the intermediate; .crt = leaf+intermediate
#   nochain     the same leaf as chain, served WITHOUT the intermediate
#               (missing intermediate)
# All of them also carry IP SANs 127.0.0.1 and ::1 except wrongname.
# $CA_DIR/KIND.pem = key + certificate chain in one file (Postfix
# smtpd_tls_chain_files, openssl s_server -cert with key inside).
#
# ca_leaf NAME ISSUER SAN [FAKETIME_OFFSET] [DAYS]
#   one more leaf: ISSUER is root|int|other|self, SAN an openssl
#   subjectAltName value, FAKETIME_OFFSET e.g. "-30d" / "+10d" (notBefore
#   shift), DAYS validity (default 30). Writes $CA_DIR/NAME.{key,crt,pem}.

# shellcheck source=common.sh
source "$(dirname "${BASH_SOURCE[0]}")/common.sh"

CA_SAN_GOOD="DNS:smarthost.test,IP:127.0.0.1,IP:::1"

ca__key() { openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out "$1" 2>/dev/null; }

ca__mkca() { # NAME SUBJECT [ISSUER]  -> self-signed root or CA signed by ISSUER
	local n=$1 subj=$2 iss=${3:-}
	ca__key "$CA_DIR/$n.key"
	if [ -z "$iss" ]; then
		openssl req -x509 -new -key "$CA_DIR/$n.key" -subj "$subj" -days 3650 \
			-addext "basicConstraints=critical,CA:TRUE" \
			-addext "keyUsage=critical,keyCertSign,cRLSign" \
			-out "$CA_DIR/$n.crt" 2>/dev/null
	else
		openssl req -new -key "$CA_DIR/$n.key" -subj "$subj" -out "$CA_DIR/$n.csr" 2>/dev/null
		printf 'basicConstraints=critical,CA:TRUE,pathlen:0\nkeyUsage=critical,keyCertSign,cRLSign\nsubjectKeyIdentifier=hash\nauthorityKeyIdentifier=keyid\n' >"$CA_DIR/$n.ext"
		openssl x509 -req -in "$CA_DIR/$n.csr" -CA "$CA_DIR/$iss.crt" -CAkey "$CA_DIR/$iss.key" \
			-CAcreateserial -days 3650 -extfile "$CA_DIR/$n.ext" -out "$CA_DIR/$n.crt" 2>/dev/null
	fi
}

ca_leaf() { # NAME ISSUER SAN [OFFSET] [DAYS]
	local n=$1 iss=$2 san=$3 off=${4:-} days=${5:-30} ft=()
	[ -n "$off" ] && ft=(faketime -f "${off}")
	local cn=${san#DNS:}
	cn=${cn%%,*}
	ca__key "$CA_DIR/$n.key"
	printf 'basicConstraints=CA:FALSE\nkeyUsage=critical,digitalSignature\nextendedKeyUsage=serverAuth\nsubjectAltName=%s\n' "$san" >"$CA_DIR/$n.ext"
	if [ "$iss" = self ]; then
		"${ft[@]}" openssl req -x509 -new -key "$CA_DIR/$n.key" -subj "/CN=$cn" -days "$days" \
			-addext "subjectAltName=$san" -addext "basicConstraints=CA:FALSE" \
			-out "$CA_DIR/$n.crt" 2>/dev/null || return 1
	else
		openssl req -new -key "$CA_DIR/$n.key" -subj "/CN=$cn" -out "$CA_DIR/$n.csr" 2>/dev/null
		"${ft[@]}" openssl x509 -req -in "$CA_DIR/$n.csr" -CA "$CA_DIR/$iss.crt" -CAkey "$CA_DIR/$iss.key" \
			-CAcreateserial -days "$days" -extfile "$CA_DIR/$n.ext" -out "$CA_DIR/$n.crt" 2>/dev/null || return 1
	fi
	cat "$CA_DIR/$n.key" "$CA_DIR/$n.crt" >"$CA_DIR/$n.pem"
	chmod 0644 "$CA_DIR/$n.key" "$CA_DIR/$n.pem" # test keys; daemons drop privileges
}

ca_make_all() {
	CA_DIR=${1:-$NR_TMP/ca}
	mkdir -p "$CA_DIR"
	chmod 0755 "$CA_DIR"
	export CA_DIR CA_CERT="$CA_DIR/root.crt" CA_BUNDLE="$CA_DIR/root.crt"
	command -v faketime >/dev/null || { echo "ca.sh: faketime missing" >&2; return 1; }
	ca__mkca root "/O=nanorelay test/CN=nanorelay Test Root CA"
	ca__mkca int "/O=nanorelay test/CN=nanorelay Test Intermediate CA" root
	ca__mkca other "/O=somebody else/CN=Untrusted Test CA"
	cp "$CA_DIR/other.crt" "$CA_DIR/other-ca.crt"
	ca_leaf good root "$CA_SAN_GOOD"
	ca_leaf wrongname root "DNS:wrong.test"
	ca_leaf expired root "$CA_SAN_GOOD" -30d 29
	ca_leaf notyet root "$CA_SAN_GOOD" +10d 30
	ca_leaf selfsigned self "$CA_SAN_GOOD"
	ca_leaf untrusted other "$CA_SAN_GOOD"
	ca_leaf nochain int "$CA_SAN_GOOD"
	cp "$CA_DIR/nochain.key" "$CA_DIR/chain.key"
	cat "$CA_DIR/nochain.crt" "$CA_DIR/int.crt" >"$CA_DIR/chain.crt"
	cat "$CA_DIR/chain.key" "$CA_DIR/chain.crt" >"$CA_DIR/chain.pem"
	chmod 0644 "$CA_DIR"/*.key "$CA_DIR"/*.pem
}
