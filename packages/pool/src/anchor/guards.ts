/**
 * The anchor's guards (shell functions, part of ./script.ts): what it checks
 * before it trusts the state directory, the lock file and the state file, so
 * that another user who can write in a shared directory cannot make it write,
 * truncate or create a file through a name planted there.
 *
 * The anchor works inside the state directory (`cd -P` once, after which `dir`
 * checks it), by relative names: renaming a directory above it changes nothing.
 * Variables the script sets before: `D` (the directory, for messages), `U` (our
 * uid), `FM` (the file mode the options allow), `NT` (`-T` where `ln` and `mv`
 * take it), `L`/`DL` and `S`/`DS` (the lock and the state file, relative and
 * full). A guard that refuses sets `F` (why, a phrase starting with "it"), `Q`
 * (the path refused) and `C`: `unsafe` when the path is one the pool must not
 * trust (reported as `ERR_POOL_UNSAFE`), empty when the host failed otherwise.
 *
 * - `dir`: the current directory is ours, and if its group or
 *   others may write in it, it has the sticky bit (so nobody else can rename or
 *   remove our files, nor replace them with their own).
 * - `mkl`: creates the lock if missing, never through a planted name: a fresh
 *   file under an unpredictable name (/proc's random uuid, `set -C` creates it
 *   exclusively) hard-linked to `lock` (`link()` fails if the name exists,
 *   whatever it is), then unlinked.
 * - `lck`: before the lock is opened: a regular file of ours, not a symbolic
 *   link (opening a planted FIFO or device could block or have effects).
 * - `vfy FD`: the opened lock (/proc/PID/fd/FD: the very file, no race): a
 *   regular file of ours granting nobody more than `FM` (a lock others may
 *   open, they may hold and stall every pool). Its link count is not checked:
 *   while an anchor creates the lock it has two names, and the pool never
 *   writes into the lock (nor into the state file), so a hard link planted
 *   under either name cannot make it write another file.
 * - `sck`: the state file, before it is read and before it is replaced: absent
 *   (`e=0`), a directory or unreadable (`e=2`, reported as such), or a regular
 *   file of ours that is not a symbolic link (`e=1`).
 * - `bad KIND`: prints a refusal as the end of a response: `unsafe KIND` (the
 *   path in its body) and `end error unsafe WHY`, or `end error KIND WHY`.
 *
 * `true` creates files, never `:`: a special built-in whose redirection fails
 * would end the shell.
 */
export const GUARDS = `no() { C=$1 Q=$2 F=$3; return 1; }
bad() {
if [ "$C" = unsafe ]; then h unsafe "$1"; printf '%s\\n' "$Q"; h end error unsafe "$F"
else h end error "$1" "$Q: $F"; fi
}
dir() {
x=$(stat -c '%f %u' . 2>/dev/null) || { no "" "$D" "cannot be examined (stat failed)"; return; }
set -- $x
m=$((0x$1))
if [ "$2" != "$U" ]; then no unsafe "$D" "it belongs to another user (uid $2; the pool runs as uid $U)"
elif [ $((m & 022)) != 0 ] && [ $((m & 01000)) = 0 ]; then no unsafe "$D" "its group or others may write in it, and it lacks the sticky bit (mode $(printf %o $((m & 07777))))"
elif [ ! -w . ] || [ ! -x . ]; then no "" "$D" "it is not writable"
fi
}
mkl() {
{ [ -e "$L" ] || [ -L "$L" ]; } && return 0
{ read -r u < /proc/sys/kernel/random/uuid; } 2>/dev/null || return 0
t=lock.$$.$u.tmp
set -C
{ true > "$t"; } 2>/dev/null; k=$?
set +C
[ "$k" = 0 ] || return 0
ln $NT -- "$t" "$L" 2>/dev/null 9<&-
rm -f -- "$t" 9<&-
}
lck() {
if [ -L "$L" ]; then no unsafe "$DL" "it is a symbolic link, which the pool never follows"
elif [ ! -e "$L" ]; then no "" "$DL" "it cannot be created"
elif [ ! -f "$L" ]; then no unsafe "$DL" "it is not a regular file"
elif [ ! -O "$L" ]; then no unsafe "$DL" "it belongs to another user"
fi
}
vfy() {
x=$(stat -L -c '%f %u' -- "/proc/$$/fd/$1" 2>/dev/null 9<&-) || { no "" "$DL" "it cannot be examined (stat failed)"; return; }
set -- $x
m=$((0x$1))
if [ $((m & 0170000)) != $((0100000)) ]; then no unsafe "$DL" "it is not a regular file"
elif [ "$2" != "$U" ]; then no unsafe "$DL" "it belongs to another user (uid $2)"
elif [ $((m & 0777 & ~FM)) != 0 ]; then no unsafe "$DL" "its mode $(printf %o $((m & 07777))) grants more than the pool's file mode $(printf %o "$FM")"
fi
}
sck() {
if [ -L "$S" ]; then no unsafe "$DS" "it is a symbolic link, which the pool never follows"
elif [ ! -e "$S" ]; then e=0
elif [ -d "$S" ]; then e=2
elif [ ! -f "$S" ]; then no unsafe "$DS" "it is not a regular file"
elif [ ! -O "$S" ]; then no unsafe "$DS" "it belongs to another user, whose files the pool never trusts"
elif [ ! -r "$S" ]; then e=2
else e=1; fi
}`;
