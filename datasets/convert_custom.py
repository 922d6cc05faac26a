"""Converts your own folder of images (one subfolder per class) to TFRecords.

  python download_and_convert_data.py --dataset_name=custom \\
      --source_dir=~/photos --dataset_dir=/tmp/photos_tfrecord
  python train_image_classifier.py --dataset_name=custom \\
      --dataset_dir=/tmp/photos_tfrecord --model_name=...

`--source_dir` holds one subfolder per class (`photos/cats/*.jpg`,
`photos/dogs/*.png`, ...; nested folders inside a class are included). Class
ids follow the sorted subfolder names. RGB or grayscale JPEG and PNG files are
stored byte for byte; BMP, GIF, WebP, TIFF, CMYK JPEG, ... are re-encoded as
PNG. Every image is fully decoded first: unreadable ones are skipped, logged
and listed in `skipped_images.txt`, with the reason. So are, before anything
is decoded, images whose header gives more than `--max_image_pixels` pixels
or a side under `--min_image_side`, and, never opened, FIFOs, sockets,
devices, symlink loops and dangling symlinks that have an image extension.

Output: `custom_train_0000N-of-0000M.tfrecord`,
`custom_validation_0000N-of-0000K.tfrecord`, labels.txt, and
dataset_meta.json (class count, split sizes, file pattern), written last and
read by the `custom` dataset descriptor. The validation split takes
`--validation_fraction` of each class (stratified); `--seed` fixes the split
and the order. A rerun on an unchanged source folder with the same settings
does nothing.

Images with several labels each are listed in a CSV instead
(`--source_csv`, see datasets/convert_custom_csv.py); `run` hands them on.
"""
import collections
import functools
import hashlib
import math
import os
import random

from absl import logging
import tensorflow as tf

from datasets import dataset_utils
from datasets import image_coding
from datasets import tfrecord_writer
from image_classifier import fileio
from datasets.errors import DatasetError

NAME = 'custom'
FILE_PATTERN = NAME + '_%s_*.tfrecord'
IMAGE_EXTENSIONS = ('.bmp', '.gif', '.jpeg', '.jpg', '.pbm', '.pgm', '.png',
                    '.ppm', '.tif', '.tiff', '.webp')
SKIPPED_FILENAME = 'skipped_images.txt'
DEFAULT_VALIDATION_FRACTION = 0.1
DEFAULT_SEED = 0
IMAGES_PER_SHARD = 1000  # When num_shards is None.
_SPLITS = ('train', 'validation')


def _visible(name):
  return not name.startswith('.')


def list_images(source_dir):
  """Lists the class folders of `source_dir` and their image files.

  Files are looked at with `os.stat`, never opened: what is not a regular
  file (a FIFO, a socket, a device, a symlink loop or a dangling symlink)
  is set aside with the reason.

  Args:
    source_dir: folder with one subfolder per class.

  Returns:
    (class_names, files_by_class, unusable_by_class): the sorted class
    names; for each, the sorted paths of its regular files with an image
    extension, and the `image_coding.Skipped` entries of its other paths with
    an image extension.

  Raises:
    DatasetError: `source_dir` is missing or not a folder, has no class
      subfolders, or a class folder has no image files.
  """
  if not source_dir:
    raise DatasetError('--source_dir is required with --dataset_name=custom: '
                       'pass a folder with one subfolder of images per class')
  if not os.path.isdir(source_dir):
    raise DatasetError('--source_dir=%s is not a folder; pass a folder with '
                       'one subfolder of images per class' % source_dir)
  class_names = sorted(
      name for name in os.listdir(source_dir)
      if _visible(name) and os.path.isdir(os.path.join(source_dir, name)))
  if not class_names:
    raise DatasetError(
        '--source_dir=%s has no class subfolders; expected one subfolder per '
        'class, e.g. %s' % (source_dir, os.path.join(source_dir, 'cats',
                                                     'img1.jpg')))
  files_by_class, unusable_by_class = {}, {}
  for class_name in class_names:
    paths = _image_paths(os.path.join(source_dir, class_name))
    if not paths:
      raise DatasetError(
          "class folder '%s' in --source_dir=%s has no image files; "
          'accepted extensions: %s' % (class_name, source_dir,
                                       ', '.join(IMAGE_EXTENSIONS)))
    problems = [image_coding.file_problem(path) for path in paths]
    files_by_class[class_name] = [
        path for path, problem in zip(paths, problems) if not problem]
    unusable_by_class[class_name] = [
        image_coding.Skipped(path, problem)
        for path, problem in zip(paths, problems) if problem]
  return class_names, files_by_class, unusable_by_class


