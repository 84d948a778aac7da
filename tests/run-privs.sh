#!/bin/sh
# run-privs.sh BUILD_DIR - least privilege checks (make check-privs).
#   hardening of BUILD/starttls-guard, read with readelf (binutils):
#     PIE (ELF type DYN), full RELRO (a GNU_RELRO segment and BIND_NOW in
#     the dynamic section), stack protector (__stack_chk_fail imported),
#     FORTIFY (at least one __*_chk function imported);
#   the seccomp allow-list (gateway/gw_sandbox.c) with
#     BUILD/tools/sandbox_probe: a sandboxed child making a forbidden call
#     (socket, execve, ptrace) is killed by SIGSYS while the parent lives,
#     and the calls the daemon needs still work.
# The capability set of the running daemon (/proc/PID/status) is checked by
# tests/integ/t7_privdrop.sh, which needs root and NFQUEUE.
set -u
[ $# -eq 1 ] || { echo "usage: $0 BUILD_DIR" >&2; exit 2; }
BIN=$1/starttls-guard
PROBE=$1/tools/sandbox_probe
for f in "$BIN" "$PROBE"; do
	[ -x "$f" ] || { echo "run-privs: $f missing (make all first)" >&2; exit 2; }
done
command -v readelf >/dev/null 2>&1 || { echo "run-privs: readelf is required (binutils)" >&2; exit 2; }
T=$(mktemp -d "${TMPDIR:-/tmp}/stg-privs.XXXXXX") || exit 1
trap 'rm -rf "$T"' EXIT INT TERM

pass=0 fail=0
ok()  { pass=$((pass + 1)); echo "PASS $1"; }
bad() { fail=$((fail + 1)); echo "FAIL $1: $2"; }

readelf -h "$BIN" >"$T/h" 2>&1
readelf -lW "$BIN" >"$T/l" 2>&1
readelf -dW "$BIN" >"$T/d" 2>&1
readelf --dyn-syms -W "$BIN" >"$T/s" 2>&1

grep -Eq 'Type:[[:space:]]+DYN' "$T/h" && ok pie || bad pie "ELF type is not DYN: $(grep Type: "$T/h")"
if grep -q GNU_RELRO "$T/l" && grep -Eq '\(FLAGS\).*BIND_NOW|\(BIND_NOW\)|\(FLAGS_1\).*NOW' "$T/d"; then
	ok full-relro
else
	bad full-relro "GNU_RELRO segment and BIND_NOW both required"
fi
grep -q '__stack_chk_fail' "$T/s" && ok stack-protector || bad stack-protector "__stack_chk_fail not imported"
n=$(grep -Ec ' __[a-z0-9_]+_chk(@|$)' "$T/s")
if [ "$n" -gt 0 ]; then
	ok "fortify ($n __*_chk functions)"
else
	bad fortify "no __*_chk function imported"
fi

for call in socket execve ptrace allowed; do
	if out=$("$PROBE" "$call" 2>&1); then
		ok "seccomp-$call"
	else
		bad "seccomp-$call" "$out"
	fi
done

echo "$pass passed, $fail failed"
[ $fail -eq 0 ]
