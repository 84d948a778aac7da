#!/bin/bash
# live_metrics.sh OUT - the installed package's gateway inline (run by
# tests/run-package.sh once the package is installed): /usr/sbin/starttls-guard
# and /usr/libexec/starttls-guard/rules.sh in the stg-* namespaces of
# tests/integ/lib.sh (its lock, its cleanup), dropping privileges to the
# package's system user, with every output on, while captures are replayed
# through it (stg_replay of BUILD). Its metrics file goes to OUT and its EVE
# lines to OUT.eve: the inline-only families (NFQUEUE counters, verdict
# latency, the kernel's per-queue drops) exist only in such a file.
. "$(dirname "$0")/../integ/lib.sh"

OUT=$1
BIN=${STG_BIN:-/usr/sbin/starttls-guard}
RULES=${STG_RULES:-/usr/libexec/starttls-guard/rules.sh}
FIX=$ROOT/tests/fixtures
USER_=starttls-guard

topo_up
replay_routes

# What the gateway writes after dropping to the package's user.
install -d -o "$USER_" -m 0750 "$WORK/out" "$WORK/out/evidence"
CONF=$WORK/live.conf
cp "$FIX/golden.conf" "$CONF"
cat >>"$CONF" <<CONF
nfqueue = { fail_open = true; queue_maxlen = 4096; rcvbuf = 4194304;
            bypass_mark = $MARK; user = "$USER_"; };
outputs = {
  evidence = { enabled = true; dir = "$WORK/out/evidence"; };
  syslog = { enabled = true; target = "udp://127.0.0.1:5514"; events = [ "alert" ]; };
  metrics = { enabled = true; file = "$WORK/out/starttls-guard.prom"; interval = 1; };
};
CONF
gw_start "$CONF"
check "gateway runs as $USER_" \
    test "$(ps -o user= -p "$GWPID" | tr -d ' ')" = "$USER_"
for name in clean_tls12 stripped_xxxxxxxx downgrade_no_starttls injection_client plaintext_auth; do
	"$TOOLS/stg_replay" -c stg-cli -s stg-srv -g 1000 "$FIX/$name.pcap" 2>>"$WORK/replay.log" ||
		fail "$name: replay failed: $(tail -n 3 "$WORK/replay.log")"
done
! grep -q 'send:' "$WORK/replay.log" || fail "replay: $(grep -m1 'send:' "$WORK/replay.log")"
# a periodic write (interval 1 s) that has seen the traffic
check "the running gateway rewrote its metrics file" wait_until 10 sh -c \
    "grep -q '^starttls_guard_nfq_received_total [1-9]' '$WORK/out/starttls-guard.prom'"
# What node_exporter serves while the gateway runs (the kernel's per-queue
# drop counters are there only while its queues are bound), two writes after
# the last packet...
sleep 2.5
cp "$WORK/out/starttls-guard.prom" "$OUT"
check "the running gateway's file has the kernel's per-queue drop counters" \
    grep -q '^starttls_guard_nfq_kernel_queue_dropped_total{queue="0"} ' "$OUT"
check "gateway exit status" gw_stop
check "metrics file owned by $USER_" \
    test "$(stat -c %U "$WORK/out/starttls-guard.prom")" = "$USER_"
# ...and its last write, at exit, with every flow summarised.
cp "$WORK/out/starttls-guard.prom" "$OUT.final"
cp "$EVE" "$OUT.eve"
ok "metrics of the live gateway: $(grep -vc '^#' "$OUT") samples, $(grep -c '"event_type":"alert"' "$OUT.eve") alerts"
