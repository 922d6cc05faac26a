#!/usr/bin/env bash
# The embedded end-to-end demo, no network needed (make demo):
#   shapes dataset -> train CifarNet -> evaluate -> export -> freeze -> classify.
#
# Runtime: about a minute on 2 CPU cores.
# Expected: "Accuracy: 0.9x" (5 classes, chance is 0.2) and label_image
# printing the right shape first with a score near 1.
#
# Usage: bash scripts/demo_shapes.sh [WORK_DIR]   (default /tmp/slim-demo)
set -euo pipefail
cd "$(dirname "$0")/.."
PY=${PYTHON:-.venv/bin/python}
WORK=${1:-/tmp/slim-demo}
DATA=$WORK/shapes
TRAIN=$WORK/train
export TF_CPP_MIN_LOG_LEVEL=${TF_CPP_MIN_LOG_LEVEL:-3}

echo "== 1/6 Generate the shapes dataset in $DATA"
$PY download_and_convert_data.py --dataset_name=shapes --dataset_dir="$DATA"

echo "== 2/6 Train CifarNet for 800 steps in $TRAIN"
$PY train_image_classifier.py --train_dir="$TRAIN" --dataset_name=shapes \
  --dataset_split_name=train --dataset_dir="$DATA" --model_name=cifarnet \
  --preprocessing_name=lenet --max_number_of_steps=800 --batch_size=32 \
  --optimizer=sgd --learning_rate=0.1 --learning_rate_decay_type=fixed \
  --weight_decay=0 --log_every_n_steps=100 --save_interval_secs=60

echo "== 3/6 Evaluate on the validation split"
$PY eval_image_classifier.py --checkpoint_path="$TRAIN" \
  --eval_dir="$WORK/eval" --dataset_name=shapes \
  --dataset_split_name=validation --dataset_dir="$DATA" \
  --model_name=cifarnet --preprocessing_name=lenet

echo "== 4/6 Export the inference graph"
$PY export_inference_graph.py --model_name=cifarnet --dataset_name=shapes \
  --dataset_dir="$DATA" --output_file="$WORK/cifarnet_inf_graph.pb"

echo "== 5/6 Freeze it with the trained weights"
$PY tools/freeze_graph.py --input_graph="$WORK/cifarnet_inf_graph.pb" \
  --input_binary=true --input_checkpoint="$TRAIN" \
  --output_graph="$WORK/frozen_cifarnet.pb" \
  --output_node_names=CifarNet/Predictions/Reshape_1

echo "== 6/6 Classify a validation image with label_image"
IMAGE=$($PY tools/dump_images.py --dataset_name=shapes --dataset_dir="$DATA" \
  --dataset_split_name=validation --num_images=1 \
  --output_dir="$WORK/samples" | tail -n 1)
echo "image: $IMAGE"
# lenet preprocessing is (x - 128) / 128 on the 32x32 image.
$PY tools/label_image.py --graph="$WORK/frozen_cifarnet.pb" \
  --labels="$DATA/labels.txt" --image="$IMAGE" --input_layer=input \
  --output_layer=CifarNet/Predictions/Reshape_1 --input_height=32 \
  --input_width=32 --input_mean=128 --input_std=128
