"""Downloads the Flowers dataset and converts it to TFRecords of TF-Examples.

  python download_and_convert_data.py --dataset_name=flowers --dataset_dir=/tmp/flowers

Output, as the original converter wrote it: `flowers_train_0000N-of-00005.tfrecord`
(3,320 images) and `flowers_validation_0000N-of-00005.tfrecord` (350 images)
holding the original JPEG bytes (image/format b'jpg'), plus labels.txt
(0:daisy ... 4:tulips). Class ids follow the sorted class folder names; the
photos are shuffled with `random.seed(0)` and the first 350 form the
validation split. One difference: the original listed files in `os.listdir`
order, which depends on the file system, so its split could differ between
machines; here folders and files are sorted before the shuffle, so the split
is the same everywhere.

The archive (228 MB) is downloaded resumably and checked against its SHA-256;
the archive and the extracted photos are deleted once the records are
written.
"""
import os
import random
import shutil

from absl import logging

from datasets import dataset_utils
from datasets import image_coding
from datasets import tfrecord_writer

NAME = 'flowers'
DATA_URL = 'https://download.tensorflow.org/example_images/flower_photos.tgz'
SHA256 = '4c54ace7911aaffe13a365c34f650e71dd5bf1be0a58b464e5a7183e3e595d9c'
NUM_VALIDATION = 350
RANDOM_SEED = 0
NUM_SHARDS = 5
_PHOTO_DIR = 'flower_photos'


def get_filenames_and_classes(dataset_dir):
  """Returns the photo paths (sorted) and the sorted class names.

  Args:
    dataset_dir: folder holding the extracted `flower_photos/<class>/*`.

  Returns:
    (photo_filenames, class_names).
  """
  flower_root = os.path.join(dataset_dir, _PHOTO_DIR)
  class_names = sorted(
      name for name in os.listdir(flower_root)
      if os.path.isdir(os.path.join(flower_root, name)))
  photo_filenames = []
  for class_name in class_names:
    directory = os.path.join(flower_root, class_name)
    photo_filenames.extend(
        os.path.join(directory, name) for name in sorted(os.listdir(directory)))
  return photo_filenames, class_names


def output_filenames(dataset_dir):
  """Returns {split: [shard paths]} of the converted dataset."""
  return {split: tfrecord_writer.shard_filenames(dataset_dir, NAME, split,
                                                 NUM_SHARDS)
          for split in ('train', 'validation')}


def dataset_exists(dataset_dir):
  """Whether a finished conversion is in `dataset_dir`.

  The labels file is written after every shard has its final name, so a run
  that stopped half way is never taken for a finished one.
  """
  return dataset_utils.conversion_finished(
      dataset_dir, [path for paths in output_filenames(dataset_dir).values()
                    for path in paths])


def _convert_split(split_name, filenames, class_names_to_ids, dataset_dir,
                   num_workers):
  tasks = [(path, class_names_to_ids[os.path.basename(os.path.dirname(path))])
           for path in filenames]
  paths = output_filenames(dataset_dir)[split_name]
  # The original's shard sizes: ceil(n / 5) per shard, the last one smaller.
  per_shard = -(-len(tasks) // NUM_SHARDS)
  shards = [(path, tasks[i * per_shard:(i + 1) * per_shard])
            for i, path in enumerate(paths)]
  stats = tfrecord_writer.write_shards(
      shards, image_coding.read_jpeg, dataset_utils.result_to_tfexample,
      num_workers=num_workers, desc='flowers ' + split_name)
  for skipped in stats.skipped:
    logging.warning('Skipped %s: %s', skipped.name, skipped.reason)
  return stats


def run(dataset_dir, mirror=None, verify_checksums=True, retries=None,
        num_workers=None, scratch_dir=None,
        seed=None, sha256=SHA256, num_validation=NUM_VALIDATION):
  """Downloads and converts the Flowers dataset into `dataset_dir`.

  Args:
    dataset_dir: the folder receiving the records (created if needed).
    mirror: optional URL prefix replacing everything before the file name.
    verify_checksums: whether to check the archive's SHA-256.
    retries: download retries after a transient failure (None: default).
    num_workers: worker processes (None: automatic; 0 or 1: none).
    scratch_dir: local folder for the archive and its extracted photos
      (None: see `dataset_utils.scratch_dir_for`).
    seed: shuffle seed (None: 0, the original's; another value changes the
      split).
    sha256: expected SHA-256 of the archive (tests pass their own).
    num_validation: size of the validation split (tests pass a small one).

  Raises:
    DatasetError: the download failed or did not verify, or the archive is
      unsafe.
  """
  if dataset_utils.skip_finished_conversion(dataset_dir, dataset_exists):
    return
  scratch_dir = dataset_utils.scratch_dir_for(dataset_dir, scratch_dir)
  archive = dataset_utils.download_and_uncompress_tarball(
      DATA_URL, scratch_dir, sha256=sha256, mirror=mirror,
      verify_checksums=verify_checksums, retries=retries)
  photo_filenames, class_names = get_filenames_and_classes(scratch_dir)
  class_names_to_ids = dict(zip(class_names, range(len(class_names))))

  # Divide into train and test, as the original did.
  random.Random(RANDOM_SEED if seed is None else seed).shuffle(photo_filenames)
  validation_filenames = photo_filenames[:num_validation]
  training_filenames = photo_filenames[num_validation:]

  all_stats = []
  for split_name, filenames in (('train', training_filenames),
                                ('validation', validation_filenames)):
    all_stats.append(_convert_split(split_name, filenames,
                                    class_names_to_ids, dataset_dir,
                                    num_workers))

  dataset_utils.write_label_file(dict(enumerate(class_names)), dataset_dir)
  os.remove(archive)
  shutil.rmtree(os.path.join(scratch_dir, _PHOTO_DIR))
  tfrecord_writer.log_finished('converting the Flowers dataset', all_stats)