def _image_paths(class_dir):
  """The sorted paths with an image extension under `class_dir`."""
  paths = []
  for root, dirs, names in os.walk(class_dir):
    dirs[:] = sorted(d for d in dirs if _visible(d))
    paths.extend(os.path.join(root, name) for name in sorted(names)
                 if _visible(name) and
                 os.path.splitext(name)[1].lower() in IMAGE_EXTENSIONS)
  return paths


def split_files(class_names, files_by_class, validation_fraction, seed):
  """Splits every class into train and validation tasks, stratified.

  Each class gives round(n * validation_fraction) images to validation, but
  always keeps at least one for training. Both splits are then shuffled.

  Args:
    class_names: the sorted class names (their index is the label).
    files_by_class: dict class name -> sorted file paths.
    validation_fraction: float in [0, 1).
    seed: int seed of the shuffles.

  Returns:
    {'train': [(path, label)], 'validation': [(path, label)]}.
  """
  rng = random.Random(seed)
  splits = {name: [] for name in _SPLITS}
  for label, class_name in enumerate(class_names):
    files = list(files_by_class[class_name])
    rng.shuffle(files)
    num_validation = min(int(math.floor(len(files) * validation_fraction
                                        + 0.5)), len(files) - 1)
    splits['validation'].extend((p, label) for p in files[:num_validation])
    splits['train'].extend((p, label) for p in files[num_validation:])
  for tasks in splits.values():
    rng.shuffle(tasks)
  return splits


def source_fingerprint(source_dir, files_by_class, unusable=()):
  """Returns a digest of the listed files' names, sizes and times, and of
  the unusable paths' names and reasons."""
  digest = hashlib.sha256()
  for class_name in sorted(files_by_class):
    for path in files_by_class[class_name]:
      info = os.stat(path)
      digest.update(('%s\0%d\0%d\n' % (os.path.relpath(path, source_dir),
                                       info.st_size, info.st_mtime_ns))
                    .encode('utf-8', 'surrogateescape'))
  for item in unusable:
    digest.update(('%s\0%s\n' % (os.path.relpath(item.name, source_dir),
                                  item.reason))
                  .encode('utf-8', 'surrogateescape'))
  return digest.hexdigest()


def shard_counts(num_shards, num_train, num_validation):
  """{split: shards}: `num_shards` for train (None: one per
  IMAGES_PER_SHARD images), a proportional count for validation."""
  train = num_shards or max(1, math.ceil(num_train / IMAGES_PER_SHARD))
  validation = max(1, math.ceil(train * num_validation / max(num_train, 1)))
  return {'train': train, 'validation': validation}


def finished(dataset_dir, source):
  """Whether `dataset_dir` holds a finished conversion of `source` (the
  meta's record of what was converted, and how)."""
  meta = dataset_utils.read_dataset_meta(dataset_dir)
  if not meta or meta.get('source') != source:
    return False
  return dataset_utils.conversion_finished(
      dataset_dir, [path for split, count in meta['num_shards'].items()
                    for path in tfrecord_writer.shard_filenames(
                        dataset_dir, NAME, split, count)])


def begin_conversion(dataset_dir, source, source_name):
  """Creates `dataset_dir`; returns its meta if it holds this conversion
  already, else removes the meta (the folder is no longer a finished
  dataset) and returns None."""
  tf.io.gfile.makedirs(dataset_dir)
  if finished(dataset_dir, source):
    logging.info('%s already holds this conversion of %s; nothing to do.',
                 dataset_dir, source_name)
    return dataset_utils.read_dataset_meta(dataset_dir)
  meta_path = os.path.join(dataset_dir, dataset_utils.META_FILENAME)
  if tf.io.gfile.exists(meta_path):
    tf.io.gfile.remove(meta_path)
  return None


def check_conversion_args(validation_fraction, num_shards, max_image_pixels,
                          min_image_side):
  """Raises a DatasetError naming the first flag out of its range."""
  if not 0.0 <= validation_fraction < 1.0:
    raise DatasetError('--validation_fraction must be in [0, 1); received %r'
                       % validation_fraction)
  if num_shards is not None and num_shards < 1:
    raise DatasetError('--num_shards must be >= 1; received %d' % num_shards)
  if max_image_pixels < 1:
    raise DatasetError('--max_image_pixels must be >= 1; received %d'
                       % max_image_pixels)
  if min_image_side < 1:
    raise DatasetError('--min_image_side must be >= 1; received %d'
                       % min_image_side)


