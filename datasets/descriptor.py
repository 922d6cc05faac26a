"""Datasets as records: one `DatasetDescriptor` per dataset, one `get_split`.

The original slim repeated a 97-line module per dataset that differed only
in a file pattern, split sizes, class count and a few decoder details. Here
those facts are a record, and `DatasetDescriptor.get_split` turns them into a
`slim.dataset.Dataset`:

    FLOWERS = DatasetDescriptor(
        name='flowers', file_pattern='flowers_%s_*.tfrecord',
        splits_to_sizes={'train': 3320, 'validation': 350}, num_classes=5,
        items_to_descriptions={...}, default_format='png')
    dataset = FLOWERS.get_split('train', '/data/flowers')

Every descriptor decodes the common slim TF-Example layout (`image/encoded`,
`image/format`, `image/class/label`) into the items `image` and `label`;
`extra_features` / `extra_handlers` add more (ImageNet's boxes). In a
multi-label dataset (`multi_label=True`, or `"multi_label": true` in its
meta file) `image/class/label` is a list and the item `label` a 1-D int64
tensor of the image's class ids, of varying length (see
datasets/multi_label.py for the multi-hot vector training wants). A
descriptor whose `splits_to_sizes` is None reads the split sizes, class count
and file pattern from `<dataset_dir>/dataset_meta.json`, written by its
converter:

    {"num_classes": 3, "splits": {"train": 300, "validation": 60},
     "file_pattern": "custom_%s_*.tfrecord", "multi_label": true}
"""
import dataclasses
import json
import os
from typing import Mapping, Optional, Tuple

import tensorflow as tf

from slim.data import dataset as slim_dataset
from slim.data import tfexample_decoder

__all__ = ['DatasetDescriptor', 'META_FILENAME', 'LABELS_FILENAME',
           'bounding_box_features', 'bounding_box_handler']

META_FILENAME = 'dataset_meta.json'
LABELS_FILENAME = 'labels.txt'

_BBOX_PREFIX = 'image/object/bbox/'


def bounding_box_features():
  """The feature specs of slim's object boxes, `image/object/bbox/xmin`
  ... `ymax` (for `extra_features` of a dataset that has them)."""
  return {_BBOX_PREFIX + side: tf.io.VarLenFeature(tf.float32)
          for side in ('xmin', 'ymin', 'xmax', 'ymax')}


def bounding_box_handler():
  """The handler of the item `object/bbox`: [N, 4] boxes as ymin, xmin,
  ymax, xmax in relative coordinates."""
  return tfexample_decoder.BoundingBox(['ymin', 'xmin', 'ymax', 'xmax'],
                                       _BBOX_PREFIX)


