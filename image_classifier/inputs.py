"""The tf.data input pipeline shared by training and evaluation.

records -> DatasetDataProvider (parallel interleave over shards, parallel
decode) -> preprocessing in a parallel map -> label offset -> batch ->
prefetch. This replaces the original's queue runners (provider queue,
tf.train.batch and prefetch_queue) with one tf.data graph.

Augmentation (preprocessing/augment.py), only when asked for: RandAugment
before and random erasing after the preprocessing, in the same parallel map,
each example with its own seed; mixup/cutmix on each batch. With every
augmentation off the graph is exactly the plain one.

A multi-label dataset's label is a list of class ids of varying length: the
per-example map turns it into a multi-hot [num_classes] float vector
(datasets.multi_label.multi_hot) so that it batches; mixup and cutmix then
mix those vectors.
"""
import contextlib
import threading
import warnings

import tensorflow as tf

from datasets import multi_label as multi_label_lib
from image_classifier import cli
from preprocessing import augment
from slim.data import dataset_data_provider

tf1 = tf.compat.v1


class BadRecords:
  """The undecodable records of a split (--max_bad_records): with a limit
  of 0 the first one fails the run, naming it (`fail_undecodable`); with N
  the input skips up to N, which are counted here (`note`), and one more
  fails the run.

  Attributes:
    limit: how many different records may be skipped (training meets the
      same ones again each epoch).
    keys: the record keys ('<file>:<index>') of those skipped, in the order
      first met.
    dataset: the slim.dataset.Dataset read (set by the provider functions).
  """

  def __init__(self, limit):
    if limit < 0:
      raise ValueError(f'--max_bad_records={limit} must be >= 0.')
    self.limit = limit
    self.keys = []
    self.dataset = None
    self._seen = set()
    self._lock = threading.Lock()  # tf.data calls `note` from its threads.

  def note(self, key):
    """Counts a skipped record; whether the count is within the limit."""
    with self._lock:
      if key not in self._seen:
        self._seen.add(key)
        self.keys.append(key)
        tf1.logging.warning('Skipped undecodable record %s (%d of at most '
                            '%d).', key, len(self.keys), self.limit)
      return len(self.keys) <= self.limit

  def on_undecodable(self):
    """The provider's `on_undecodable`: None (fail) for a limit of 0."""
    return self.note if self.limit else None

  def summary(self):
    """'skipped N undecodable record(s) (first: <key>)', or None."""
    if not self.keys:
      return None
    return (f'skipped {len(self.keys)} undecodable record(s) '
            f'(first: {self.keys[0]})')


def _watched(dataset, bad_records):
  if bad_records is None:
    return None
  bad_records.dataset = dataset
  return bad_records.on_undecodable()


def train_provider(dataset, num_readers, batch_size, seed=None,
                   bad_records=None):
  """Shuffled, endlessly repeating provider with the original's buffers;
  skips undecodable records as `bad_records` (a BadRecords) allows."""
  return dataset_data_provider.DatasetDataProvider(
      dataset, num_readers=num_readers, shuffle=True,
      common_queue_capacity=20 * batch_size,
      common_queue_min=10 * batch_size, seed=seed,
      on_undecodable=_watched(dataset, bad_records))


def eval_provider(dataset, batch_size, bad_records=None):
  """One pass over the split, in file order: every example counted once;
  undecodable records skipped as `bad_records` (a BadRecords) allows."""
  return dataset_data_provider.DatasetDataProvider(
      dataset, shuffle=False, num_epochs=1,
      common_queue_capacity=2 * batch_size, common_queue_min=batch_size,
      on_undecodable=_watched(dataset, bad_records))


