"""A network on the batches of a dataset split: the one place that wires
"split -> preprocessing -> batches -> network".

Training, evaluation, validation while training, the batch-norm recompute,
the SavedModel's calibration images, tools/dump_images.py and the input
benchmarks all read a split the same way and differ only in a few facts:
which provider (TRAIN: shuffled and endless; EVAL: one pass in file
order), augmentation, seed, whether the last partial batch is dropped,
how the batches are iterated, and how the network is applied (training
mode, reusing the variables, through a custom getter such as one reading
moving averages). Those facts are a `Reading` and keyword arguments here;
the dataset, model and input facts are the typed records of
image_classifier/specs.py. Each thing is built once per use.

Three stages, each usable alone:

* `model_parts`: the dataset of the split, the class count, the network
  function and the preprocessing function (no graph ops);
* `split_batches`: provider -> preprocessing -> batches (tf.data);
* `on_split`: both, then an iterator over the batches and the network
  applied to its images.

`build` is `on_split(model_parts(...))`.
"""
import collections
import contextlib
import dataclasses
from typing import Any, Optional

import tensorflow as tf

from datasets import dataset_factory
from image_classifier import cli
from image_classifier import inputs
from image_classifier import network
from nets import nets_factory
from preprocessing import preprocessing_factory

tf1 = tf.compat.v1

# Providers.
TRAIN = 'train'  # Shuffled, endlessly repeating (training's buffers).
EVAL = 'eval'  # One pass over the split in file order: each example once.

# Iterators over the batches.
ONE_SHOT = 'one_shot'
INITIALIZABLE = 'initializable'  # Rewound by running `iterator.initializer`.


@dataclasses.dataclass(frozen=True)
class Reading:
  """How one use reads its split.

  Attributes:
    provider: TRAIN or EVAL.
    seed: seed of the shuffles and augmentations (None: random).
    augmentation: a preprocessing.augment.AugmentParams; None: none.
    drop_remainder: drop a last partial batch (static shapes for training).
    repeat: repeat the batches forever.
    with_keys: also give each example's record key.
    iterator: ONE_SHOT, INITIALIZABLE, or None for the batches only (no
      iterator, no network applied: training's clones take the batches).
    train_preprocessing: preprocess as for training; None: as the network
      (the batch-norm recompute runs a training network on eval images).
  """
  provider: str = EVAL
  seed: Optional[int] = None
  augmentation: Any = None
  drop_remainder: bool = False
  repeat: bool = False
  with_keys: bool = False
  iterator: Optional[str] = ONE_SHOT
  train_preprocessing: Optional[bool] = None

  def __post_init__(self):
    if self.provider not in (TRAIN, EVAL):
      raise ValueError(f'Reading.provider must be {TRAIN!r} or {EVAL!r}; '
                       f'received {self.provider!r}.')
    if self.iterator not in (ONE_SHOT, INITIALIZABLE, None):
      raise ValueError(f'Reading.iterator must be {ONE_SHOT!r}, '
                       f'{INITIALIZABLE!r} or None; received '
                       f'{self.iterator!r}.')


# The reading of training: shuffled, endless, static batch shapes.
TRAINING = Reading(provider=TRAIN, drop_remainder=True, repeat=True,
                   iterator=None)


ModelParts = collections.namedtuple(
    'ModelParts',
    ['dataset', 'num_classes', 'network_fn', 'preprocessing_fn',
     'image_size'])
ModelParts.__doc__ = """What a split and a model name: the slim Dataset, the
class count the network is built for (the dataset's less labels_offset),
network_fn, preprocessing_fn and the square image size."""

SplitBatches = collections.namedtuple(
    'SplitBatches', ['provider', 'bad_records', 'batches'])
SplitBatches.__doc__ = """The provider (its data_files name what was read),
the inputs.BadRecords of the split, and the batches (a tf.data.Dataset)."""

ModelOnSplit = collections.namedtuple(
    'ModelOnSplit',
    ModelParts._fields + SplitBatches._fields
    + ('iterator', 'images', 'labels', 'keys', 'logits', 'end_points'))
ModelOnSplit.__doc__ = """ModelParts and SplitBatches, plus the iterator
and its images, labels and keys (None without Reading.with_keys), and the
network's logits and end_points (None where Reading.iterator is None)."""


def open_split(data):
  """The slim Dataset of `data` (a specs.DataSpec)'s split.

  Raises:
    cli.UserError: for an unknown dataset or split.
  """
  with cli.user_input():
    return dataset_factory.get_dataset(data.dataset_name, data.split_name,
                                       data.dataset_dir)


def is_multi_label(dataset):
  """Whether a slim Dataset's labels are lists of class ids (its batches
  then carry [batch, num_classes] multi-hot labels)."""
  return bool(getattr(dataset, 'multi_label', False))


def preprocessing_function(model, is_training):
  """The preprocessing fn(image, height, width) of `model` (a ModelSpec).

  Raises:
    cli.UserError: for an unknown preprocessing name.
  """
  with cli.user_input('--preprocessing_name'):
    return preprocessing_factory.get_preprocessing(
        network.preprocessing_for(model.model_name, model.preprocessing_name),
        is_training=is_training, use_grayscale=model.use_grayscale)


