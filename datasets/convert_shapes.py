"""Generates the embedded `shapes` dataset: no download, a few seconds.

  python download_and_convert_data.py --dataset_name=shapes --dataset_dir=/tmp/shapes

writes 2,500 training and 500 validation 32x32 RGB PNG images of five
classes (circle, square, triangle, cross, diamond; see
`datasets/shapes_generator.py`) as

  shapes_train_00000-of-00002.tfrecord, shapes_train_00001-of-00002.tfrecord,
  shapes_validation_00000-of-00001.tfrecord, labels.txt, dataset_meta.json

The shape is the class; colour, size and position are random. CifarNet
learns it far above chance (20%) in a few hundred CPU steps. The same seed
gives byte-identical files.
"""
import math
import os

from absl import logging
import numpy as np

from datasets import dataset_utils
from datasets import shapes_generator
from datasets import tfrecord_writer
from datasets.errors import DatasetError

NAME = 'shapes'
FILE_PATTERN = NAME + '_%s_*.tfrecord'
SPLITS_TO_SIZES = {'train': 2500, 'validation': 500}
DEFAULT_NUM_SHARDS = 2  # For train; validation gets a proportional count.
DEFAULT_SEED = 0
_GENERATOR_VERSION = 1  # Bump when the drawing changes.
_SPLIT_INDEX = {'train': 0, 'validation': 1}


def split_labels(seed, split_name, size):
  """Returns the class of every image of a split: balanced, shuffled."""
  labels = np.arange(size) % len(shapes_generator.CLASS_NAMES)
  rng = np.random.default_rng([seed, _SPLIT_INDEX[split_name], 2**31])
  return rng.permutation(labels).tolist()


def _num_shards(num_shards, split_sizes):
  train = split_sizes['train']
  return {split: (num_shards if split == 'train' else
                  max(1, math.ceil(num_shards * size / max(train, 1))))
          for split, size in split_sizes.items()}


def _finished(dataset_dir, meta):
  existing = dataset_utils.read_dataset_meta(dataset_dir)
  if existing != meta:
    return False
  return all(os.path.exists(path)
             for split, count in meta['num_shards'].items()
             for path in tfrecord_writer.shard_filenames(
                 dataset_dir, NAME, split, count))


def run(dataset_dir, seed=None, num_shards=None, num_workers=None,
        split_sizes=None):
  """Generates the shapes dataset in `dataset_dir` unless it is already there.

  Args:
    dataset_dir: output folder (created if needed).
    seed: int seed (None: 0); the same seed gives identical files.
    num_shards: number of training shards (None: 2).
    num_workers: worker processes (None: automatic; 0 or 1: none).
    split_sizes: dict split name -> number of images (None: 2500/500).

  Returns:
    The dataset metadata dict (also written to dataset_meta.json).

  Raises:
    DatasetError: a size or shard count is invalid, or the disk is full.
  """
  seed = DEFAULT_SEED if seed is None else seed
  num_shards = DEFAULT_NUM_SHARDS if num_shards is None else num_shards
  split_sizes = dict(split_sizes or SPLITS_TO_SIZES)
  if num_shards < 1:
    raise DatasetError('--num_shards must be >= 1; received %d' % num_shards)
  if sorted(split_sizes) != ['train', 'validation'] or min(
      split_sizes.values()) < 1:
    raise DatasetError('shapes split sizes must give train and validation at '
                       'least one image each; received %r' % split_sizes)
  shards_per_split = _num_shards(num_shards, split_sizes)
  meta = {
      'num_classes': len(shapes_generator.CLASS_NAMES),
      'splits': split_sizes,
      'file_pattern': FILE_PATTERN,
      'num_shards': shards_per_split,
      'image_size': shapes_generator.IMAGE_SIZE,
      'generator': {'seed': seed, 'version': _GENERATOR_VERSION},
  }
  os.makedirs(dataset_dir, exist_ok=True)
  if _finished(dataset_dir, meta):
    logging.info('The shapes dataset is already in %s; nothing to do.',
                 dataset_dir)
    return meta
  meta_path = os.path.join(dataset_dir, dataset_utils.META_FILENAME)
  if os.path.exists(meta_path):
    os.remove(meta_path)  # From now on the folder is not a finished dataset.

  total_images, total_seconds = 0, 0.0
  for split_name, size in split_sizes.items():
    labels = split_labels(seed, split_name, size)
    tasks = [(seed, _SPLIT_INDEX[split_name], index, label)
             for index, label in enumerate(labels)]
    paths = tfrecord_writer.shard_filenames(
        dataset_dir, NAME, split_name, shards_per_split[split_name])
    shards = [(path, tasks[start:end]) for path, (start, end) in zip(
        paths, tfrecord_writer.shard_ranges(size, len(paths)))]
    stats = tfrecord_writer.write_shards(
        shards, shapes_generator.generate_png,
        dataset_utils.result_to_tfexample, num_workers=num_workers,
        desc='shapes ' + split_name)
    tfrecord_writer.remove_stale_shards(dataset_dir, NAME, split_name, paths)
    total_images += stats.num_written
    total_seconds += stats.seconds

  dataset_utils.write_label_file(
      dict(enumerate(shapes_generator.CLASS_NAMES)), dataset_dir)
  dataset_utils.write_dataset_meta(meta, dataset_dir)
  logging.info('Generated %d shapes images in %s in %.1f s (%.0f images/sec).',
               total_images, dataset_dir, total_seconds,
               total_images / max(total_seconds, 1e-9))
  return meta

