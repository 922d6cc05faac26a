"""Converts images listed in a CSV, several labels each, to TFRecords.

  python download_and_convert_data.py --dataset_name=custom \\
      --source_csv=~/photos/labels.csv --dataset_dir=/tmp/photos_multi
  python download_and_convert_data.py --dataset_name=custom \\
      --source_csv=~/photos/labels.csv --labels_file=~/photos/classes.txt \\
      --dataset_dir=/tmp/photos_multi

The CSV (see datasets/label_csv.py) has the header `filename,labels` and one
row per image: its path, relative to the CSV's folder or absolute, and its
class names separated by spaces (none is allowed). The output is the folder
converter's layout (`custom_<split>_NNNNN-of-MMMMM.tfrecord`, labels.txt,
dataset_meta.json, see datasets/convert_custom.py), with, in every record,
`image/class/label` the list of the image's sorted class ids and
`image/class/text` their names, and `"multi_label": true` in
dataset_meta.json, which tells the `custom` descriptor to decode the label
as a list.

Here every row matters: a malformed CSV, an unknown class name (with
`--labels_file`), a missing file or an image that does not decode ends the
run with one line naming the CSV row, and no record file is written. The
split is stratified per label (datasets/multi_label_split.py).
"""
import functools
import hashlib
import os

from absl import logging

from datasets import convert_custom
from datasets import dataset_utils
from datasets import image_coding
from datasets import label_csv
from datasets import multi_label_split
from datasets import tfrecord_writer
from datasets.errors import DatasetError

NAME = convert_custom.NAME
_SPLITS = ('train', 'validation')


def _file_sha256(path):
  if not path:
    return None
  with open(path, 'rb') as f:
    return hashlib.sha256(f.read()).hexdigest()


def _source(source_csv, labels_file, images, settings):
  """What is converted and how: rerunning on the same is a no-op."""
  csv_dir = os.path.dirname(os.path.abspath(source_csv))
  return dict(
      settings,
      source_csv=os.path.abspath(source_csv),
      csv_sha256=_file_sha256(source_csv),
      labels_file=labels_file and os.path.abspath(labels_file),
      labels_file_sha256=_file_sha256(labels_file),
      fingerprint=convert_custom.source_fingerprint(
          csv_dir, {'': [image.path for image in images]}))


def _fail_on_unreadable(source_csv, images):
  """The `on_skipped` of the writer: an unreadable image ends the run."""
  by_path = {image.path: image for image in images}

  def fail(skipped):
    image = by_path[skipped.name]
    raise DatasetError('%s row %d: %s is not a usable image (%s); fix or '
                       'remove the row' % (source_csv, image.row,
                                           image.filename, skipped.reason))
  return fail


def _write_splits(dataset_dir, tasks_by_split, shards_per_split, read_image,
                  make_example, on_skipped, num_workers):
  """Writes every split in one go: nothing is renamed unless all is read."""
  shards, split_of_shard = [], []
  for split_name in _SPLITS:
    tasks = tasks_by_split[split_name]
    paths = tfrecord_writer.shard_filenames(dataset_dir, NAME, split_name,
                                            shards_per_split[split_name])
    for path, (start, end) in zip(paths, tfrecord_writer.shard_ranges(
        len(tasks), len(paths))):
      shards.append((path, tasks[start:end]))
      split_of_shard.append(split_name)
  stats = tfrecord_writer.write_shards(
      shards, read_image, make_example, num_workers=num_workers,
      desc='custom', on_skipped=on_skipped)
  sizes = dict.fromkeys(_SPLITS, 0)
  for split_name, count in zip(split_of_shard, stats.counts):
    sizes[split_name] += count
  for split_name in _SPLITS:
    tfrecord_writer.remove_stale_shards(
        dataset_dir, NAME, split_name,
        [path for (path, _), split in zip(shards, split_of_shard)
         if split == split_name])
  return sizes, stats.seconds


def _label_counts(label_ids, rows, num_classes):
  """How many of `rows` have each class."""
  counts = [0] * num_classes
  for row in rows:
    for class_id in label_ids[row]:
      counts[class_id] += 1
  return counts


