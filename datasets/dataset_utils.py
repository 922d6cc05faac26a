"""TF-Example feature helpers and label files, as in tf-slim's dataset_utils.

The functions and signatures of `research/slim/datasets/dataset_utils.py` are
kept (`int64_feature`, `bytes_feature`, `float_feature`, `image_to_tfexample`,
`download_and_uncompress_tarball`, `write_label_file`, `has_labels`,
`read_label_file`, ...). What changed underneath: downloads are resumable and
checksummed (`datasets/download.py`), extraction refuses unsafe members
(`datasets/extract.py`), and the label file is written atomically.
"""
import json
import os
import tempfile

from absl import logging
import tensorflow as tf

from datasets import download
from datasets import extract
from datasets.errors import DatasetError
from image_classifier import fileio

LABELS_FILENAME = 'labels.txt'


def _as_list(values):
  return list(values) if isinstance(values, (tuple, list)) else [values]


def _as_bytes(value):
  return value.encode('utf-8') if isinstance(value, str) else value


def int64_feature(values):
  """Returns a TF-Feature of int64s.

  Args:
    values: an int or a list/tuple of ints.

  Returns:
    A `tf.train.Feature`.
  """
  return tf.train.Feature(int64_list=tf.train.Int64List(
      value=_as_list(values)))


def bytes_feature(values):
  """Returns a TF-Feature of bytes.

  Args:
    values: a bytes (or str, UTF-8 encoded) or a list/tuple of them.

  Returns:
    A `tf.train.Feature`.
  """
  return tf.train.Feature(bytes_list=tf.train.BytesList(
      value=[_as_bytes(v) for v in _as_list(values)]))


def bytes_list_feature(values):
  """Returns a TF-Feature of a list of bytes (upstream name)."""
  return bytes_feature(list(values))


def float_feature(values):
  """Returns a TF-Feature of floats.

  Args:
    values: a float or a list/tuple of floats.

  Returns:
    A `tf.train.Feature`.
  """
  return tf.train.Feature(float_list=tf.train.FloatList(
      value=_as_list(values)))


def float_list_feature(values):
  """Returns a TF-Feature of a list of floats (upstream name)."""
  return float_feature(list(values))


def image_to_tfexample(image_data, image_format, height, width, class_id):
  """Returns the TF-Example of one encoded image with its class.

  Args:
    image_data: the encoded image bytes.
    image_format: bytes such as b'jpg' or b'png'.
    height: image height in pixels.
    width: image width in pixels.
    class_id: integer label.

  Returns:
    A `tf.train.Example` with the keys image/encoded, image/format,
    image/class/label, image/height and image/width.
  """
  return tf.train.Example(features=tf.train.Features(feature={
      'image/encoded': bytes_feature(image_data),
      'image/format': bytes_feature(image_format),
      'image/class/label': int64_feature(class_id),
      'image/height': int64_feature(height),
      'image/width': int64_feature(width),
  }))


def result_to_tfexample(result):
  """`image_to_tfexample` of an `image_coding` result (data, format, size,
  label): the `make_example` of the converters that store only the image and
  its class."""
  return image_to_tfexample(result.data, result.format, result.height,
                            result.width, result.label)


def multi_label_image_to_tfexample(image_data, image_format, height, width,
                                   class_ids, class_names):
  """Returns the TF-Example of one encoded image with several classes.

  The single-label layout, with `image/class/label` a list (possibly empty)
  of sorted ids and `image/class/text` their names in the same order, as
  the ImageNet converter stores text.

  Args:
    image_data: the encoded image bytes.
    image_format: bytes such as b'jpg' or b'png'.
    height: image height in pixels.
    width: image width in pixels.
    class_ids: the sorted integer labels.
    class_names: the names of `class_ids`, in the same order.

  Returns:
    A `tf.train.Example`.
  """
  return tf.train.Example(features=tf.train.Features(feature={
      'image/encoded': bytes_feature(image_data),
      'image/format': bytes_feature(image_format),
      'image/class/label': int64_feature(list(class_ids)),
      'image/class/text': bytes_feature(list(class_names)),
      'image/height': int64_feature(height),
      'image/width': int64_feature(width),
  }))


