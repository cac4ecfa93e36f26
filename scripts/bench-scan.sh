#!/usr/bin/env bash
# Benchmark (not a test): the scan and the no-change run on a 100,000-file,
# 3-level tree, to file://, side by side with `rsync -a` (local to local) and
# `find -printf '%s %T@'` (the cost of the stat calls alone), in one run.
# Prints times, ratios and the peak RSS of rsyncd-lite's first run and of its
# no-change run.
#   scripts/bench-scan.sh [--million] [FILES] [BUILD_DIR]   (default 100000, build)
# --million: then also a 1,000,000-file tree (file:// destination): first run
#   and no-change run of rsyncd-lite only, their times and peak RSS (building
#   that tree takes a few minutes and ~8 GB of disk: 4 KiB blocks, twice).
# Targets (issue 2): no-change <= 1.5x find; <= 0.5x rsync's no-change;
# peak RSS of the no-change run < 64 MB. Issue 13: the first run's peak RSS
# < 64 MB at 100,000 and at 1,000,000 files.
set -euo pipefail
top=$(cd "$(dirname "$0")/.." && pwd)
million=0
if [ "${1:-}" = --million ]; then
  million=1
  shift
fi
n=${1:-100000}
build=${2:-$top/build}
bin=$build/rsyncd-lite
[ -x "$bin" ] || { echo "build first: cmake -S . -B build && cmake --build build" >&2; exit 1; }
command -v rsync >/dev/null || { echo "rsync is needed for the comparison (apt-get install rsync)" >&2; exit 1; }
work=$(mktemp -d /tmp/rsl-bench-scan.XXXXXX)
trap 'rm -rf "$work"' EXIT
# make_tree DIR N: N files of 64..575 bytes in 10 x 10 directories
make_tree() {
  python3 - "$1" "$2" <<'PY'
import os, sys
root, n = sys.argv[1], int(sys.argv[2])
a = 10; b = 10; per = max(1, n // (a * b))
k = 0
for i in range(a):
    for j in range(b):
        d = os.path.join(root, f"d{i:02d}", f"s{j:02d}")
        os.makedirs(d, exist_ok=True)
        for f in range(per):
            if k >= n: break
            with open(os.path.join(d, f"f{f:05d}.dat"), "wb") as fh:
                fh.write(os.urandom(64 + (k % 512)))
            k += 1
print(f"{k} files")
PY
}
echo "building a $n-file tree in $work/src ..."
make_tree "$work/src" "$n"
mkdir -p "$work/rsync-dst"
job_conf() { # name src -> prints the job file path (destination file://$work/dst-NAME)
  mkdir -p "$work/dst-$1"
  cat >"$work/job-$1.conf" <<CONF
[job]
name = bench-$1
source = $2
destination = file://$work/dst-$1
state = $work/state/bench-$1.db
transfers = 4
CONF
  echo "$work/job-$1.conf"
}
job=$(job_conf main "$work/src")

# measure CMD...: prints "seconds max_rss_kb" (wall clock, peak RSS of the child)
measure() {
  python3 - "$@" <<'PY'
import resource, subprocess, sys, time
t = time.monotonic()
r = subprocess.run(sys.argv[1:], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
dt = time.monotonic() - t
if r.returncode not in (0,):
    print(f"command failed ({r.returncode}): {' '.join(sys.argv[1:])}", file=sys.stderr)
    sys.exit(1)
print(f"{dt:.3f} {resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss}")
PY
}
best() { # best of 3 runs: "seconds rss"
  local b="" r
  for _ in 1 2 3; do
    r=$(measure "$@")
    if [ -z "$b" ] || awk -v x="${r% *}" -v y="${b% *}" 'BEGIN{exit !(x<y)}'; then b=$r; fi
  done
  echo "$b"
}
sync
find_t=$(best find "$work/src" -printf '%s %T@\n'); find_t=${find_t% *}
first=$(measure "$bin" run "$job" --quiet); first_t=${first% *}; first_rss=${first#* }
nochg=$(best "$bin" run "$job" --quiet); nochg_t=${nochg% *}; nochg_rss=${nochg#* }
rs_first=$(measure rsync -a "$work/src/" "$work/rsync-dst/"); rs_first_t=${rs_first% *}
rs_nochg=$(best rsync -a "$work/src/" "$work/rsync-dst/"); rs_nochg_t=${rs_nochg% *}
diff -rq "$work/src" "$work/dst-main" >/dev/null && same=yes || same=NO
ratio() { awk -v a="$1" -v b="$2" 'BEGIN{printf "%.2f", a/b}'; }
mb() { echo $(($1 / 1024)); }
rss_target() { [ $(($1 / 1024)) -lt 64 ] && echo "met" || echo "MISSED"; }
echo
echo "files: $n   (remote identical after the first run: $same)"
printf "%-44s %8s s\n" "find -printf '%s %T@' (stat limit)" "$find_t"
printf "%-44s %8s s   peak RSS %d MB\n" "rsyncd-lite first run (file://)" "$first_t" "$(mb "$first_rss")"
printf "%-44s %8s s\n" "rsync -a first run (local)" "$rs_first_t"
printf "%-44s %8s s   peak RSS %d MB\n" "rsyncd-lite no-change run" "$nochg_t" $((nochg_rss / 1024))
printf "%-44s %8s s\n" "rsync -a no-change run" "$rs_nochg_t"
echo
echo "no-change / find            = $(ratio "$nochg_t" "$find_t")   (target <= 1.5)"
echo "no-change / rsync no-change = $(ratio "$nochg_t" "$rs_nochg_t")   (target <= 0.5)"
echo "first run / rsync first run = $(ratio "$first_t" "$rs_first_t")"
echo "no-change peak RSS          = $(mb "$nochg_rss") MB   (target < 64 MB: $(rss_target "$nochg_rss"))"
echo "first run peak RSS          = $(mb "$first_rss") MB   (target < 64 MB: $(rss_target "$first_rss"))"

if [ "$million" = 1 ]; then
  rm -rf "$work/src" "$work/dst-main" "$work/rsync-dst"
  m=1000000
  echo
  t0=$(date +%s)
  echo "building a $m-file tree in $work/src-m ..."
  make_tree "$work/src-m" "$m"
  sync
  echo "(built in $(($(date +%s) - t0)) s)"
  jm=$(job_conf million "$work/src-m")
  mf=$(measure "$bin" run "$jm" --quiet)
  mn=$(measure "$bin" run "$jm" --quiet)
  diff -rq "$work/src-m" "$work/dst-million" >/dev/null && msame=yes || msame=NO
  echo "files: $m   (remote identical after the first run: $msame)"
  printf "%-44s %8s s   peak RSS %d MB   (target < 64 MB: %s)\n" "rsyncd-lite first run (file://)" \
    "${mf% *}" "$(mb "${mf#* }")" "$(rss_target "${mf#* }")"
  printf "%-44s %8s s   peak RSS %d MB   (target < 64 MB: %s)\n" "rsyncd-lite no-change run" \
    "${mn% *}" "$(mb "${mn#* }")" "$(rss_target "${mn#* }")"
fi