def read_source(source_csv, labels_file):
  """Reads and checks the CSV, the class names and the files it lists.

  Returns:
    (images, class_names, label_ids): the `label_csv.LabelledImage` rows,
    the class names (index = id) and each row's sorted id tuple.

  Raises:
    DatasetError: see `label_csv`.
  """
  images = label_csv.read_csv(source_csv)
  if labels_file:
    class_names = label_csv.read_labels_file(labels_file)
  else:
    class_names = label_csv.class_names_in(images, source_csv)
  label_ids = label_csv.label_ids(images, class_names, source_csv,
                                  labels_file)
  label_csv.check_files(images, source_csv)
  return images, class_names, label_ids


def run(dataset_dir, source_csv, labels_file=None,
        validation_fraction=convert_custom.DEFAULT_VALIDATION_FRACTION,
        num_shards=None, seed=None, num_workers=None, max_image_pixels=None,
        min_image_side=None):
  """Converts the images and labels listed in `source_csv`.

  Args:
    dataset_dir: output folder (created if needed).
    source_csv: the CSV file, header `filename,labels`.
    labels_file: the fixed class names, one a line (None: the CSV's names,
      sorted).
    validation_fraction: share of each label put in the validation split.
    num_shards: training shards (None: one per 1000 images).
    seed: seed of the split and the shuffles (None: 0).
    num_workers: worker processes (None: automatic; 0 or 1: none).
    max_image_pixels: larger images are an error, found undecoded (None:
      `image_coding.DEFAULT_MAX_IMAGE_PIXELS`).
    min_image_side: images with a smaller side are an error (None:
      `image_coding.DEFAULT_MIN_IMAGE_SIDE`).

  Returns:
    The metadata dict written to dataset_meta.json.

  Raises:
    DatasetError: a flag is invalid, the CSV or the labels file is not
      usable, a listed image is missing or unreadable, or the disk is full.
  """
  seed, max_image_pixels, min_image_side = convert_custom.resolve_defaults(
      seed, max_image_pixels, min_image_side)
  convert_custom.check_conversion_args(validation_fraction, num_shards,
                                       max_image_pixels, min_image_side)
  images, class_names, label_ids = read_source(source_csv, labels_file)
  source = _source(source_csv, labels_file, images, {
      'validation_fraction': validation_fraction, 'seed': seed,
      'requested_num_shards': num_shards, 'max_image_pixels': max_image_pixels,
      'min_image_side': min_image_side})
  finished_meta = convert_custom.begin_conversion(dataset_dir, source,
                                                  source_csv)
  if finished_meta:
    return finished_meta

  rows = multi_label_split.split_rows(label_ids, validation_fraction, seed)
  tasks = {split: [(images[row].path, label_ids[row]) for row in rows[split]]
           for split in _SPLITS}
  shards_per_split = convert_custom.shard_counts(
      num_shards, len(tasks['train']), len(tasks['validation']))
  read_image = functools.partial(image_coding.read_any_image,
                                 max_pixels=max_image_pixels,
                                 min_side=min_image_side)
  make_example = functools.partial(
      dataset_utils.multi_label_result_to_tfexample, class_names)
  sizes, seconds = _write_splits(
      dataset_dir, tasks, shards_per_split, read_image, make_example,
      _fail_on_unreadable(source_csv, images), num_workers)
  # No image is skipped here; a list left by a folder conversion goes.
  convert_custom.write_skipped_report(dataset_dir, '', [])
  meta = {
      'num_classes': len(class_names),
      'splits': sizes,
      'file_pattern': convert_custom.FILE_PATTERN,
      'num_shards': shards_per_split,
      'multi_label': True,
      'label_counts': {split: _label_counts(label_ids, rows[split],
                                            len(class_names))
                       for split in _SPLITS},
      'source': source,
  }
  dataset_utils.write_label_file(dict(enumerate(class_names)), dataset_dir)
  dataset_utils.write_dataset_meta(meta, dataset_dir)
  logging.info('Converted %d images with %d classes from %s into %s (train '
               '%d, validation %d) in %.1f s.', sum(sizes.values()),
               len(class_names), source_csv, dataset_dir, sizes['train'],
               sizes['validation'], seconds)
  return meta