def multi_label_result_to_tfexample(class_names, result):
  """`multi_label_image_to_tfexample` of an `image_coding` result whose
  label is a tuple of sorted class ids; `class_names[id]` names each (bind
  it with functools.partial to get a converter's `make_example`)."""
  return multi_label_image_to_tfexample(
      result.data, result.format, result.height, result.width, result.label,
      [class_names[class_id] for class_id in result.label])


# Where archives go when --dataset_dir is not on the local disk and no
# --scratch_dir is given: a fixed folder, so an interrupted download resumes.
SCRATCH_FOLDER_NAME = 'slim_downloads'


def scratch_dir_for(dataset_dir, scratch_dir=None):
  """The local folder that receives a converter's downloads and extracts.

  Archives are downloaded (resumably, with byte ranges), checked and
  extracted with local file operations; only the converted records go to
  `dataset_dir`, which may be on any filesystem tf.io.gfile knows.

  Args:
    dataset_dir: the dataset folder (local, gs://, ...).
    scratch_dir: --scratch_dir, or None.

  Returns:
    `scratch_dir` if given; else `dataset_dir` if it is local (where the
    original converters downloaded); else `<temp dir>/slim_downloads`.

  Raises:
    DatasetError: `scratch_dir` is not on the local disk.
  """
  if scratch_dir:
    if not fileio.is_local(scratch_dir):
      raise DatasetError(f'--scratch_dir={scratch_dir} must be a local '
                         'folder: archives are downloaded and extracted '
                         'there.')
    return scratch_dir
  if fileio.is_local(dataset_dir):
    return dataset_dir
  return os.path.join(tempfile.gettempdir(), SCRATCH_FOLDER_NAME)


def download_url(url, dataset_dir, sha256=None, mirror=None,
                 verify_checksums=True, retries=None):
  """Downloads `url` into `dataset_dir` (resumable, checksummed).

  Args:
    url: the default URL.
    dataset_dir: destination folder.
    sha256: expected hex SHA-256, or None.
    mirror: optional URL prefix replacing everything before the file name.
    verify_checksums: whether to check `sha256`.
    retries: retries after a transient failure (None: the default).

  Returns:
    The local path of the downloaded file.

  Raises:
    DatasetError: the download failed or did not verify.
  """
  return download.download_file(url, dataset_dir, sha256=sha256, mirror=mirror,
                                verify_checksums=verify_checksums,
                                retries=retries)


def download_and_uncompress_tarball(tarball_url, dataset_dir, sha256=None,
                                    mirror=None, verify_checksums=True,
                                    retries=None):
  """Downloads `tarball_url` and safely uncompresses it into `dataset_dir`.

  Args:
    tarball_url: the default URL of the tarball.
    dataset_dir: folder receiving the tarball and its contents.
    sha256: expected hex SHA-256, or None.
    mirror: optional URL prefix replacing everything before the file name.
    verify_checksums: whether to check `sha256`.
    retries: retries after a transient failure (None: the default).

  Returns:
    The local path of the tarball.

  Raises:
    DatasetError: the download failed or did not verify, or the archive has
      an unsafe member.
  """
  path = download_url(tarball_url, dataset_dir, sha256=sha256, mirror=mirror,
                      verify_checksums=verify_checksums, retries=retries)
  extract.safe_extract(path, dataset_dir)
  return path


def write_label_file(labels_to_class_names, dataset_dir,
                     filename=LABELS_FILENAME):
  """Writes a file with one `label:class_name` a line, atomically.

  The file appears complete or not at all, so converters write it last as the
  mark of a finished dataset.

  Args:
    labels_to_class_names: a dict from int labels to class names.
    dataset_dir: the folder in which to write the labels file.
    filename: the file name.
  """
  fileio.write_atomic(os.path.join(dataset_dir, filename), ''.join(
      '%d:%s\n' % (label, labels_to_class_names[label])
      for label in labels_to_class_names))


def has_labels(dataset_dir, filename=LABELS_FILENAME):
  """Whether `dataset_dir` holds a labels file.

  Args:
    dataset_dir: the folder to look in.
    filename: the file name.

  Returns:
    True if the file exists.
  """
  return tf.io.gfile.exists(os.path.join(dataset_dir, filename))


