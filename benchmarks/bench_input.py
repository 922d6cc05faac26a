"""Throughput (images/sec) of the training input pipeline alone.

    .venv/bin/python download_and_convert_data.py --dataset_name=shapes \
        --dataset_dir=/tmp/shapes
    .venv/bin/python benchmarks/bench_input.py --dataset_name=shapes \
        --dataset_dir=/tmp/shapes --preprocessing_name=inception \
        --image_size=224 --batch_size=32

Reads the split exactly as train_image_classifier.py does (tf.data:
parallel interleave over shards, decode, preprocessing in a parallel map,
batch, prefetch) and times --batches batches after --warmup ones, with no
network attached: the ceiling the input can feed a model at. The
augmentation flags of train_image_classifier.py (--randaugment_layers ...)
measure what augmentation costs.
"""
import argparse
import dataclasses
import os
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
os.environ.setdefault('TF_CPP_MIN_LOG_LEVEL', '3')
from image_classifier import tf_env  # pylint: disable=unused-import,g-bad-import-order

import tensorflow as tf

from flag_groups import training_flags
from image_classifier import inputs
from image_classifier import model_on_split
from image_classifier import specs
from preprocessing import preprocessing_factory

tf1 = tf.compat.v1


def main():
  parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
  parser.add_argument('--dataset_name', default='shapes')
  parser.add_argument('--dataset_dir', required=True)
  parser.add_argument('--dataset_split_name', default='train')
  parser.add_argument('--preprocessing_name', default='inception')
  parser.add_argument('--image_size', type=int, default=224)
  parser.add_argument('--batch_size', type=int, default=32)
  parser.add_argument('--num_readers', type=int, default=4)
  parser.add_argument('--num_preprocessing_threads', type=int, default=None,
                      help='parallel map calls (default AUTOTUNE)')
  parser.add_argument('--warmup', type=int, default=5)
  parser.add_argument('--batches', type=int, default=50)
  parser.add_argument('--randaugment_layers', type=int, default=0)
  parser.add_argument('--randaugment_magnitude', type=int, default=10)
  parser.add_argument('--random_erasing', type=float, default=0.0)
  parser.add_argument('--mixup_alpha', type=float, default=0.0)
  parser.add_argument('--cutmix_alpha', type=float, default=0.0)
  args = parser.parse_args()
  augmentation = training_flags.augment_params(args)

  with tf.Graph().as_default():
    # The input stages of model_on_split, without a network.
    dataset = model_on_split.open_split(specs.DataSpec(
        args.dataset_name, args.dataset_dir, args.dataset_split_name))
    split = model_on_split.split_batches(
        dataset,
        specs.InputSpec(args.batch_size,
                        num_preprocessing_threads=(
                            args.num_preprocessing_threads or 0),
                        num_readers=args.num_readers),
        preprocessing_factory.get_preprocessing(args.preprocessing_name,
                                                is_training=True),
        args.image_size,
        dataclasses.replace(model_on_split.TRAINING,
                            augmentation=augmentation),
        num_classes=dataset.num_classes)
    images, _ = inputs.iterator_get_next(split.batches)
    with tf1.Session() as sess:
      for _ in range(args.warmup):
        sess.run(images)
      start = time.perf_counter()
      for _ in range(args.batches):
        sess.run(images)
      seconds = time.perf_counter() - start
  print(f'{args.dataset_name}/{args.dataset_split_name} -> '
        f'{args.preprocessing_name} {args.image_size}x{args.image_size}, '
        f'batch {args.batch_size}, {os.cpu_count()} CPU cores'
        f'{", " + str(augmentation) if augmentation.enabled else ""}: '
        f'{args.batch_size * args.batches / seconds:.1f} images/sec')


if __name__ == '__main__':
  main()