def _check_args(dataset_dir, source_dir, validation_fraction, num_shards,
                max_image_pixels, min_image_side):
  check_conversion_args(validation_fraction, num_shards, max_image_pixels,
                        min_image_side)
  if not fileio.is_local(dataset_dir):
    return  # The source is a local folder: a remote one cannot be inside.
  source = os.path.realpath(source_dir)
  target = os.path.realpath(dataset_dir)
  if target != source and target.startswith(source + os.sep):
    raise DatasetError('--dataset_dir=%s is inside --source_dir=%s, where it '
                       'would become a class; choose a folder outside it'
                       % (dataset_dir, source_dir))


def write_skipped_report(dataset_dir, source_dir, skipped):
  """Lists `skipped` in SKIPPED_FILENAME (paths relative to `source_dir`),
  or removes an old list when nothing was skipped."""
  path = os.path.join(dataset_dir, SKIPPED_FILENAME)
  if not skipped:
    if tf.io.gfile.exists(path):
      tf.io.gfile.remove(path)
    return
  text = ''.join('%s\t%s\n' % (os.path.relpath(item.name, source_dir),
                               item.reason) for item in skipped)
  fileio.write_atomic(path, text.encode('utf-8', 'surrogateescape'))
  logging.warning('Skipped %d file(s), listed in %s with the reason; first: '
                  '%s %s',
                  len(skipped), path, skipped[0].name, skipped[0].reason)


_Written = collections.namedtuple('_Written',
                                  ['sizes', 'skipped', 'paths', 'seconds'])
_Written.__doc__ = """What `_write_splits` wrote: {split: examples}, the
files skipped while reading, the shard paths and the seconds it took."""


def _write_splits(dataset_dir, splits, shard_counts, read_image, num_workers):
  """Writes each split's images into its shards (see `run`)."""
  sizes, skipped, paths_written = {}, [], []
  seconds = 0.0
  for split_name in _SPLITS:
    tasks = splits[split_name]
    paths = tfrecord_writer.shard_filenames(dataset_dir, NAME, split_name,
                                            shard_counts[split_name])
    shards = [(path, tasks[start:end]) for path, (start, end) in zip(
        paths, tfrecord_writer.shard_ranges(len(tasks), len(paths)))]
    stats = tfrecord_writer.write_shards(
        shards, read_image, dataset_utils.result_to_tfexample,
        num_workers=num_workers, desc='custom ' + split_name)
    paths_written.extend(paths)
    sizes[split_name] = stats.num_written
    skipped.extend(stats.skipped)
    seconds += stats.seconds
  return _Written(sizes, skipped, paths_written, seconds)


def _check_every_class_readable(dataset_dir, source_dir, class_names,
                                files_by_class, unusable_by_class, skipped,
                                written_paths):
  """Removes the shards and fails when a class had no image read: the
  dataset would count a class that no example has."""
  skipped_paths = {item.name for item in skipped}
  for class_name in class_names:
    if all(path in skipped_paths for path in files_by_class[class_name]):
      for path in written_paths:
        tf.io.gfile.remove(path)
      num_files = (len(files_by_class[class_name])
                   + len(unusable_by_class[class_name]))
      raise DatasetError(
          "class folder '%s' in --source_dir=%s has no readable images (%d "
          'file(s) skipped, listed in %s); fix or remove them, or remove the '
          'folder' % (class_name, source_dir, num_files,
                      os.path.join(dataset_dir, SKIPPED_FILENAME)))


def run(dataset_dir, source_dir=None,
        validation_fraction=DEFAULT_VALIDATION_FRACTION, num_shards=None,
        seed=None, num_workers=None, max_image_pixels=None,
        min_image_side=None, source_csv=None, labels_file=None):
  """Converts the image folder `source_dir`, or the images and labels that
  `source_csv` lists (see datasets/convert_custom_csv.py), into a dataset in
  `dataset_dir`.

  Args:
    dataset_dir: output folder (created if needed); not inside `source_dir`.
    source_dir: folder with one subfolder of images per class.
    validation_fraction: share of each class put in the validation split.
    num_shards: training shards (None: one per 1000 images); validation gets
      a proportional count.
    seed: seed of the split and the shuffles (None: 0).
    num_workers: worker processes (None: automatic; 0 or 1: none).
    max_image_pixels: images whose header gives more pixels are skipped
      undecoded (None: `image_coding.DEFAULT_MAX_IMAGE_PIXELS`).
    min_image_side: images with a smaller width or height are skipped (None:
      `image_coding.DEFAULT_MIN_IMAGE_SIDE`).
    source_csv: instead of `source_dir`, a CSV of image paths and their
      class names, for a multi-label dataset.
    labels_file: with `source_csv`, the fixed class names (None: the names
      in the CSV, sorted).

  Returns:
    The metadata dict written to dataset_meta.json.

  Raises:
    DatasetError: a flag is invalid, the folder is empty, a class has no
      readable image, or the disk is full (for `source_csv`, see
      `convert_custom_csv.run`).
  """
  seed, max_image_pixels, min_image_side = resolve_defaults(
      seed, max_image_pixels, min_image_side)
  if source_csv or labels_file:
    _check_csv_flags(source_dir, source_csv)
    # Imported here: the CSV converter builds on this module's helpers.
    # pylint: disable-next=g-import-not-at-top
    from datasets import convert_custom_csv
    return convert_custom_csv.run(
        dataset_dir, source_csv, labels_file,
        validation_fraction=validation_fraction, num_shards=num_shards,
        seed=seed, num_workers=num_workers, max_image_pixels=max_image_pixels,
        min_image_side=min_image_side)
  return _run_folder(dataset_dir, source_dir, validation_fraction, num_shards,
                     seed, num_workers, max_image_pixels, min_image_side)