def split_record_filename(dataset_dir, name, split_name):
  """The path of a dataset's single-file split, `<name>_<split>.tfrecord`."""
  return os.path.join(dataset_dir, '%s_%s.tfrecord' % (name, split_name))


def split_records_finished(dataset_dir, name, split_names):
  """Whether a converter writing one `split_record_filename` per split
  finished in `dataset_dir` (see `conversion_finished`)."""
  return conversion_finished(
      dataset_dir, [split_record_filename(dataset_dir, name, split_name)
                    for split_name in split_names])


def conversion_finished(dataset_dir, paths):
  """Whether a converter finished in `dataset_dir`.

  Converters write the labels file after every record file has its final
  name, so a run that stopped half way is never taken for a finished one.

  Args:
    dataset_dir: the dataset folder.
    paths: the record files a finished conversion has.

  Returns:
    True if the labels file and every path exist.
  """
  return has_labels(dataset_dir) and all(tf.io.gfile.exists(p) for p in paths)


def skip_finished_conversion(dataset_dir, dataset_exists):
  """Creates `dataset_dir`; says whether its conversion is already done.

  Args:
    dataset_dir: the dataset folder (created if needed).
    dataset_exists: fn(dataset_dir) -> whether a finished conversion is
      there (a converter's `dataset_exists`).

  Returns:
    True (after logging that there is nothing to do) if it is, else False.
  """
  tf.io.gfile.makedirs(dataset_dir)
  if dataset_exists(dataset_dir):
    logging.info('Dataset files already exist in %s; nothing to do.',
                 dataset_dir)
    return True
  return False


def read_label_file(dataset_dir, filename=LABELS_FILENAME):
  """Reads a labels file written by `write_label_file`.

  Args:
    dataset_dir: the folder holding the file.
    filename: the file name.

  Returns:
    A dict from int labels to class names.
  """
  with tf.io.gfile.GFile(os.path.join(dataset_dir, filename), 'rb') as f:
    lines = f.read().decode('utf-8').split('\n')
  labels_to_class_names = {}
  for line in filter(None, lines):
    index = line.index(':')
    labels_to_class_names[int(line[:index])] = line[index + 1:]
  return labels_to_class_names


def open_sharded_output_tfrecords(exit_stack, base_path, num_shards):
  """Opens `num_shards` TFRecord writers named `base_path-0000N-of-0000M`.

  Args:
    exit_stack: a `contextlib.ExitStack` that closes the writers.
    base_path: the path prefix of the shards.
    num_shards: the number of shards.

  Returns:
    The list of `tf.io.TFRecordWriter`s.
  """
  return [
      exit_stack.enter_context(tf.io.TFRecordWriter(
          '{}-{:05d}-of-{:05d}'.format(base_path, idx, num_shards)))
      for idx in range(num_shards)
  ]


META_FILENAME = 'dataset_meta.json'


def write_dataset_meta(meta, dataset_dir, filename=META_FILENAME):
  """Writes the metadata file of a converted folder dataset, atomically.

  The custom and shapes converters write it last, as the mark of a finished
  dataset. Readers use `num_classes`, `splits` (split name -> number of
  records) and `file_pattern` (with one '%s' for the split name); other keys
  record how the dataset was made.

  Args:
    meta: a JSON-serializable dict.
    dataset_dir: the dataset folder.
    filename: the file name.
  """
  fileio.write_json_atomic(os.path.join(dataset_dir, filename), meta)


def read_dataset_meta(dataset_dir, filename=META_FILENAME):
  """Returns the metadata dict of a converted dataset, or None if absent.

  Args:
    dataset_dir: the dataset folder.
    filename: the file name.

  Returns:
    The dict written by `write_dataset_meta`, or None if there is no file or
    it is not valid JSON.
  """
  path = os.path.join(dataset_dir, filename)
  if not tf.io.gfile.exists(path):
    return None
  with tf.io.gfile.GFile(path, 'r') as f:
    try:
      return json.loads(f.read())
    except ValueError:
      return None