def batched(provider, preprocessing_fn, image_size, batch_size,
            labels_offset=0, num_threads=None, drop_remainder=False,
            with_keys=False, augmentation=None, num_classes=None,
            seed=None, multi_label=False):
  """(images, labels) batches as a tf.data.Dataset.

  Args:
    provider: a DatasetDataProvider.
    preprocessing_fn: fn(image, height, width) from preprocessing_factory.
    image_size: the square size images are preprocessed to.
    batch_size: examples per batch.
    labels_offset: subtracted from every label (1 for 1000-class networks
      on the 1001-class ImageNet records).
    num_threads: parallel preprocessing calls; None for AUTOTUNE.
    drop_remainder: drop a last partial batch (training wants static
      shapes; evaluation wants every example).
    with_keys: also give each example's record key ('<file>:<index>',
      see DatasetDataProvider), for reports that name examples.
    augmentation: an augment.AugmentParams; None or all off: none.
    num_classes: the label count (after labels_offset), needed by mixup
      and cutmix to build one-hot labels, and by multi-label data.
    seed: seed of the augmentations (None: random). An example's
      augmentation depends on its position in the stream and the seed, not
      on how many threads preprocess. A seed also keeps the parallel
      preprocessing in order, so batches are the same on every run.
    multi_label: each example's label is a list of class ids (a
      multi-label dataset); it becomes a multi-hot vector.

  Returns:
    A dataset of (images [batch, size, size, C] float32, labels [batch]
    int64), with keys [batch] string as a third element if with_keys. With
    mixup or cutmix the labels are [batch, num_classes] float32 mixtures;
    with multi_label, [batch, num_classes] float32 multi-hot vectors (mixed
    by mixup and cutmix).

  Raises:
    ValueError: for mixup, cutmix or multi_label without num_classes.
  """
  per_image = augmentation is not None and augmentation.per_image
  per_batch = augmentation is not None and augmentation.per_batch
  if per_batch and not num_classes:
    raise ValueError('mixup and cutmix need num_classes to build one-hot '
                     f'labels; received num_classes={num_classes!r}.')
  if multi_label and not num_classes:
    raise ValueError('multi-label data needs num_classes to build '
                     'multi-hot labels; received '
                     f'num_classes={num_classes!r}.')

  @dataset_data_provider.graph_function
  def prepare(example, image_seed=None):
    if per_image:
      image = augment.augment_image(
          example['image'],
          lambda image: preprocessing_fn(image, image_size, image_size),
          augmentation, image_seed)
    else:
      image = preprocessing_fn(example['image'], image_size, image_size)
    if multi_label:
      label = multi_label_lib.multi_hot(example['label'], num_classes,
                                        labels_offset)
    else:
      label = example['label'] - labels_offset
    if with_keys:
      return image, label, example['record_key']
    return image, label

  examples = provider.tf_dataset
  if per_image:
    examples = tf.data.Dataset.zip((examples, augment.seed_dataset(seed)))
  num_parallel_calls = num_threads or tf.data.AUTOTUNE
  if seed is not None and _draws_stateful_random(prepare,
                                                 examples.element_spec):
    # Parallel calls share a stateful random op's generator, so which
    # example gets which crop or flip depends on thread timing: with a seed,
    # preprocess one example at a time, as tf.config.experimental.
    # enable_op_determinism does.
    num_parallel_calls = 1
  with _seeded_from_the_graph():
    examples = examples.map(
        prepare, num_parallel_calls=num_parallel_calls,
        # Training (drop_remainder) takes examples as they are ready, unless
        # a seed asks for the same batches on every run.
        deterministic=not drop_remainder or seed is not None)
  batches = examples.batch(batch_size, drop_remainder=drop_remainder)
  if per_batch:
    batches = tf.data.Dataset.zip(
        (batches, augment.seed_dataset(seed, salt=1))).map(
            dataset_data_provider.graph_function(
                lambda batch, batch_seed: _mixed(batch, batch_seed,
                                                 augmentation, num_classes,
                                                 multi_label)),
            num_parallel_calls=tf.data.AUTOTUNE)
  return batches.prefetch(tf.data.AUTOTUNE).with_options(PIPELINE_OPTIONS)


