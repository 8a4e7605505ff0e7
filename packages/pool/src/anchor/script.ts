import { GUARDS } from "./guards.js";

/**
 * The scripts the pool runs on the host. They are fixed strings: every value
 * (the state directory, numbers, addresses) is passed as an argument or a
 * request field and only ever expanded quoted; nothing is interpolated into code.
 *
 * ## The anchor
 *
 * One per pool client, started with
 * `/bin/sh -c ANCHOR qemu-kvm-pool NONCE STATE_DIR EXPIRY_S PERIOD_S LOCK_WAIT_S UMASK AWK`
 * (AWK: the program of ./awk.ts).
 * It is the client's presence on the host: its pid and start time are the
 * holder of the client's owners, and it lives exactly as long as its stdin is
 * open (the client process and, over SSH, the connection). It also serves the
 * client's transactions, so a transaction starts no process on the client side,
 * costs one round trip while the lock is held, and on the host starts only
 * `flock`, `awk`, `head` and `mv` (plus `ss` to check ports, `sync` when the
 * directory is not on tmpfs).
 *
 * Output is framed by header lines `\036NONCE TAG [ARGS]`; a response ends with
 * `\036NONCE end STATUS [DETAIL]`. Bytes of the state file can never look like a
 * header: the nonce is random.
 *
 * On start it resolves the state directory, enters it and checks it, the lock
 * and later the state file with the guards of ./guards.ts (a refusal is
 * `end error unsafe WHY` after an `unsafe KIND` section holding the path), then prints an `info`
 * section (pid, start time, boot id, uid, directory, whether to fsync, CPU
 * topology) and `end ok`, or `end error REASON MESSAGE` and exits.
 *
 * Requests, one per line on stdin (anything else, e.g. an empty heartbeat line,
 * is ignored):
 * - `t NET LO HI PIDS PCI`: a transaction. Takes the lock (`flock -x` on
 *   `STATE_DIR/lock`, with a bounded wait when flock supports `-w`), checks the
 *   locked file is still the one at the path, prints the facts: the sockets bound
 *   to ports LO–HI when NET is 1 (from `ss`, netlink filtered in the kernel, fast
 *   even with many sockets; without ss, awk reads /proc/net), the sysfs facts of
 *   the PCI addresses (`physfn`, `sriov_totalvfs`), then, from the `AWK` program, the state file and the
 *   /proc/PID/stat of every owner's holder and of PIDS; then `end ready`. Then it
 *   reads the decision: `a` (answered `end unchanged`), or `c SIZE`, exactly SIZE
 *   bytes of new state and a line holding the nonce, which proves they all
 *   arrived. The bytes go to a new temporary file (`state.jsonl.PID.UUID.tmp`,
 *   a random name created exclusively with `set -C`; `head -c`, which reads no more
 *   than asked; `dd bs=1` where head is not GNU's); only when the nonce line
 *   follows is the file fsynced (unless the directory is on tmpfs) and renamed
 *   over the state file (`end committed`). A client that disappears before the
 *   nonce line commits nothing. (awk cannot read the data: mawk blocks until its
 *   read buffer is full.) The lock is released before the answer. A lock wait
 *   that times out answers `end error lock-timeout` (the client asks again).
 * - EOF: exit (the kernel releases the lock if it was held).
 *
 * With EXPIRY_S > 0 a watchdog subshell kills the anchor once it has read
 * nothing (no heartbeat, no request) for EXPIRY_S seconds, checked every
 * PERIOD_S seconds through the anchor's `rchar` in /proc/PID/io. A client that
 * stopped talking (its machine died, the network is partitioned, it is
 * stopped) thus loses its anchor, its uncommitted transaction and the lock.
 * Lock waits are bounded below EXPIRY_S, so waiting for the lock never looks
 * like silence.
 *
 * NUMA node CPU lists are read with `cat`: they are sysfs binary attributes,
 * which return nothing to the shell's byte-at-a-time `read`.
 */
