#!/usr/bin/env bash
# Fine-tunes the published ImageNet Inception V3 on Flowers: first the new
# Logits/AuxLogits layers only, then all layers, evaluating after each.
#
# Command: bash scripts/finetune_inception_v3_on_flowers.sh \
#            [DATASET_DIR] [TRAIN_DIR] [CHECKPOINT_DIR]
# Downloads Flowers (218 MB) and the checkpoint (104 MB) unless present
# (MIRROR=URL to use a mirror).
# Runtime: 1000 + 500 steps at batch 32, roughly 1-1.5 hours on 2 CPU cores
# (estimated: bench_nets.py --models=inception_v3 --batch_size=32 runs ~33
# images/sec forward, ~8.5 training all layers). Each stage ends by printing
# the validation Accuracy; not run to the end here (no network on the
# development machine), so no figure is promised.
set -euo pipefail
cd "$(dirname "$0")/.."
PY=${PYTHON:-.venv/bin/python}
DATASET_DIR=${1:-/tmp/flowers}
TRAIN_DIR=${2:-/tmp/flowers-models/inception_v3}
CHECKPOINT_DIR=${3:-/tmp/checkpoints}

CHECKPOINT=$($PY tools/download_checkpoint.py --checkpoint=inception_v3 \
  --checkpoint_dir="$CHECKPOINT_DIR" ${MIRROR:+--mirror="$MIRROR"} | tail -n 1)

$PY download_and_convert_data.py --dataset_name=flowers \
  --dataset_dir="$DATASET_DIR" ${MIRROR:+--mirror="$MIRROR"}

# Fine-tune only the new layers for 1000 steps.
$PY train_image_classifier.py --train_dir="$TRAIN_DIR" \
  --dataset_name=flowers --dataset_split_name=train \
  --dataset_dir="$DATASET_DIR" --model_name=inception_v3 \
  --checkpoint_path="$CHECKPOINT" \
  --checkpoint_exclude_scopes=InceptionV3/Logits,InceptionV3/AuxLogits \
  --trainable_scopes=InceptionV3/Logits,InceptionV3/AuxLogits \
  --max_number_of_steps=1000 --batch_size=32 --learning_rate=0.01 \
  --learning_rate_decay_type=fixed --save_interval_secs=60 \
  --save_summaries_secs=60 --log_every_n_steps=100 --optimizer=rmsprop \
  --weight_decay=0.00004

$PY eval_image_classifier.py --checkpoint_path="$TRAIN_DIR" \
  --eval_dir="$TRAIN_DIR" --dataset_name=flowers \
  --dataset_split_name=validation --dataset_dir="$DATASET_DIR" \
  --model_name=inception_v3

# Fine-tune all the layers for 500 steps.
$PY train_image_classifier.py --train_dir="$TRAIN_DIR/all" \
  --dataset_name=flowers --dataset_split_name=train \
  --dataset_dir="$DATASET_DIR" --model_name=inception_v3 \
  --checkpoint_path="$TRAIN_DIR" --max_number_of_steps=500 \
  --batch_size=32 --learning_rate=0.0001 --learning_rate_decay_type=fixed \
  --save_interval_secs=60 --save_summaries_secs=60 --log_every_n_steps=10 \
  --optimizer=rmsprop --weight_decay=0.00004

$PY eval_image_classifier.py --checkpoint_path="$TRAIN_DIR/all" \
  --eval_dir="$TRAIN_DIR/all" --dataset_name=flowers \
  --dataset_split_name=validation --dataset_dir="$DATASET_DIR" \
  --model_name=inception_v3
