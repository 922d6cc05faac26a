#!/usr/bin/env bash
# Trains CifarNet on CIFAR-10 from scratch, then evaluates it on the test set.
#
# Command: bash scripts/train_cifarnet_on_cifar10.sh [DATASET_DIR] [TRAIN_DIR]
# Downloads CIFAR-10 (170 MB, binary version) unless already converted.
# Runtime: 100k steps at batch 128, about 3-4 hours on 2 CPU cores
# (estimated: benchmarks/bench_nets.py --models=cifarnet --batch_size=128
# trains ~1,070 images/sec there). The run prints the test Accuracy; it was
# not run to the end here (no network on the development machine), so no
# figure is promised.
# Set STEPS=1000 for a quick check of the pipeline.
set -euo pipefail
cd "$(dirname "$0")/.."
PY=${PYTHON:-.venv/bin/python}
DATASET_DIR=${1:-/tmp/cifar10}
TRAIN_DIR=${2:-/tmp/cifarnet-model}
STEPS=${STEPS:-100000}

$PY download_and_convert_data.py --dataset_name=cifar10 \
  --dataset_dir="$DATASET_DIR" ${MIRROR:+--mirror="$MIRROR"}

$PY train_image_classifier.py --train_dir="$TRAIN_DIR" \
  --dataset_name=cifar10 --dataset_split_name=train \
  --dataset_dir="$DATASET_DIR" --model_name=cifarnet \
  --preprocessing_name=cifarnet --max_number_of_steps="$STEPS" \
  --batch_size=128 --save_interval_secs=120 --save_summaries_secs=120 \
  --log_every_n_steps=100 --optimizer=sgd --learning_rate=0.1 \
  --learning_rate_decay_factor=0.1 --num_epochs_per_decay=200 \
  --weight_decay=0.004

$PY eval_image_classifier.py --checkpoint_path="$TRAIN_DIR" \
  --eval_dir="$TRAIN_DIR" --dataset_name=cifar10 --dataset_split_name=test \
  --dataset_dir="$DATASET_DIR" --model_name=cifarnet