def model_parts(data, model, is_training, train_preprocessing=None,
                **network_kwargs):
  """The dataset, class count, network and preprocessing of a split.

  Args:
    data: a specs.DataSpec naming the split.
    model: a specs.ModelSpec (its precision is the network's).
    is_training: build the network for training.
    train_preprocessing: preprocess as for training; None: `is_training`.
    **network_kwargs: more arguments of `nets_factory.get_network_fn`
      (weight_decay, batch_norm_decay).

  Returns:
    A ModelParts.

  Raises:
    cli.UserError: for an unknown dataset, split or preprocessing name.
  """
  dataset = open_split(data)
  num_classes = dataset.num_classes - data.labels_offset
  network_fn = nets_factory.get_network_fn(
      model.model_name, num_classes=num_classes, is_training=is_training,
      precision=model.precision, **network_kwargs)
  if train_preprocessing is None:
    train_preprocessing = is_training
  preprocessing_fn = preprocessing_function(model, train_preprocessing)
  return ModelParts(dataset, num_classes, network_fn, preprocessing_fn,
                    model.image_size or network_fn.default_image_size)


def split_batches(dataset, input_spec, preprocessing_fn, image_size,
                  reading=Reading(), labels_offset=0, num_classes=None):
  """Batches of a split: provider -> preprocessing -> batches.

  Args:
    dataset: the slim Dataset.
    input_spec: a specs.InputSpec (batch size, preprocessing threads, 0 for
      AUTOTUNE, bad records, readers of the TRAIN provider).
    preprocessing_fn: fn(image, height, width).
    image_size: the square size images are preprocessed to.
    reading: a Reading.
    labels_offset: subtracted from every label.
    num_classes: the label count after the offset (mixup and cutmix, and
      the multi-hot labels of a multi-label dataset).

  Returns:
    A SplitBatches.

  Raises:
    cli.UserError: for a negative max_bad_records or a split without files.
  """
  with cli.user_input('--max_bad_records'):
    bad_records = inputs.BadRecords(input_spec.max_bad_records)
  with cli.user_input('--dataset_dir'):
    if reading.provider == TRAIN:
      provider = inputs.train_provider(
          dataset, input_spec.num_readers, input_spec.batch_size,
          seed=reading.seed, bad_records=bad_records)
    else:
      provider = inputs.eval_provider(dataset, input_spec.batch_size,
                                      bad_records)
  batches = inputs.batched(
      provider, preprocessing_fn, image_size, input_spec.batch_size,
      labels_offset=labels_offset,
      num_threads=input_spec.num_preprocessing_threads,
      drop_remainder=reading.drop_remainder, with_keys=reading.with_keys,
      augmentation=reading.augmentation, num_classes=num_classes,
      seed=reading.seed, multi_label=is_multi_label(dataset))
  if reading.repeat:
    batches = batches.repeat()
  return SplitBatches(provider, bad_records, batches)


def _iterate(batches, kind):
  """(iterator, its get_next() as a tuple) of a ONE_SHOT or INITIALIZABLE
  iterator over `batches`."""
  if kind == ONE_SHOT:
    iterator = tf1.data.make_one_shot_iterator(batches)
  else:
    iterator = tf1.data.make_initializable_iterator(batches)
  return iterator, tuple(iterator.get_next())


def apply_network(network_fn, images, reuse=False, custom_getter=None,
                  name_scope=None):
  """(logits, end_points) of `network_fn` on `images`.

  Args:
    network_fn: from nets_factory.
    images: the batch.
    reuse: use the variables a network built before created.
    custom_getter: a variable-scope custom getter (e.g. one reading moving
      averages of the weights).
    name_scope: a name scope for the ops of this copy of the network.
  """
  # name_scope(None) would leave the caller's scope for the root one.
  with (tf1.name_scope(name_scope) if name_scope
        else contextlib.nullcontext()):
    if not reuse and custom_getter is None:
      return network_fn(images)
    with tf1.variable_scope(tf1.get_variable_scope(), reuse=reuse or None,
                            custom_getter=custom_getter):
      return network_fn(images)


def on_split(parts, data, input_spec, reading=Reading(), reuse=False,
             custom_getter=None, network_scope=None):
  """The network of `parts` on the batches of its split.

  Args:
    parts: a ModelParts (`model_parts`).
    data: the specs.DataSpec it was made from (labels_offset).
    input_spec: a specs.InputSpec.
    reading: a Reading.
    reuse, custom_getter, network_scope: how the network is applied (see
      `apply_network`).

  Returns:
    A ModelOnSplit.
  """
  split = split_batches(parts.dataset, input_spec, parts.preprocessing_fn,
                        parts.image_size, reading, data.labels_offset,
                        parts.num_classes)
  if reading.iterator is None:
    return ModelOnSplit(*parts, *split, None, None, None, None, None, None)
  iterator, batch = _iterate(split.batches, reading.iterator)
  images, labels = batch[:2]
  keys = batch[2] if reading.with_keys else None
  logits, end_points = apply_network(parts.network_fn, images, reuse,
                                     custom_getter, network_scope)
  return ModelOnSplit(*parts, *split, iterator, images, labels, keys,
                      logits, end_points)


def build(data, model, input_spec, is_training, reading=Reading(),
          network_kwargs=None, reuse=False, custom_getter=None,
          network_scope=None):
  """`on_split(model_parts(...))`: a network on a split, built once.

  Args:
    data: a specs.DataSpec.
    model: a specs.ModelSpec.
    input_spec: a specs.InputSpec.
    is_training: build the network for training.
    reading: a Reading.
    network_kwargs: more arguments of `nets_factory.get_network_fn`.
    reuse, custom_getter, network_scope: see `apply_network`.

  Returns:
    A ModelOnSplit.
  """
  parts = model_parts(data, model, is_training, reading.train_preprocessing,
                      **(network_kwargs or {}))
  return on_split(parts, data, input_spec, reading, reuse, custom_getter,
                  network_scope)