@contextlib.contextmanager
def _seeded_from_the_graph():
  """Hides tf.data's warning that a map's random ops take the graph seed.

  With --seed (tf1.set_random_seed) every map that draws warns 'Seed N from
  outer graph might be getting used by function ...': that is what a seed
  is for here, so the warning is noise.
  """
  with warnings.catch_warnings():
    warnings.filterwarnings('ignore', message=r'Seed .* from outer graph',
                            category=UserWarning)
    yield


def _draws_stateful_random(fn, element_spec):
  """Whether `fn`, traced on `element_spec`, has a stateful random op.

  Stateless random ops are 'StatelessRandom*'; the stateful ones
  (RandomUniform, RandomShuffle, TruncatedNormal ...) draw from a generator
  that parallel calls share. Nested functions (cond, while) are looked into.
  """
  if not isinstance(element_spec, tuple):
    element_spec = (element_spec,)
  graph_def = tf.function(fn, autograph=False).get_concrete_function(
      *element_spec).graph.as_graph_def()
  ops = {node.op for node in graph_def.node}
  for function in graph_def.library.function:
    ops.update(node.op for node in function.node_def)
  return any(op.startswith('Random') or op in _STATEFUL_RANDOM_OPS
             for op in ops)


_STATEFUL_RANDOM_OPS = frozenset({
    'TruncatedNormal', 'ParameterizedTruncatedNormal', 'Multinomial',
    'RandomGammaGrad'})


def _without_autotune():
  """tf.data options that turn off the autotuning thread.

  Its optimization period doubles up to a minute over a long run, and
  closing the session waits for it to wake: training sat up to ~45 s
  between its last checkpoint and exit, evaluation seconds after its last
  batch. Without it, AUTOTUNE parallelism is the core count and prefetch
  keeps a fixed buffer; measured on the shapes data (2 cores), input
  throughput was the same or better (inception 224: 1400-1600 img/s with
  autotune, 1580-2490 without).
  """
  options = tf.data.Options()
  options.autotune.enabled = False
  return options


# The options of every batched pipeline.
PIPELINE_OPTIONS = _without_autotune()


def _mixed(batch, seed, augmentation, num_classes, multi_label=False):
  """A batch with mixup or cutmix applied and its one-hot (or, with
  multi_label, multi-hot) labels mixed."""
  images, labels = batch[0], batch[1]
  targets = labels if multi_label else tf.one_hot(labels, num_classes)
  images, labels = augment.mix_batch(images, targets, augmentation, seed)
  return (images, labels) + tuple(batch[2:])


def iterator_get_next(batches):
  """get_next() of a one-shot iterator over `batches`, for a tf1 graph."""
  return tf1.data.make_one_shot_iterator(batches).get_next()


def fail_unreadable(error, data_files):
  """Fails with one line for a DataLossError raised while reading records.

  Args:
    error: the tf.errors.DataLossError.
    data_files: the record files read (names the corrupt one if it can).
  """
  message = dataset_data_provider.corrupt_record_message(data_files)
  cli.fail(message or f'Unreadable input data: {error.message}')


def fail_undecodable(error, bad_records):
  """Fails with one line if an InvalidArgumentError of a session run came
  from a record that does not decode; re-raises it otherwise (a bug).

  Args:
    error: the tf.errors.InvalidArgumentError.
    bad_records: the BadRecords the providers were given.

  Raises:
    cli.UserError: naming the record (its file and index).
    tf.errors.InvalidArgumentError: `error`, if no record is at fault.
  """
  if bad_records is None or 'IteratorGetNext' not in error.message:
    raise error
  if bad_records.limit:
    if len(bad_records.keys) <= bad_records.limit:
      raise error
    cli.fail(f'more than --max_bad_records={bad_records.limit} records do '
             f'not decode (the last: {bad_records.keys[-1]}); re-create '
             'the dataset, or raise --max_bad_records.')
  found = dataset_data_provider.find_undecodable_record(bad_records.dataset)
  if found is None:
    raise error
  filename, index, reason = found
  cli.fail(f'record {index} of {filename} does not decode ({reason}); '
           're-create the file, or pass --max_bad_records=N to skip up to '
           'N such records.')