def resolve_defaults(seed, max_image_pixels, min_image_side):
  """(seed, max_image_pixels, min_image_side), each None replaced by its
  default."""
  return (DEFAULT_SEED if seed is None else seed,
          image_coding.DEFAULT_MAX_IMAGE_PIXELS if max_image_pixels is None
          else max_image_pixels,
          image_coding.DEFAULT_MIN_IMAGE_SIDE if min_image_side is None
          else min_image_side)


def _check_csv_flags(source_dir, source_csv):
  if source_dir and source_csv:
    raise DatasetError(
        '--source_dir and --source_csv cannot be used together: pass '
        '--source_dir for a folder of class subfolders, or --source_csv for '
        'a CSV of image paths and their labels')
  if not source_csv:
    raise DatasetError('--labels_file works only with --source_csv; with '
                       '--source_dir the class names are the subfolder names')


def _run_folder(dataset_dir, source_dir, validation_fraction, num_shards,
                seed, num_workers, max_image_pixels, min_image_side):
  """`run` for a folder of class subfolders."""
  class_names, files_by_class, unusable_by_class = list_images(source_dir)
  _check_args(dataset_dir, source_dir, validation_fraction, num_shards,
              max_image_pixels, min_image_side)
  unusable = [item for name in class_names
              for item in unusable_by_class[name]]
  source = {
      'source_dir': os.path.abspath(source_dir),
      'fingerprint': source_fingerprint(source_dir, files_by_class, unusable),
      'validation_fraction': validation_fraction,
      'seed': seed,
      'requested_num_shards': num_shards,
      'max_image_pixels': max_image_pixels,
      'min_image_side': min_image_side,
  }
  finished_meta = begin_conversion(dataset_dir, source, source_dir)
  if finished_meta:
    return finished_meta

  splits = split_files(class_names, files_by_class, validation_fraction, seed)
  shards_per_split = shard_counts(num_shards, len(splits['train']),
                                  len(splits['validation']))
  read_image = functools.partial(image_coding.read_any_image,
                                 max_pixels=max_image_pixels,
                                 min_side=min_image_side)
  written = _write_splits(dataset_dir, splits, shards_per_split, read_image,
                          num_workers)
  sizes, seconds = written.sizes, written.seconds
  skipped = list(unusable) + written.skipped
  write_skipped_report(dataset_dir, source_dir, skipped)
  _check_every_class_readable(dataset_dir, source_dir, class_names,
                              files_by_class, unusable_by_class, skipped,
                              written.paths)
  for split_name in _SPLITS:
    tfrecord_writer.remove_stale_shards(
        dataset_dir, NAME, split_name, tfrecord_writer.shard_filenames(
            dataset_dir, NAME, split_name, shards_per_split[split_name]))

  meta = {
      'num_classes': len(class_names),
      'splits': sizes,
      'file_pattern': FILE_PATTERN,
      'num_shards': shards_per_split,
      'num_skipped': len(skipped),
      'source': source,
  }
  dataset_utils.write_label_file(dict(enumerate(class_names)), dataset_dir)
  dataset_utils.write_dataset_meta(meta, dataset_dir)
  total = sum(sizes.values())
  logging.info('Converted %d images of %d classes from %s into %s (train %d, '
               'validation %d, skipped %d) in %.1f s (%.0f images/sec).',
               total, len(class_names), source_dir, dataset_dir,
               sizes['train'], sizes['validation'], len(skipped), seconds,
               total / max(seconds, 1e-9))
  return meta
