#!/bin/sh
# run-report.sh [BUILD] - golden test of `starttls-guard report` (RFC 8460).
#
# 1. Runs the report command on tests/report/input.eve.json into a scratch
#    directory and compares the set of files and each file (jq -S, so key
#    order does not matter, array order does) with tests/report/*.json.
# 2. Checks every report written against the RFC 8460 section 4.4 field
#    list: required members and types, known result types, and that the
#    failure count equals the sum of the failure details.
# 3. Bad input: a line that is not JSON names file and line and exits 1; a
#    missing file exits 1; a usage error exits 2.
# Uses BUILD/starttls-guard report when the command line dispatches it,
# else BUILD/tools/stg_report (the same code). After a deliberate change of
# the output, regenerate with:
#   BUILD/tools/stg_report -o tests/report --org gateway.example.org \
#       --contact postmaster@example.org tests/report/input.eve.json
set -u
BUILD=${1:-build}
cd "$(dirname "$0")/.." || exit 1
dir=tests/report
ORG="--org gateway.example.org --contact postmaster@example.org"

if "$BUILD/starttls-guard" report --help 2>/dev/null | grep -q EVE_FILE; then
	cmd="$BUILD/starttls-guard report"
elif [ -x "$BUILD/tools/stg_report" ]; then
	cmd="$BUILD/tools/stg_report"
else
	echo "report: neither $BUILD/starttls-guard report nor $BUILD/tools/stg_report" >&2
	exit 1
fi
command -v jq >/dev/null || { echo "report: jq is needed" >&2; exit 1; }

out=$(mktemp -d) || exit 1
trap 'rm -rf "$out"' EXIT INT TERM
pass=0 fail=0
ok() { pass=$((pass + 1)); echo "PASS $1"; }
ko() { fail=$((fail + 1)); echo "FAIL $1"; }

# 1. golden files
if $cmd -o "$out" $ORG "$dir/input.eve.json" >"$out/.stdout" 2>"$out/.stderr"; then
	ok "report runs"
else
	cat "$out/.stderr"
	ko "report runs"
fi
want=$(cd "$dir" && ls *.json | grep -v '^input\.' | sort)
got=$(cd "$out" && ls *.json 2>/dev/null | sort)
if [ "$want" = "$got" ]; then
	ok "report file names"
else
	printf 'want:\n%s\ngot:\n%s\n' "$want" "$got"
	ko "report file names"
fi
for f in $want; do
	[ -f "$out/$f" ] || continue
	if diff -u "$dir/$f" "$out/$f" >/dev/null ||
	    { jq -S . "$dir/$f" >"$out/.want" && jq -S . "$out/$f" >"$out/.got" &&
	      diff -u "$out/.want" "$out/.got"; }; then
		ok "$f"
	else
		ko "$f"
	fi
done
[ "$(wc -l <"$out/.stdout")" -eq "$(echo "$want" | wc -l)" ] &&
	ok "one line per file written" || ko "one line per file written"

# 2. RFC 8460 4.4 field list
RFC='
def rtype: IN("starttls-not-supported", "certificate-host-mismatch",
    "certificate-expired", "certificate-not-trusted", "validation-failure",
    "tlsa-invalid", "dnssec-invalid", "dane-required", "sts-policy-fetch-error",
    "sts-policy-invalid", "sts-webpki-invalid");
def day: test("^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}Z$");
(."organization-name" | type == "string" and length > 0)
and (."date-range"."start-datetime" | type == "string" and day)
and (."date-range"."end-datetime" | type == "string" and day)
and (."contact-info" | type == "string")
and (."report-id" | type == "string" and length > 0)
and (.policies | type == "array" and length > 0)
and all(.policies[];
    (.policy."policy-type" | IN("sts", "tlsa", "no-policy-found"))
    and (.policy."policy-domain" | type == "string" and length > 0)
    and ((.policy."policy-string" // []) | type == "array" and all(.[]; type == "string"))
    and ((.policy."mx-host" // []) | type == "array" and all(.[]; type == "string"))
    and (.summary."total-successful-session-count" | type == "number" and . >= 0)
    and (.summary."total-failure-session-count" | type == "number" and . >= 0)
    and ((."failure-details" // []) | all(.[];
        (."result-type" | rtype)
        and (."sending-mta-ip" | type == "string")
        and (."receiving-ip" | type == "string")
        and ((."receiving-mx-hostname" // "") | type == "string")
        and (."failed-session-count" | type == "number" and . > 0)))
    and (.summary."total-failure-session-count" ==
         ((."failure-details" // []) | map(."failed-session-count") | add // 0)))
'
for f in $got; do
	if jq -e "$RFC" "$out/$f" >/dev/null; then
		ok "$f: RFC 8460 fields"
	else
		ko "$f: RFC 8460 fields"
	fi
done

# 3. bad input
printf '%s\n' '{"event_type":"stats"}' 'not json' >"$out/bad.eve"
$cmd -o "$out" $ORG "$out/bad.eve" >/dev/null 2>"$out/.err"
rc=$?
if [ $rc -eq 1 ] && grep -q "bad.eve:2:" "$out/.err"; then
	ok "bad line: exit 1 naming file:line"
else
	cat "$out/.err"
	ko "bad line: exit 1 naming file:line (got $rc)"
fi
printf '%s\n' '{"event_type":"alert","alert":{"tlsrpt":"validation-failure"}}' >"$out/bad2.eve"
$cmd -o "$out" $ORG "$out/bad2.eve" >/dev/null 2>"$out/.err"
[ $? -eq 1 ] && grep -q "bad2.eve:1:" "$out/.err" && ok "alert without timestamp" ||
	ko "alert without timestamp"
$cmd -o "$out" $ORG "$out/nonexistent.eve" >/dev/null 2>&1
[ $? -eq 1 ] && ok "missing file: exit 1" || ko "missing file: exit 1"
$cmd --no-such-option >/dev/null 2>&1
[ $? -eq 2 ] && ok "usage: exit 2" || ko "usage: exit 2"
# Standard input, and an empty EVE file writes nothing.
: >"$out/empty.eve"
mkdir "$out/empty" && $cmd -o "$out/empty" $ORG - <"$out/empty.eve" >/dev/null &&
	[ -z "$(ls "$out/empty")" ] && ok "empty input: no report" || ko "empty input: no report"

echo "report: $pass passed, $fail failed"
[ $fail -eq 0 ]
