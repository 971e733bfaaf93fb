#!/usr/bin/env bash
# Checks the SPIN models of docs/models.md: every model in its fixed form must verify
# ("errors: 0", search complete), and every broken variant must fail (a counterexample found).
# One summary line per check; exits 1 if any expectation is not met, 2 if spin or gcc is missing.
#
#   bash models/check.sh            summary lines
#   bash models/check.sh --traces   also each counterexample, replayed (the models' printf lines)
#
# Needs `spin` and a C compiler (Debian: apt-get install -y spin gcc).
set -uo pipefail
cd "$(dirname "$0")"
traces=false
[ "${1:-}" = "--traces" ] && traces=true

for tool in spin "${CC:-gcc}"; do
  command -v "$tool" > /dev/null || { echo "models: $tool not found (apt-get install -y spin gcc)"; exit 2; }
done
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
failures=0

# check <pass|fail> <model> <label> [-D...]
check() {
  local expect="$1" model="$2" label="$3"
  shift 3
  local dir="$work/$(echo "$model $*" | tr -c 'A-Za-z0-9\n' '_')"
  mkdir -p "$dir"
  cp "$model.pml" "$dir/"
  local cflags="-DSAFETY -DCOLLAPSE"
  # a counterexample found breadth-first is a shortest one
  [ "$expect" = fail ] && cflags="$cflags -DBFS"
  local start end secs out verdict detail
  start=$(date +%s%N)
  (
    cd "$dir" &&
      spin -a "$@" "$model.pml" > spin.log 2>&1 &&
      "${CC:-gcc}" -w -O2 $cflags -o pan pan.c > cc.log 2>&1 &&
      ./pan -m200000 > pan.log 2>&1
  )
  end=$(date +%s%N)
  secs=$(awk -v s="$start" -v e="$end" 'BEGIN { printf "%.1f", (e - s) / 1e9 }')
  out="$dir/pan.log"
  local errors states
  errors=$(sed -n 's/.*errors: \([0-9]*\).*/\1/p' "$out" 2> /dev/null | head -1)
  states=$(awk '/states, stored/ { print $1; exit }' "$out" 2> /dev/null)
  local mem
  mem=$(awk '/total actual memory usage/ { printf "%d MB", $1; exit }' "$out" 2> /dev/null)
  if [ -z "$errors" ]; then
    verdict="NOT OK"
    detail="did not run: $(cat "$dir/spin.log" "$dir/cc.log" "$out" 2> /dev/null | grep -v '^ltl' | head -3 | tr '\n' ' ')"
  elif [ "$expect" = pass ]; then
    if [ "$errors" = 0 ] && ! grep -qE 'Search not completed|search depth too small' "$out"; then
      verdict="ok"
      detail="verified, errors: 0 ($states states, $mem, ${secs} s)"
    else
      verdict="NOT OK"
      detail="expected to verify: errors: $errors$(grep -qE 'search depth too small' "$out" && echo ', search incomplete')"
    fi
  else
    if [ "$errors" != 0 ] && [ -f "$dir/$model.pml.trail" ]; then
      (cd "$dir" && spin -t "$@" "$model.pml" > replay.log 2>&1)
      local why
      why=$(grep -E 'SKIPPED|REPEAT|OUT OF ORDER|READ A ROLLED|WITHOUT HOLDING' "$dir/replay.log" | head -1 | sed 's/^[[:space:]]*//')
      [ -z "$why" ] && why="the claim is violated (two runners deliver at once, one in its window)"
      verdict="ok"
      detail="fails as expected, errors: $errors ($states states, $mem, ${secs} s): $why"
    else
      verdict="NOT OK"
      detail="expected a counterexample, got errors: $errors ($states states)"
    fi
  fi
  [ "$verdict" = ok ] || failures=$((failures + 1))
  printf '%-6s %-18s %-44s %s\n' "$verdict" "$model" "$label" "$detail"
  if $traces && [ "$expect" = fail ] && [ -f "$dir/replay.log" ]; then
    # the models' own lines; the lease model's ticks numbered (t=0 is the start)
    sed -n 's/^[[:space:]]*\(T[0-9]\|reader\|SKIPPED\|REPEAT\|OUT OF\|READ A\|runner\|SIGKILL\|reset\|--\)/\1/p' "$dir/replay.log" |
      awk '/^-- tick/ { t++; next }
           /^-- CLOCK JUMP/ { printf "        t=%d->%d  %s\n", t, t + 3, $0; t += 3; next }
           { if (lease) printf "        t=%d  %s\n", t, $0; else printf "        %s\n", $0 }' lease="$([ "$model" = subscription-lease ] && echo 1)"
  fi
}

#     expect model              label                                       defines
check pass all-visibility     "fixed, 3 writers (one appends 2 events)"
check pass all-visibility     "fixed, 4 writers (one appends 2 events)"    -DNW=4
check fail all-visibility     "BROKEN_POSITION_READER"                     -DBROKEN_POSITION_READER
check fail all-visibility     "BROKEN_CURSOR_POSITION"                     -DBROKEN_CURSOR_POSITION

check pass subscription-lease "fixed: registry refuses a 2nd runner"
check pass subscription-lease "fixed: RUNNER_IDENTITY"                     -DRUNNER_IDENTITY
check pass subscription-lease "fixed, NO_SYNC (no timing assumption)"      -DNO_SYNC
check pass subscription-lease "RENEW_NO_UNTIL (renewLeaseSql as written)"  -DRENEW_NO_UNTIL
check fail subscription-lease "WINDOW_PROBE (the window is reached)"       -DWINDOW_PROBE
check fail subscription-lease "(a) BROKEN_SAME_OWNER"                      -DBROKEN_SAME_OWNER
check fail subscription-lease "(b) BROKEN_RENEW_UNCONDITIONAL"             -DBROKEN_RENEW_UNCONDITIONAL
check fail subscription-lease "CODE_BELIEF (lease.ts before the deadline)"  -DCODE_BELIEF
check fail subscription-lease "CODE_BELIEF, NO_JUMP (renewal errors)"      -DCODE_BELIEF -DNO_JUMP
check pass subscription-lease "CODE_BELIEF, NO_JUMP, NO_RENEW_ERRORS"      -DCODE_BELIEF -DNO_JUMP -DNO_RENEW_ERRORS
check fail subscription-lease "HANDBACK_LATE (hand-back before the fix)"    -DHANDBACK_LATE
check fail subscription-lease "RESET_WHILE_RUNNING (reset before the fix)"  -DRESET_WHILE_RUNNING
check pass subscription-lease "RESET_KEEPS_LEASE (reset as it is)"          -DRESET_KEEPS_LEASE

if [ "$failures" -gt 0 ]; then
  echo "models: $failures check(s) did not meet their expectation"
  exit 1
fi
echo "models: every check met its expectation"
