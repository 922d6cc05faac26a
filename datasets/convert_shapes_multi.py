"""Generates the embedded multi-label `shapes_multi` dataset: no download.

  python download_and_convert_data.py --dataset_name=shapes_multi \\
      --dataset_dir=/tmp/shapes_multi

writes 2,500 training and 500 validation 32x32 RGB PNG images, each showing
1 to 3 distinct shapes of the five classes of `shapes` (circle, square,
triangle, cross, diamond; see `datasets/shapes_generator.py`), as

  shapes_multi_train_00000-of-00002.tfrecord,
  shapes_multi_train_00001-of-00002.tfrecord,
  shapes_multi_validation_00000-of-00001.tfrecord, labels.txt,
  dataset_meta.json ("multi_label": true, and how many images of each split
  show each class)

with, in each record, `image/class/label` the sorted list of the classes
shown and `image/class/text` their names. The number of shapes (1, 2 or 3,
equally likely) and which ones are drawn per image from the seed; the same
seed gives byte-identical files.
"""
import functools

from datasets import convert_shapes
from datasets import dataset_utils
from datasets import shapes_generator

NAME = 'shapes_multi'
FILE_PATTERN = NAME + '_%s_*.tfrecord'
_GENERATOR_VERSION = 1  # Bump when the drawing changes.


def split_label_sets(seed, split_name, size):
  """Returns the sorted class tuple of every image of a split."""
  rng = convert_shapes.labels_rng(seed, split_name)
  return [shapes_generator.draw_label_set(rng) for _ in range(size)]


def _multi_label_meta(labels_by_split):
  """The meta's multi-label keys: the flag, and for each split how many
  images show each class."""
  num_classes = len(shapes_generator.CLASS_NAMES)
  return {'multi_label': True,
          'label_counts': {
              split: [sum(class_id in labels for labels in label_sets)
                      for class_id in range(num_classes)]
              for split, label_sets in labels_by_split.items()}}


SHAPES_MULTI = convert_shapes.Variant(
    NAME, _GENERATOR_VERSION, split_label_sets,
    shapes_generator.generate_multi_png,
    functools.partial(dataset_utils.multi_label_result_to_tfexample,
                      shapes_generator.CLASS_NAMES),
    extra_meta=_multi_label_meta)


def run(dataset_dir, seed=None, num_shards=None, num_workers=None,
        split_sizes=None):
  """Generates shapes_multi in `dataset_dir` unless it is already there.

  Takes and returns what `convert_shapes.run` does.
  """
  return convert_shapes.generate(SHAPES_MULTI, dataset_dir, seed, num_shards,
                                 num_workers, split_sizes)