@dataclasses.dataclass(frozen=True)
class DatasetDescriptor:
  """The facts about one dataset that reading it needs.

  Attributes:
    name: the dataset name, as given to `--dataset_name`.
    file_pattern: the files of a split, relative to dataset_dir, with `%s`
      for the split name (e.g. 'flowers_%s_*.tfrecord').
    splits_to_sizes: a dict split name -> number of examples, or None to read
      it from the dataset's `dataset_meta.json`.
    num_classes: the number of classes (None: from `dataset_meta.json`).
    items_to_descriptions: a dict item name -> description.
    image_shape: a fixed [height, width, channels] shape of every image, or
      None for images of varying size.
    channels: the number of channels images are decoded to.
    default_format: the image format assumed when a record has none.
    default_label: the label assumed when a record has none.
    extra_features: feature specs parsed besides the common three.
    extra_handlers: item handlers besides `image` and `label`.
    meta_filename: the JSON file holding sizes and classes when
      `splits_to_sizes` is None.
    labels_filename: the `N:name` label file read into `labels_to_names`
      when present.
    multi_label: whether a record holds a list of labels; a descriptor
      reading `dataset_meta.json` also learns it from there.
  """
  name: str
  file_pattern: str
  splits_to_sizes: Optional[Mapping[str, int]]
  num_classes: Optional[int]
  items_to_descriptions: Mapping[str, str]
  image_shape: Optional[Tuple[int, int, int]] = None
  channels: int = 3
  default_format: str = 'jpeg'
  default_label: int = 0
  extra_features: Mapping[str, object] = dataclasses.field(
      default_factory=dict)
  extra_handlers: Mapping[str, tfexample_decoder.ItemHandler] = (
      dataclasses.field(default_factory=dict))
  meta_filename: str = META_FILENAME
  labels_filename: str = LABELS_FILENAME
  multi_label: bool = False

  # ------------------------------------------------------------ decoding

  def keys_to_features(self, multi_label=None):
    """The feature specs of a record, for `TFExampleDecoder`.

    Args:
      multi_label: whether the label is a list (None: `self.multi_label`).
    """
    if multi_label is None:
      multi_label = self.multi_label
    features = {
        'image/encoded': tf.io.FixedLenFeature((), tf.string,
                                               default_value=''),
        'image/format': tf.io.FixedLenFeature(
            (), tf.string, default_value=self.default_format),
        'image/class/label': (
            tf.io.VarLenFeature(tf.int64) if multi_label else
            tf.io.FixedLenFeature((), tf.int64,
                                  default_value=self.default_label)),
    }
    features.update(self.extra_features)
    return features

  def items_to_handlers(self):
    """The item handlers, for `TFExampleDecoder`."""
    handlers = {
        'image': tfexample_decoder.Image(
            'image/encoded', 'image/format',
            shape=list(self.image_shape) if self.image_shape else None,
            channels=self.channels),
        'label': tfexample_decoder.Tensor('image/class/label'),
    }
    handlers.update(self.extra_handlers)
    return handlers

  def decoder(self, multi_label=None):
    """A `TFExampleDecoder` for this dataset's records.

    Args:
      multi_label: whether the label is a list (None: `self.multi_label`).
    """
    return tfexample_decoder.TFExampleDecoder(
        self.keys_to_features(multi_label), self.items_to_handlers())

  # ------------------------------------------------------------- splits

  def read_meta(self, dataset_dir):
    """Reads split sizes, class count and file pattern from dataset_dir.

    Args:
      dataset_dir: the directory holding the converted dataset.

    Returns:
      A tuple (splits_to_sizes, num_classes, file_pattern); file_pattern is
      None when the file does not give one.

    Raises:
      ValueError: if the meta file is missing or malformed.
    """
    return self._meta_facts(dataset_dir)[:3]

  def is_multi_label(self, dataset_dir=None):
    """Whether the dataset's records hold a list of labels per image.

    A descriptor that reads its facts from `dataset_meta.json` (custom)
    learns it there (`"multi_label": true`), so it needs `dataset_dir`.

    Args:
      dataset_dir: the directory holding the converted dataset.

    Returns:
      A bool.

    Raises:
      ValueError: if the meta file is needed and missing or malformed.
    """
    if self.multi_label or self.splits_to_sizes is not None:
      return self.multi_label
    if dataset_dir is None or not str(dataset_dir):
      raise ValueError(
          f'dataset_dir is required to tell whether the {self.name} dataset '
          f'is multi-label (its {self.meta_filename} says); received '
          f'{dataset_dir!r}.')
    return self._meta_facts(str(dataset_dir))[3]

  def _meta_facts(self, dataset_dir):
    """(splits_to_sizes, num_classes, file_pattern, multi_label) from the
    meta file (see `read_meta`)."""
    path = os.path.join(dataset_dir, self.meta_filename)
    if not tf.io.gfile.exists(path):
      raise ValueError(
          f'dataset_dir: {dataset_dir} has no {self.meta_filename}, which '
          f'the {self.name} converter writes; convert the data first with '
          f'download_and_convert_data.py --dataset_name={self.name} '
          f'--dataset_dir={dataset_dir}.')
    try:
      with tf.io.gfile.GFile(path, 'r') as f:
        meta = json.load(f)
      splits = {str(split): int(size)
                for split, size in meta['splits'].items()}
      num_classes = int(meta['num_classes'])
      file_pattern = meta.get('file_pattern')
      multi_label = meta.get('multi_label', False)
      if not isinstance(multi_label, bool):
        raise TypeError(f'"multi_label" must be true or false, not '
                        f'{multi_label!r}')
    except (ValueError, KeyError, TypeError, AttributeError) as error:
      raise ValueError(
          f'{path} is not a valid dataset meta file ({error!r}); expected '
          'JSON like {"num_classes": 3, "splits": {"train": 300, '
          '"validation": 60}, "file_pattern": "name_%s_*.tfrecord"}.'
      ) from None
    return splits, num_classes, file_pattern, self.multi_label or multi_label

  def get_split(self, split_name, dataset_dir, file_pattern=None,
                reader=None):
    """Describes one split of the dataset stored in `dataset_dir`.

    Args:
      split_name: the split, e.g. 'train' or 'validation'.
      dataset_dir: the directory holding the TFRecords (and labels.txt).
      file_pattern: overrides the descriptor's pattern; `%s` is replaced by
        the split name. Relative patterns are taken inside dataset_dir.
      reader: how to read a file (see `slim.dataset.Dataset`); None reads
        TFRecords with tf.data.TFRecordDataset.

    Returns:
      A `slim.dataset.Dataset` with attributes num_classes,
      labels_to_names (None without a labels file), name and multi_label
      (whether its item `label` is a list of class ids).

    Raises:
      ValueError: if the split is unknown, dataset_dir is missing or not a
        directory, or no file matches the split's pattern.
    """
    if self.splits_to_sizes is not None:
      self._check_split(split_name, self.splits_to_sizes)
    if dataset_dir is None or not str(dataset_dir):
      raise ValueError(
          f'dataset_dir is required to read the {self.name} dataset; '
          f'received {dataset_dir!r}.')
    dataset_dir = str(dataset_dir)
    if not tf.io.gfile.exists(dataset_dir):
      raise ValueError(f'dataset_dir: {dataset_dir} does not exist; give the '
                       f'directory holding the converted {self.name} '
                       'TFRecords.')
    if not tf.io.gfile.isdir(dataset_dir):
      raise ValueError(f'dataset_dir: {dataset_dir} is not a directory; give '
                       f'the directory holding the converted {self.name} '
                       'TFRecords.')

    splits_to_sizes, num_classes = self.splits_to_sizes, self.num_classes
    default_pattern, multi_label = self.file_pattern, self.multi_label
    if splits_to_sizes is None:
      splits_to_sizes, num_classes, meta_pattern, multi_label = (
          self._meta_facts(dataset_dir))
      default_pattern = meta_pattern or default_pattern
      self._check_split(split_name, splits_to_sizes)

    data_sources = os.path.join(
        dataset_dir, self._expand(file_pattern or default_pattern, split_name))
    if not tf.io.gfile.glob(data_sources):
      raise ValueError(
          f'No files match {data_sources} for split {split_name!r} of the '
          f'{self.name} dataset; create them with download_and_convert_data.py'
          f' --dataset_name={self.name} --dataset_dir={dataset_dir}, or pass '
          'the right --dataset_dir / file_pattern.')

    return slim_dataset.Dataset(
        data_sources=data_sources,
        reader=reader or tf.data.TFRecordDataset,
        decoder=self.decoder(multi_label),
        num_samples=splits_to_sizes[split_name],
        items_to_descriptions=dict(self.items_to_descriptions),
        num_classes=num_classes,
        labels_to_names=self._labels_to_names(dataset_dir),
        name=self.name,
        multi_label=multi_label)

  # ------------------------------------------------------------- helpers

  def _check_split(self, split_name, splits_to_sizes):
    if split_name not in splits_to_sizes:
      raise ValueError(
          f'split_name: the {self.name} dataset has no split {split_name!r}; '
          f'valid splits are {sorted(splits_to_sizes)}.')

  @staticmethod
  def _expand(pattern, split_name):
    if '%' not in pattern:
      return pattern
    try:
      return pattern % split_name
    except (TypeError, ValueError):
      raise ValueError(
          f'file_pattern: {pattern!r} must contain one %s for the split name '
          'and no other % directive.') from None

  def _labels_to_names(self, dataset_dir):
    if not tf.io.gfile.exists(os.path.join(dataset_dir, self.labels_filename)):
      return None
    # Imported here: dataset_utils also carries the download helpers.
    from datasets import dataset_utils  # pylint: disable=g-import-not-at-top
    return dataset_utils.read_label_file(dataset_dir, self.labels_filename)
