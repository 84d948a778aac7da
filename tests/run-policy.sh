#!/bin/sh
# run-policy.sh BUILD_DIR - domain policies end to end, offline.
#
# The captures of tests/fixtures/policy/ (written by gen_fixtures into
# BUILD_DIR/fixtures/policy, and checked byte-identical to the committed
# ones) carry DNS answers and SMTP sessions. Each is replayed with
# tests/fixtures/policy/policy.conf (an MTA-STS policy, an expired EFF list
# that tests/tools/gen_efflist writes here, a config domain rule, enforced
# pins) and its alerts, as "signature action policy.source", must equal
# <case>.expect. Then the pins survive a restart: a TLS session to a server
# in one run, a plaintext one in the next run with the same pins file, is a
# starttls_downgrade from "pin"; and `pins list` / `pins forget` act on
# that file. With STG_EFF_LIST=path (the published list, not shipped with
# the project) every case is replayed with that list too; without it a line
# says so.
# Prints PASS/FAIL per check and "N passed, N failed"; exits 1 on failure.
set -u
. "$(dirname "$0")/replay-lib.sh"
rl_init run-policy "$@"
fix=tests/fixtures/policy
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

ok() { echo "PASS $1"; pass=$((pass + 1)); }
ko() { echo "FAIL $1"; fail=$((fail + 1)); }
alerts() { jq -r 'select(.event_type=="alert") | "\(.alert.signature) \(.alert.action) \(.policy.source)"' | sort; }

# The EFF list of policy.conf: made here, never read from outside the tree.
rl_need "$build/tools/gen_efflist"
if ! effsum=$("$build/tools/gen_efflist" "$tmp/eff.json"); then
	echo "run-policy: $build/tools/gen_efflist cannot write a list"
	echo "0 passed, 1 failed"
	exit 1
fi
eff_n=$(echo "$effsum" | sed -n 's/.*policies=\([0-9]*\).*/\1/p')
echo "EFF list: generated, $effsum"
withlist() { sed "s|\"EFF_LIST\"|\"$1\"|" "$fix/policy.conf"; }
withlist "$tmp/eff.json" >"$tmp/policy.conf"
conf=$tmp/policy.conf

# 1. the committed captures are the generator's
if ! rl_generate "$build/tools/gen_fixtures" "$tmp/gen"; then
	ko "generator runs"
elif rl_same "$tmp/gen/policy" "$fix"; then
	ok "captures match the generator"
else
	ko "captures match the generator"
fi

# 2. every case's alerts (cases CONF SUFFIX: the suffix tells the runs apart)
cases() {
	for p in "$fix"/*.pcap; do
		name=$(basename "$p" .pcap)
		rl_replay "$name$2" "$p" "$1" "$tmp" '"\(.alert.signature) \(.alert.action) \(.policy.source)"'
		rl_expect "$fix/$name.expect" "$tmp" "$name$2"
		rl_verdict "$name$2" "$tmp"
	done
}
cases "$conf" ""

# 3. what the flow events say about the handshakes (tests/tls/MANIFEST)
flowsays() { # case jq-filter expected
	got=$("$bin" -c "$conf" -r "$fix/$1.pcap" 2>/dev/null | jq -r "select(.event_type==\"flow\") | $2")
	[ "$got" = "$3" ] && ok "$1: $2 = $3" || { ko "$1: $2"; echo "  got: $got, want: $3"; }
}
flowsays tls12_sts_valid '.tls.version + " " + .tls.cipher + " " + .tls.sni' \
	"TLSv1.2 TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384 mx.example.net"
flowsays tls12_sts_valid '.tls.cert.state + " " + .tls.cert.result + " " + (.tls.cert.chain|tostring)' "checked ok 2"
flowsays tls12_sts_valid '.flow.verdict' "tls"
flowsays tls12_sts_wrongname '.tls.cert.result' "host_mismatch"
flowsays tls12_sts_expired '.tls.cert.result' "expired"
flowsays tls13_sts '.tls.version + " " + .tls.cert.state' "TLSv1.3 hidden"
flowsays tls13_hrr_sts '.tls.hrr' "true"
flowsays tls10_sts_weak '.flow.verdict + " " + .tls.version' "blocked TLSv1.0"
tlsrpt=$("$bin" -c "$conf" -r "$fix/tls12_sts_wrongname.pcap" 2>/dev/null | jq -r 'select(.event_type=="alert") | .alert.tlsrpt')
[ "$tlsrpt" = "certificate-host-mismatch" ] && ok "tlsrpt of a name mismatch" || ko "tlsrpt of a name mismatch"

# 4. pins survive a restart, and the operator can list and forget them
sed "s|pins = { mode = \"enforce\";|pins = { file = \"$tmp/pins\"; mode = \"enforce\";|" "$conf" >"$tmp/pins.conf"
"$bin" -c "$tmp/pins.conf" -r "$fix/pin_first_tls.pcap" >/dev/null 2>&1
if grep -q '^v1 192.0.2.45 ' "$tmp/pins" 2>/dev/null; then ok "pin written to the file"; else ko "pin written to the file"; fi
got=$("$bin" -c "$tmp/pins.conf" -r "$fix/pin_then_plain.pcap" 2>/dev/null | alerts)
[ "$got" = "starttls_downgrade blocked pin" ] && ok "pin caught after a restart" || { ko "pin caught after a restart"; echo "  got: $got"; }
"$bin" -c "$tmp/pins.conf" pins list 2>/dev/null | grep -q '^v1 192.0.2.45 ' && ok "pins list" || ko "pins list"
"$bin" -c "$tmp/pins.conf" pins forget 192.0.2.45 >/dev/null 2>&1
got=$("$bin" -c "$tmp/pins.conf" -r "$fix/pin_then_plain.pcap" 2>/dev/null | alerts)
[ "$got" = "starttls_missing allowed default" ] && ok "pins forget" || { ko "pins forget"; echo "  got: $got"; }

# 5. a reload refuses an EFF list older than the one in force (unit-tested
#    in test_config); -t names the domains per source
"$bin" -c "$conf" -t 2>/dev/null | grep -q "domain policies: 1 from config rules, 1 MTA-STS, $eff_n EFF list" &&
	ok "-t summary counts domains per source ($eff_n EFF)" || ko "-t summary counts domains per source"

# 6. the published list, when given: the same verdicts, and all its domains
if [ -n "${STG_EFF_LIST:-}" ]; then
	echo "EFF list: the published one too, $STG_EFF_LIST"
	real_n=$(jq '.policies | length' "$STG_EFF_LIST" 2>/dev/null)
	if [ -n "$real_n" ]; then
		withlist "$STG_EFF_LIST" >"$tmp/real.conf"
		cases "$tmp/real.conf" "+published-eff"
		"$bin" -c "$tmp/real.conf" -t 2>/dev/null | grep -q "1 MTA-STS, $real_n EFF list" &&
			ok "-t counts the published list's $real_n domains" || ko "-t counts the published list's domains"
	else
		ko "STG_EFF_LIST=$STG_EFF_LIST is not a JSON list jq can read"
	fi
else
	echo "EFF list: the published one not checked (STG_EFF_LIST=path checks it)"
fi

echo "$pass passed, $fail failed"
[ $fail -eq 0 ]