export const ANCHOR_SCRIPT = `set -f
N=$1 D=$2 E=$3 P=$4 W=$5 M=$6 A=$7
h() { printf '\\036%s %s\\n' "$N" "$*"; }
die() { h end error "$@"; exit 1; }
${GUARDS}
quit() { bad "$1"; exit 1; }
case $M in [0-7][0-7][0-7]) umask "$M" 2>/dev/null || die usage "bad umask $M";; *) die usage "bad umask $M";; esac
FM=$((0666 & ~0$M))
cd / || die cwd "cannot enter /"
for x in flock awk mv sleep id head stat ln rm; do
command -v "$x" >/dev/null 2>&1 || die missing-tool "$x is not installed on the host (the pool needs flock, awk, mv, sleep, id, head, stat, ln and rm; ss is used if present)"
done
case $(head --version 2>/dev/null) in *coreutils*) X=1 NT=-T;; *) X=0 NT=; command -v dd >/dev/null 2>&1 || die missing-tool "dd is not installed on the host";; esac
{ read -r l < /proc/$$/stat; } 2>/dev/null || die no-proc "cannot read /proc/$$/stat"
r() { T0=\${20}; }
r \${l##*) }
{ read -r B < /proc/sys/kernel/random/boot_id; } 2>/dev/null || B=-
{ read -r x < /proc/sys/kernel/random/uuid; } 2>/dev/null || die no-proc "cannot read /proc/sys/kernel/random/uuid"
U=$(id -u) || die id "id -u failed"
if [ -n "$D" ]; then :
elif [ "$U" = 0 ]; then D=/run/qemu-kvm/pool
elif case \${XDG_RUNTIME_DIR-} in /*) [ -d "$XDG_RUNTIME_DIR" ] && [ -O "$XDG_RUNTIME_DIR" ];; *) false;; esac; then D=\${XDG_RUNTIME_DIR%/}/qemu-kvm/pool
else D=/tmp/qemu-kvm-pool-$U
fi
while :; do case $D in ?*/) D=\${D%/};; *) break;; esac; done
case $D in /*) ;; *) die state-dir "the state directory must be an absolute path";; esac
case $D in *"
"*) die state-dir "the state directory's path holds a newline";; esac
if [ ! -d "$D" ]; then
x=$(umask 077 && mkdir -p -m 700 -- "$D" 2>&1) || [ -d "$D" ] || die state-dir "cannot create $D: $x"
fi
cd -P "$D" 2>/dev/null || die state-dir "cannot enter $D"
[ -L "$D" ] && { no unsafe "$D" "it is a symbolic link, which the pool never follows"; quit state-dir; }
[ "$D" -ef . ] || { no unsafe "$D" "it was replaced while the pool entered it"; quit state-dir; }
L=lock S=state.jsonl DL=$D/lock DS=$D/state.jsonl
dir || quit state-dir
mkl
lck || quit lock
{ command exec 8< "$L"; } 2>/dev/null || die lock "cannot open $DL"
{ [ ! -L "$L" ] && [ "/proc/$$/fd/8" -ef "$L" ]; } || die lock "$DL was replaced while it was checked"
vfy 8 || quit lock
case $(stat -f -c %T . 2>/dev/null) in tmpfs|ramfs) Y=0;; *) Y=1;; esac
if ss -tuan sport eq :1 >/dev/null 2>&1; then SS=1; else SS=0; fi
if [ "$W" -gt 0 ] && flock -x -w 1 7 7</dev/null 2>/dev/null; then FW=1; else FW=0; fi
G=0
if [ "$E" -gt 0 ] && { read -r x c < /proc/$$/io; } 2>/dev/null; then
G=1 a=$$
(
pp() { z=$2; }
l= k=0
while sleep "$P"; do
{ read -r x < /proc/self/stat; } 2>/dev/null || exit 0
pp \${x##*) }
[ "$z" = "$a" ] || exit 0
{ read -r x c < "/proc/$a/io"; } 2>/dev/null || exit 0
if [ "$c" != "$l" ]; then l=$c k=0; else
k=$((k + P))
if [ "$k" -ge "$E" ]; then kill -s TERM "$a" 2>/dev/null; exit 0; fi
fi
done
) </dev/null >/dev/null 2>&1 8<&- &
fi
h info
printf 'pid %s\\nstart %s\\nboot %s\\nuid %s\\ndir %s\\ndurable %s\\nlockwait %s\\nwatchdog %s\\nss %s\\n' "$$" "$T0" "$B" "$U" "$D" "$Y" "$FW" "$G" "$SS"
{ read -r x < /sys/devices/system/cpu/online; } 2>/dev/null && printf 'online %s\\n' "$x"
{ read -r x < /sys/devices/system/cpu/isolated; } 2>/dev/null && printf 'isolated %s\\n' "$x"
set +f
for n in /sys/devices/system/node/node[0-9]*; do
[ -e "$n/cpulist" ] && x=$(cat "$n/cpulist" 2>/dev/null) && printf 'node %s %s\\n' "\${n##*/node}" "$x"
done
set -f
h end ok
lock() {
i=0
while :; do
mkl
lck || { bad lock; return 1; }
{ command exec 9< "$L"; } 2>/dev/null || { h end error lock "cannot open $DL"; return 1; }
if [ "$FW" = 1 ]; then
flock -x -w "$W" 9 || { exec 9<&-; h end error lock-timeout "waited $W s for $DL"; return 1; }
else
flock -x 9 || { exec 9<&-; h end error lock "flock failed on $DL"; return 1; }
fi
if [ ! -L "$L" ] && [ "/proc/$$/fd/9" -ef "$L" ]; then
[ "/proc/$$/fd/9" -ef "/proc/$$/fd/8" ] && return 0
vfy 9 || { exec 9<&-; bad lock; return 1; }
{ command exec 8< "/proc/$$/fd/9"; } 2>/dev/null && return 0
exec 9<&-; h end error lock "cannot open $DL"; return 1
fi
exec 9<&-
i=$((i + 1))
[ "$i" -lt 10 ] || { h end error lock "$DL keeps being replaced"; return 1; }
done
}
pci() {
IFS=,
set -- $1
unset IFS
for a do
p=/sys/bus/pci/devices/$a
if [ ! -e "$p" ]; then printf 'missing %s\\n' "$a"; continue; fi
f=$(cd -P "$p/physfn" 2>/dev/null && printf '%s' "\${PWD##*/}") && [ -n "$f" ] || f=-
t=-; [ -e "$p/sriov_totalvfs" ] && { { read -r t < "$p/sriov_totalvfs"; } 2>/dev/null || t=0; }
printf 'device %s %s %s\\n' "$a" "$f" "$t"
done
}
st() { z=$1; }
live() {
{ read -r x < "/proc/$1/stat"; } 2>/dev/null || return 1
st \${x##*) }
[ "$z" != Z ]
}
sweep() {
set +f
for f in state.jsonl.*.tmp lock.*.tmp; do
[ -e "$f" ] || [ -L "$f" ] || continue
p=\${f#state.jsonl.}; p=\${p#lock.}; p=\${p%%.*}
case $p in ''|*[!0-9]*) continue;; esac
[ "$p" = "$$" ] || live "$p" || rm -f -- "$f" 9<&-
done
set -f
}
txn() {
lock || return 0
w=$2
if [ "$2" = 1 ] && [ "$SS" = 1 ]; then
w=0
h ss
ss -tuan sport ge ":$3" and sport le ":$4" 2>/dev/null 9<&- || { exec 9<&-; h end error facts "ss failed"; return 0; }
fi
if [ "$6" != - ]; then h pci; pci "$6"; fi
sck || { exec 9<&-; bad state-file; return 0; }
awk "$A" "$N" "$S" "$e" "$w" "$3" "$4" "$5" </dev/null 9<&- || { exec 9<&-; h end error facts "awk failed"; return 0; }
h end ready
q= k=0
while IFS= read -r q; do [ -n "$q" ] && { k=1; break; }; done
[ "$k" = 1 ] || exit 0
case $q in
"c "*) commit "\${q#c }";;
*) R=unchanged;;
esac
exec 9<&-
h end "$R"
}
commit() {
case $1 in ''|*[!0-9]*) R="error protocol bad-size"; return;; esac
[ -d "$S" ] && { R="error commit $DS is a directory"; return; }
{ read -r u < /proc/sys/kernel/random/uuid; } 2>/dev/null || { R="error commit cannot read /proc/sys/kernel/random/uuid"; return; }
T=state.jsonl.$$.$u.tmp
set -C
{ true > "$T"; } 2>/dev/null; k=$?
set +C
[ "$k" = 0 ] || { R="error commit cannot create a temporary file in $D"; return; }
o=0
if [ "$X" = 1 ]; then head -c "$1" >> "$T" 9<&- || o=1; else dd bs=1 count="$1" 2>/dev/null >> "$T" 9<&- || o=1; fi
z=
IFS= read -r z || { rm -f -- "$T"; exit 0; }
if [ "$z" != "$N" ]; then rm -f -- "$T"; R="error commit short-write"; return; fi
if [ "$o" = 1 ]; then rm -f -- "$T"; R="error commit write-failed"; return; fi
sweep
[ "$Y" = 1 ] && { sync "$T" 2>/dev/null 9<&- || :; }
sck || { rm -f -- "$T"; h unsafe state-file; printf '%s\\n' "$Q"; R="error unsafe $F"; return; }
if [ "$X" = 0 ] && [ -d "$S" ]; then rm -f -- "$T"; R="error commit $DS is a directory"; return; fi
if mv -f $NT -- "$T" "$S" 9<&-; then R=committed; else rm -f -- "$T"; R="error commit rename-failed"; fi
}
while IFS= read -r q; do
case $q in
"t "*) set -- $q; txn "$@";;
esac
done
exit 0`;
