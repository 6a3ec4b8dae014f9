#!/usr/bin/env bash
# Runs a command while busy loops keep every core of the machine busy (one per core, at
# the normal priority, like a neighbour's build), then stops them. gui.loaded uses it to
# show that the GUI-thread checks measure Pretext, not the machine's load.
# Usage: tests/widgets/with_load.sh COMMAND [ARGS...]
set -u
pids=()
for _ in $(seq "$(nproc)"); do
  (while :; do :; done) &
  pids+=($!)
done
trap 'kill "${pids[@]}" 2>/dev/null' EXIT
echo "with_load: ${#pids[@]} busy loops running (pids ${pids[*]})"
"$@"
