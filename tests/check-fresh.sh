#!/bin/sh
# check-fresh.sh - the README's quick start on a bare Debian 12, as a new
# user would run it (`make check-fresh`; needs root and the Debian mirror).
#
# debootstrap --variant=minbase bookworm into a new folder (the same root as
# a minimal container image), then inside it with chroot: apt-get install
# git make, clone this repository's HEAD commit to /src/starttls-guard with
# nothing beside it (no ../shared, no build, no uncommitted change), and
# run the README's two commands, `make demo` and `make check`, each timed.
# The chroot gets /proc, /sys, /dev and a /run of its own for the network
# namespaces, plus the host's /run/lock: its integration tests then take
# the host's /run/lock/stg-integ.lock and never run at the same time as
# another `make check` on this machine (the stg-* names are fixed), for
# which they wait up to STG_LOCK_WAIT seconds (default here 3600). A
# policy-rc.d keeps packages from starting daemons: the chroot shares the
# host's network. Everything is unmounted and removed on exit, also on
# failure (FRESH_KEEP=1 keeps the root; the log stays). Prints a time per
# step and the suites' lines of `make check`; exits non-zero when a step
# fails.
#
# Environment: FRESH_MIRROR (default: the first Debian URI in
# /etc/apt/sources.list*), FRESH_DIR (default /var/tmp/stg-fresh.XXXXXX,
# about 3 GB), FRESH_LOG (default FRESH_DIR.log), FRESH_KEEP=1.
set -u
top=$(cd "$(dirname "$0")/.." && pwd)
[ "$(id -u)" = 0 ] || { echo "check-fresh: needs root (debootstrap, chroot, mounts)"; exit 1; }

# The mirror this machine's apt already uses (deb822 "URIs:" or one-line).
mirror=${FRESH_MIRROR:-$(cat /etc/apt/sources.list /etc/apt/sources.list.d/*.list \
    /etc/apt/sources.list.d/*.sources 2>/dev/null |
    sed -n 's/^URIs: *\([^ ]*\).*/\1/p; s/^deb  *\(\[[^]]*\]  *\)\{0,1\}\([^ ]*\)  *bookworm .*/\2/p' |
    grep -v -e security -e '^$' | grep debian | head -n 1)}
[ -n "$mirror" ] || mirror=http://deb.debian.org/debian
commit=$(git -C "$top" rev-parse HEAD) || { echo "check-fresh: $top is not a git checkout"; exit 1; }

sh "$top/.ci/install-deps" debootstrap || exit 1
root=${FRESH_DIR:-$(mktemp -d /var/tmp/stg-fresh.XXXXXX)}
log=${FRESH_LOG:-$root.log}
# mktemp made it 0700: as the root's "/", it must let the postfix user through.
mkdir -p "$root" && chmod 755 "$root" && root=$(cd "$root" && pwd -P) || exit 1
: >"$log"
mounts=""   # what we mounted, innermost last

# Processes whose root is ours: all started in it by this script.
in_root_pids() {
	for d in /proc/[0-9]*; do
		[ "$(readlink "$d/root" 2>/dev/null)" = "$root" ] && echo "${d#/proc/}"
	done
}

cleanup() {
	set +e
	# Interrupted: stop what still runs in the root (TERM lets the tests'
	# traps remove their namespaces), then unmount.
	pids=$(in_root_pids)
	if [ -n "$pids" ]; then
		kill -TERM $pids 2>/dev/null
		sleep 5
		pids=$(in_root_pids)
		[ -n "$pids" ] && kill -KILL $pids 2>/dev/null
	fi
	for m in $mounts; do echo "$m"; done | sort -r | while read -r m; do
		umount -R "$m" 2>/dev/null || umount -R -l "$m" 2>/dev/null
	done
	if grep -q " $root[/ ]" /proc/self/mounts; then
		echo "check-fresh: mounts left under $root, not removing it:"
		grep " $root[/ ]" /proc/self/mounts
	elif [ "${FRESH_KEEP:-0}" = 1 ]; then
		echo "check-fresh: root kept in $root"
	else
		rm -rf --one-file-system "$root"
	fi
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# step NAME COMMAND...: run, log, time; stop at the first failure.
times=""
step() {
	name=$1
	shift
	echo "== $name" | tee -a "$log"
	t0=$(date +%s)
	"$@" >>"$log" 2>&1
	rc=$?
	dt=$(( $(date +%s) - t0 ))
	times="$times$(printf '   %-28s %5d s' "$name" "$dt")
"
	if [ $rc -ne 0 ]; then
		echo "check-fresh: $name failed (exit $rc); last lines of $log:"
		tail -n 40 "$log"
		printf '%s' "$times"
		exit 1
	fi
}
# in_root COMMAND: a login-like clean environment inside the root. In the
# background, so a TERM to this script is handled at once (by cleanup).
in_root() {
	chroot "$root" /usr/bin/env -i HOME=/root LANG=C.UTF-8 TERM=dumb \
	    PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin \
	    STG_LOCK_WAIT="${STG_LOCK_WAIT:-3600}" /bin/sh -c "$1" &
	wait $!
}
# The root is a mount point of its own: `ip netns exec` makes "/" a slave
# mount in its new mount namespace, which fails on a plain folder.
mount_root() {
	mount --bind "$root" "$root" && mounts="$mounts $root" &&
	mount -t proc proc "$root/proc" && mounts="$mounts $root/proc" &&
	mount -t sysfs sysfs "$root/sys" && mounts="$mounts $root/sys" &&
	mount --rbind /dev "$root/dev" && mount --make-rslave "$root/dev" &&
	mounts="$mounts $root/dev" &&
	mount -t tmpfs -o mode=755 tmpfs "$root/run" && mounts="$mounts $root/run" &&
	mkdir -p /run/lock "$root/run/lock" &&
	mount --bind /run/lock "$root/run/lock" && mounts="$mounts $root/run/lock"
}

echo "check-fresh: commit $commit, Debian 12 from $mirror into $root (log $log)"
step "debootstrap minbase" debootstrap --variant=minbase bookworm "$root" "$mirror"
cp /etc/resolv.conf "$root/etc/resolv.conf"
printf '#!/bin/sh\n# check-fresh: start no daemon (the host network is shared)\nexit 101\n' \
    >"$root/usr/sbin/policy-rc.d"
chmod 755 "$root/usr/sbin/policy-rc.d"
step "mounts" mount_root
step "apt-get install git make" in_root \
    "apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq git make"
# The commit only, as a bundle the root's own git clones from; then gone.
git -C "$top" bundle create "$root/tmp/stg.bundle" HEAD >>"$log" 2>&1 || exit 1
step "git clone" in_root "mkdir -p /src && git clone -q /tmp/stg.bundle /src/starttls-guard &&
    rm /tmp/stg.bundle && cd /src/starttls-guard && git checkout -q $commit && ls -a /src"
step "make demo" in_root "cd /src/starttls-guard && make demo"
step "make check" in_root "cd /src/starttls-guard && make check"
echo "== make check summary"
sed -n '/^=== [a-z-]*: /p; /^skipped:/p; /^failed:/p' "$log"
grep '^[0-9]* passed, [0-9]* failed$' "$log" | tail -n 1
echo "== times (2 cores here: $(nproc))"
printf '%s' "$times"
