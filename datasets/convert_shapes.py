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
import dataclasses
import math
import os
from typing import Callable, Mapping, Optional

from absl import logging
import numpy as np
import tensorflow as tf

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
  return labels_rng(seed, split_name).permutation(labels).tolist()


def labels_rng(seed, split_name):
  """The generator of a split's labels (not of any image's drawing)."""
  return np.random.default_rng([seed, _SPLIT_INDEX[split_name], 2**31])


@dataclasses.dataclass(frozen=True)
class Variant:
  """What one generated shapes dataset draws and stores.

  Attributes:
    name: the dataset name, prefix of its files.
    generator_version: recorded in the meta; bump when the drawing changes.
    split_labels: fn(seed, split name, size) -> the label of each image.
    encode_fn: picklable fn((seed, split index, index, label)) ->
      `image_coding.EncodedImage`, run in the worker processes.
    make_example: fn(EncodedImage) -> `tf.train.Example`.
    extra_meta: fn({split: labels}) -> keys added to dataset_meta.json, or
      None.
  """
  name: str
  generator_version: int
  split_labels: Callable
  encode_fn: Callable
  make_example: Callable
  extra_meta: Optional[Callable[[Mapping], dict]] = None

  @property
  def file_pattern(self):
    return self.name + '_%s_*.tfrecord'


SHAPES = Variant(NAME, _GENERATOR_VERSION, split_labels,
                 shapes_generator.generate_png,
                 dataset_utils.result_to_tfexample)


def _num_shards(num_shards, split_sizes):
  train = split_sizes['train']
  return {split: (num_shards if split == 'train' else
                  max(1, math.ceil(num_shards * size / max(train, 1))))
          for split, size in split_sizes.items()}


def _finished(dataset_dir, name, meta):
  existing = dataset_utils.read_dataset_meta(dataset_dir)
  if existing != meta:
    return False
  return all(tf.io.gfile.exists(path)
             for split, count in meta['num_shards'].items()
             for path in tfrecord_writer.shard_filenames(
                 dataset_dir, name, split, count))


def _check_sizes(name, num_shards, split_sizes):
  if num_shards < 1:
    raise DatasetError('--num_shards must be >= 1; received %d' % num_shards)
  if sorted(split_sizes) != ['train', 'validation'] or min(
      split_sizes.values()) < 1:
    raise DatasetError('%s split sizes must give train and validation at '
                       'least one image each; received %r' % (name,
                                                              split_sizes))


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
  return generate(SHAPES, dataset_dir, seed, num_shards, num_workers,
                  split_sizes)


def generate(variant, dataset_dir, seed=None, num_shards=None,
             num_workers=None, split_sizes=None):
  """Generates a shapes `Variant` in `dataset_dir` unless it is there.

  Args:
    variant: the `Variant`.
    dataset_dir, seed, num_shards, num_workers, split_sizes: as for `run`.

  Returns:
    The dataset metadata dict (also written to dataset_meta.json).

  Raises:
    DatasetError: a size or shard count is invalid, or the disk is full.
  """
  seed = DEFAULT_SEED if seed is None else seed
  num_shards = DEFAULT_NUM_SHARDS if num_shards is None else num_shards
  split_sizes = dict(split_sizes or SPLITS_TO_SIZES)
  _check_sizes(variant.name, num_shards, split_sizes)
  shards_per_split = _num_shards(num_shards, split_sizes)
  labels_by_split = {split: variant.split_labels(seed, split, size)
                     for split, size in split_sizes.items()}
  meta = {
      'num_classes': len(shapes_generator.CLASS_NAMES),
      'splits': split_sizes,
      'file_pattern': variant.file_pattern,
      'num_shards': shards_per_split,
      'image_size': shapes_generator.IMAGE_SIZE,
      'generator': {'seed': seed, 'version': variant.generator_version},
  }
  if variant.extra_meta:
    meta.update(variant.extra_meta(labels_by_split))
  tf.io.gfile.makedirs(dataset_dir)
  if _finished(dataset_dir, variant.name, meta):
    logging.info('The %s dataset is already in %s; nothing to do.',
                 variant.name, dataset_dir)
    return meta
  meta_path = os.path.join(dataset_dir, dataset_utils.META_FILENAME)
  if tf.io.gfile.exists(meta_path):
    tf.io.gfile.remove(meta_path)  # From now on the folder is not a finished dataset.

  all_stats = [_write_split(variant, dataset_dir, seed, split_name, labels,
                            shards_per_split[split_name], num_workers)
               for split_name, labels in labels_by_split.items()]
  dataset_utils.write_label_file(
      dict(enumerate(shapes_generator.CLASS_NAMES)), dataset_dir)
  dataset_utils.write_dataset_meta(meta, dataset_dir)
  total_images = sum(stats.num_written for stats in all_stats)
  total_seconds = sum(stats.seconds for stats in all_stats)
  logging.info('Generated %d %s images in %s in %.1f s (%.0f images/sec).',
               total_images, variant.name, dataset_dir, total_seconds,
               total_images / max(total_seconds, 1e-9))
  return meta


def _write_split(variant, dataset_dir, seed, split_name, labels, num_shards,
                 num_workers):
  """Draws and writes one split's images; returns the `WriteStats`."""
  tasks = [(seed, _SPLIT_INDEX[split_name], index, label)
           for index, label in enumerate(labels)]
  paths = tfrecord_writer.shard_filenames(dataset_dir, variant.name,
                                          split_name, num_shards)
  shards = [(path, tasks[start:end]) for path, (start, end) in zip(
      paths, tfrecord_writer.shard_ranges(len(tasks), len(paths)))]
  stats = tfrecord_writer.write_shards(
      shards, variant.encode_fn, variant.make_example,
      num_workers=num_workers, desc='%s %s' % (variant.name, split_name))
  tfrecord_writer.remove_stale_shards(dataset_dir, variant.name, split_name,
                                      paths)
  return stats
