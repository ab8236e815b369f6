#!/usr/bin/env bash
# The validation sweep behind the wjazzd preset's size (models/README.md): same split, same
# vocabulary (tokens seen >= 10 times), a few epochs per size; prints val loss per token.
# Usage: bench/sweep_wjazzd.sh [WORK_DIR]   (about 40 minutes on 2 cores)
set -euo pipefail
work=${1:-runs/sweep}
for n_a in 64 128 256; do
  jazzd train --preset wjazzd --n-a "$n_a" --epochs 6 --no-export --work-dir "$work" --name "n_a-$n_a"
  python3 -c "import json,sys; r=json.load(open(sys.argv[1]))['results']; print('n_a', $n_a, 'val loss/token', round(r['val_loss_per_token'], 4), 'epochs', r['epochs_run'], 'seconds', r['train_seconds'])" "$work/n_a-$n_a/run.json"
done
