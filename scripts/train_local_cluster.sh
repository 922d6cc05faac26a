#!/usr/bin/env bash
# A cluster on this machine: 1 ps + 2 workers (or, with MODE=allreduce, 2
# workers and no ps) on free 127.0.0.1 ports train CifarNet on the shapes
# data, then the model is evaluated. Every process it starts is stopped when it ends (or on Ctrl-C),
# and when any of them fails (the script then names it and exits with its
# status).
# On real machines, run the same train_image_classifier.py command on each
# host with its own --job_name/--task (docs/clusters.md, "Training on
# several machines").
#
# Runtime: about 1-2 minutes on 2 CPU cores (two workers share them, so this
# shows the mechanics, not a speed-up).
# Expected: "Accuracy: 0.9x" (5 classes, chance is 0.2).
#
# Usage: bash scripts/train_local_cluster.sh [WORK_DIR]  (default
#   /tmp/slim-cluster); MODE=sync for synchronous replicas, MODE=allreduce
#   for synchronous all-reduce workers without a parameter server (each
#   logs the checksum of its variables at the end: the two lines match),
#   STEPS=N for the global step limit (default 800).
set -euo pipefail
cd "$(dirname "$0")/.."
PY=${PYTHON:-.venv/bin/python}
WORK=${1:-/tmp/slim-cluster}
DATA=$WORK/shapes
TRAIN=$WORK/train
LOGS=$WORK/logs
STEPS=${STEPS:-800}
MODE=${MODE:-async}
export TF_CPP_MIN_LOG_LEVEL=${TF_CPP_MIN_LOG_LEVEL:-3}
mkdir -p "$LOGS"

pids=()
alive() {
  for pid in "${pids[@]}"; do
    [ -n "$pid" ] && kill -0 "$pid" 2>/dev/null && return 0
  done
  return 1
}
cleanup() {
  for pid in "${pids[@]}"; do
    [ -n "$pid" ] && kill "$pid" 2>/dev/null || true
  done
  # SIGTERM lets a worker save a checkpoint; one still starting up (or
  # waiting for a parameter server that is gone) gets 15 s, then SIGKILL.
  for _ in $(seq 30); do alive || break; sleep 0.5; done
  for pid in "${pids[@]}"; do
    [ -n "$pid" ] && kill -9 "$pid" 2>/dev/null || true
  done
  wait 2>/dev/null || true
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

echo "== 1/3 Generate the shapes dataset in $DATA"
$PY download_and_convert_data.py --dataset_name=shapes --dataset_dir="$DATA"

read -r PS0 W0 W1 < <($PY -c '
import socket
socks = [socket.socket() for _ in range(3)]
for s in socks: s.bind(("127.0.0.1", 0))
print(*[s.getsockname()[1] for s in socks])')
CLUSTER="--ps_hosts=localhost:$PS0 --worker_hosts=localhost:$W0,localhost:$W1"
SYNC=""
[ "$MODE" = sync ] && SYNC="--sync_replicas --replicas_to_aggregate=2"
names=(ps0 worker0 worker1)
if [ "$MODE" = allreduce ]; then
  # No parameter server: the workers average their gradients themselves.
  CLUSTER="--worker_hosts=localhost:$W0,localhost:$W1"
  SYNC="--all_reduce_timeout_secs=120"
  names=(worker0 worker1)
fi

WHERE="ps on :$PS0, workers"
[ "$MODE" = allreduce ] && WHERE="no ps, workers"
echo "== 2/3 Train ($MODE): $WHERE on :$W0 and :$W1 (logs in $LOGS)"
if [ "$MODE" != allreduce ]; then
  $PY train_image_classifier.py $CLUSTER --job_name=ps --task=0 \
    >"$LOGS/ps0.log" 2>&1 &
  pids+=($!)
fi
for task in 0 1; do
  $PY train_image_classifier.py $CLUSTER --job_name=worker --task=$task \
    --train_dir="$TRAIN" --dataset_name=shapes --dataset_split_name=train \
    --dataset_dir="$DATA" --model_name=cifarnet --preprocessing_name=lenet \
    --max_number_of_steps="$STEPS" --batch_size=32 --optimizer=sgd \
    --learning_rate=0.1 --learning_rate_decay_type=fixed --weight_decay=0 \
    --log_every_n_steps=100 --save_interval_secs=60 $SYNC \
    >"$LOGS/worker$task.log" 2>&1 &
  pids+=($!)
done
# Any process that fails ends the run: a dead worker would otherwise leave
# the parameter server (and, with MODE=sync, the other worker) waiting for
# it forever. The others are stopped, and the script says which one failed.
running=${#pids[@]}
while [ "$running" -gt 0 ]; do
  sleep 1
  for i in "${!pids[@]}"; do
    [ -n "${pids[$i]}" ] && ! kill -0 "${pids[$i]}" 2>/dev/null || continue
    status=0
    wait "${pids[$i]}" || status=$?
    pids[$i]=""
    running=$((running - 1))
    if [ "$status" != 0 ]; then
      echo "${names[$i]} failed with status $status; stopping the others." \
        "Its last lines ($LOGS/${names[$i]}.log):"
      tail -n 5 "$LOGS/${names[$i]}.log"
      exit "$status"
    fi
  done
done
grep -h "Finished training" "$LOGS"/worker*.log
if [ "$MODE" = allreduce ]; then
  grep -ho "Variables checksum at .*" "$LOGS"/worker*.log
fi

echo "== 3/3 Evaluate on the validation split"
$PY eval_image_classifier.py --checkpoint_path="$TRAIN" \
  --eval_dir="$WORK/eval" --dataset_name=shapes \
  --dataset_split_name=validation --dataset_dir="$DATA" \
  --model_name=cifarnet --preprocessing_name=lenet --progress_bar=false
