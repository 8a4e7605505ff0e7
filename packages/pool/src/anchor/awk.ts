/**
 * The facts of a transaction, printed under the lock in one process:
 * `awk AWK NONCE STATE EXISTS NET LO HI PIDS`.
 * - `state EXISTS`: the state file's lines (EXISTS 0: no file; 1: a file; 2: a
 *   directory or an unreadable file, reported `unreadable`);
 * - `proc`: `PID STATLINE` (or `PID -` if there is no such process) for the
 *   holder of every owner record (its first `"pid":`) and for each of PIDS;
 * - `net` (NET = 1, when `ss` is missing): `PROTO PORT STATE` for every socket
 *   in /proc/net/{tcp,tcp6,udp,udp6} whose local port is within LO–HI.
 * Everything happens in BEGIN, so awk never reads its stdin.
 */
export const AWK_PROGRAM = `function hex(s,  i, n, c) {
  n = 0
  for (i = 1; i <= length(s); i++) {
    c = index("0123456789ABCDEF", toupper(substr(s, i, 1)))
    if (c == 0) return -1
    n = n * 16 + c - 1
  }
  return n
}
function pstat(p,  f, l) {
  if (p == "" || (p in seen)) return
  seen[p] = 1
  f = "/proc/" p "/stat"
  if ((getline l < f) > 0) print p " " l
  else print p " -"
  close(f)
}
function net(f, t,  l, a, b, n, port, first) {
  first = 1
  while ((getline l < f) > 0) {
    if (first) { first = 0; continue }
    n = split(l, a, " ")
    if (n < 4) continue
    split(a[2], b, ":")
    port = hex(b[2])
    if (port >= lo && port <= hi) print t " " port " " a[4]
  }
  close(f)
}
BEGIN {
  N = ARGV[1]; S = ARGV[2]; e = ARGV[3]; w = ARGV[4]; lo = ARGV[5] + 0; hi = ARGV[6] + 0; x = ARGV[7]
  H = "\\036" N " "
  print H "state " (e == 0 ? 0 : 1)
  if (e == 2) print H "unreadable"
  if (e == 1) {
    while ((r = (getline l < S)) > 0) {
      print l
      if (index(l, "{\\"owner\\":") == 1 && match(l, /"pid":[0-9]+/)) pids[++np] = substr(l, RSTART + 6, RLENGTH - 6)
    }
    close(S)
    if (r < 0) print H "unreadable"
  }
  print H "proc"
  for (i = 1; i <= np; i++) pstat(pids[i])
  if (x != "-") { n = split(x, xs, ","); for (i = 1; i <= n; i++) pstat(xs[i]) }
  if (w == 1) {
    print H "net"
    net("/proc/net/tcp", "tcp"); net("/proc/net/tcp6", "tcp6"); net("/proc/net/udp", "udp"); net("/proc/net/udp6", "udp6")
  }
  exit
}`;
