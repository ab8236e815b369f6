#!/usr/bin/env bash
# The validation sweep behind the wjazzd preset (models/README.md): the same split and vocabulary
# (tokens seen >= 10 times) for each size, validation every quarter pass over the windows, early
# stopping after 3 quarters without improvement; prints the best val loss per token.
# Usage: bench/sweep_wjazzd.sh [WORK_DIR]
set -euo pipefail
work=${1:-runs/sweep}
run() {
  local name=$1; shift
  jazzd train --preset wjazzd --no-export --work-dir "$work" --name "$name" "$@"
  python3 -c "import json,sys; r=json.load(open(sys.argv[1]))['results']; print(sys.argv[2], 'val loss/token', round(r['val_loss_per_token'], 4), 'best epoch', r['best_epoch'], 'of', r['epochs_run'], 'seconds', r['train_seconds'])" "$work/$name/run.json" "$name"
}
run n_a-128-dropout-0.3 --n-a 128 --dropout 0.3
run n_a-256-dropout-0.3 --n-a 256 --dropout 0.3
run n_a-128-dropout-0 --n-a 128 --dropout 0
