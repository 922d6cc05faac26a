#!/usr/bin/env bash
# Trains LeNet on MNIST from scratch, then evaluates it on the test set.
#
# Command: bash scripts/train_lenet_on_mnist.sh [DATASET_DIR] [TRAIN_DIR]
# Downloads MNIST (11 MB) unless already converted.
# Runtime: 20k steps at batch 50, about 10 minutes on 2 CPU cores
# (estimated: bench_nets.py --models=lenet --batch_size=50 trains ~1,900
# images/sec). LeNet usually reaches about 0.99 test Accuracy on MNIST; not
# run to the end here (no network). STEPS=500 checks the pipeline quickly.
set -euo pipefail
cd "$(dirname "$0")/.."
PY=${PYTHON:-.venv/bin/python}
DATASET_DIR=${1:-/tmp/mnist}
TRAIN_DIR=${2:-/tmp/lenet-model}
STEPS=${STEPS:-20000}

$PY download_and_convert_data.py --dataset_name=mnist \
  --dataset_dir="$DATASET_DIR" ${MIRROR:+--mirror="$MIRROR"}

$PY train_image_classifier.py --train_dir="$TRAIN_DIR" \
  --dataset_name=mnist --dataset_split_name=train \
  --dataset_dir="$DATASET_DIR" --model_name=lenet \
  --preprocessing_name=lenet --max_number_of_steps="$STEPS" \
  --batch_size=50 --learning_rate=0.01 --save_interval_secs=60 \
  --save_summaries_secs=60 --log_every_n_steps=100 --optimizer=sgd \
  --learning_rate_decay_type=fixed --weight_decay=0

$PY eval_image_classifier.py --checkpoint_path="$TRAIN_DIR" \
  --eval_dir="$TRAIN_DIR" --dataset_name=mnist --dataset_split_name=test \
  --dataset_dir="$DATASET_DIR" --model_name=lenet
