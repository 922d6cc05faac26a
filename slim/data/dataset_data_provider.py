"""`DatasetDataProvider`: TF-Slim's provider, built on tf.data.

    provider = slim.dataset_data_provider.DatasetDataProvider(
        dataset, num_readers=4, common_queue_capacity=20 * batch_size,
        common_queue_min=10 * batch_size)
    image, label = provider.get(['image', 'label'])   # one example

The constructor keeps the original signature; there are no queue runners.
The pipeline is

    files (shuffled when shuffle=True) -> repeat(num_epochs)
      -> interleave(reader, cycle_length=num_readers, parallel)
      -> shuffle(common_queue_capacity) when shuffle=True
      -> map(decoder.decode, AUTOTUNE) -> prefetch(AUTOTUNE)

`get` returns the tensors of one example from an iterator over that
pipeline; it works in a `tf.compat.v1.Session` and a `MonitoredSession`
without extra set-up. `tf_dataset` gives the pipeline itself (a dataset of
dicts item name -> tensor, before prefetch), so a training script can map
preprocessing and batch inside tf.data, which is much faster than batching
single examples in the graph.

Each example also carries a `record_key` item, '<file name>:<record index>'.
tf.data's DataLossError for a corrupt file does not name the file; call
`find_corrupt_record_file(provider.data_files)` to find it. A record that
reads but does not decode (an image field holding other bytes) fails the
pipeline with an InvalidArgumentError: `find_undecodable_record(dataset)`
names it, and `on_undecodable` skips such records instead.

The functions given to tf.data (reading, decoding) are traced as they are
written, without autograph: TF-Slim code is graph-mode code, whose Python
`if` and `for` never touch a tensor (it uses tf.cond and friends), so
autograph's transpiling of the decoder and of every function it calls
built the very same graph and was about half of a script's graph
construction time (`graph_function`).
"""
import re

import tensorflow as tf

from slim.data import data_provider

tf1 = tf.compat.v1

__all__ = ['DatasetDataProvider', 'corrupt_record_message',
           'find_corrupt_record_file', 'find_undecodable_record',
           'get_data_files', 'graph_function']

_GLOB_CHARS = ('*', '?', '[')


def graph_function(fn):
  """`fn` marked for tf.data to trace as written, without autograph.

  Slim-style code builds its graph with explicit ops (tf.cond,
  tf.while_loop), so autograph would only spend time converting it, and
  every function it calls, into the same graph.

  Args:
    fn: a function for `Dataset.map`, `interleave`, `flat_map` ...

  Returns:
    `fn`, wrapped by `tf.autograph.experimental.do_not_convert`.
  """
  return tf.autograph.experimental.do_not_convert(fn)


def get_data_files(data_sources):
  """Expands file patterns into a sorted list of existing file names.

  Args:
    data_sources: a file name, a glob pattern, or a list/tuple of either.

  Returns:
    A list of file names: each pattern's matches sorted, in source order.

  Raises:
    ValueError: naming the pattern that matches nothing or the file that
      does not exist (as TF-Slim's `parallel_reader.get_data_files` named
      the pattern), or if `data_sources` is an empty list.
  """
  if isinstance(data_sources, (list, tuple)):
    sources = list(data_sources)
  else:
    sources = [data_sources]
  data_files = []
  for source in sources:
    source = str(source)
    if any(char in source for char in _GLOB_CHARS):
      matches = sorted(tf.io.gfile.glob(source))
      if not matches:
        raise ValueError(f'data_sources: no files match {source!r}; give '
                         'existing file names or glob patterns that match '
                         'some.')
      data_files.extend(matches)
    elif tf.io.gfile.exists(source):
      data_files.append(source)
    else:
      raise ValueError(f'data_sources: file {source!r} does not exist.')
  if not data_files:
    raise ValueError(f'data_sources: no files match {data_sources!r}; give '
                     'existing file names or glob patterns that match some.')
  return data_files


def files_dataset(data_files, shuffle=True, num_epochs=None, seed=None):
  """The file names to read, as the filename queue of TF-Slim held them.

  Args:
    data_files: a list of file names (see `get_data_files`).
    shuffle: shuffle the file order, anew each epoch.
    num_epochs: passes over the files; None for forever.
    seed: seed of the file shuffle.

  Returns:
    A `tf.data.Dataset` of file names (string scalars).
  """
  files = tf.data.Dataset.from_tensor_slices(list(data_files))
  if shuffle:
    files = files.shuffle(len(data_files), seed=seed,
                          reshuffle_each_iteration=True)
  return files.repeat(num_epochs)


def interleave_records(files, read_file, num_readers, deterministic=True):
  """Reads `num_readers` files at once and merges their records.

  Args:
    files: a `tf.data.Dataset` of file names.
    read_file: fn(file name tensor) -> `tf.data.Dataset` of one file's
      records (any structure, e.g. (key, record)); traced without autograph.
    num_readers: files read in parallel (interleave cycle_length); the
      records are merged round-robin, one from each file in turn.
    deterministic: keep that round-robin order; False delivers records as
      soon as ready (faster; the order then varies between runs).

  Returns:
    A `tf.data.Dataset` of the records of all files.
  """
  read_file = graph_function(read_file)
  if num_readers == 1:
    return files.flat_map(read_file)
  return files.interleave(
      read_file, cycle_length=num_readers, block_length=1,
      num_parallel_calls=num_readers, deterministic=deterministic)


def _record_dataset_fn(reader, reader_kwargs):
  """Returns fn(filename) -> tf.data.Dataset of serialized records."""
  if reader is None or (isinstance(reader, type) and
                        issubclass(reader, tf1.TFRecordReader)):
    reader = tf.data.TFRecordDataset
  elif isinstance(reader, type) and issubclass(reader, tf1.ReaderBase):
    raise TypeError(
        f'dataset.reader: the queue-based reader {reader.__name__} is not '
        'supported; use tf1.TFRecordReader or a callable '
        'reader(filename, **reader_kwargs) returning a tf.data.Dataset, such '
        'as tf.data.TFRecordDataset.')
  elif not callable(reader):
    raise TypeError('dataset.reader must be None, tf1.TFRecordReader or a '
                    'callable returning a tf.data.Dataset; received '
                    f'{reader!r}.')
  kwargs = dict(reader_kwargs or {})
  return lambda filename: reader(filename, **kwargs)


def check_positive_int(name, value, allow_none=False):
  """Raises ValueError naming `name` unless `value` is an int >= 1 (or
  None, with `allow_none`)."""
  if value is None and allow_none:
    return
  if isinstance(value, bool) or not isinstance(value, int) or value < 1:
    valid = 'None or a positive integer' if allow_none else 'a positive integer'
    raise ValueError(f'{name} must be {valid}; received {value!r}.')


class DatasetDataProvider(data_provider.DataProvider):
  """Reads, shuffles and decodes a `slim.dataset.Dataset` with tf.data."""

  def __init__(self, dataset, num_readers=1, reader_kwargs=None, shuffle=True,
               num_epochs=None, common_queue_capacity=256,
               common_queue_min=128, record_key='record_key', seed=None,
               scope=None, on_undecodable=None):
    """Builds the input pipeline in the current graph.

    Args:
      dataset: a `slim.dataset.Dataset`.
      num_readers: number of files read in parallel (interleave
        cycle_length).
      reader_kwargs: keyword arguments for `dataset.reader`, e.g.
        {'compression_type': 'GZIP'} for TFRecordDataset.
      shuffle: shuffle the file order each epoch and the records through a
        buffer of `common_queue_capacity`. When False the order is
        deterministic: files in sorted order, interleaved round-robin over
        `num_readers` files.
      num_epochs: passes over the data, None for forever; after the last
        one `get`'s tensors raise OutOfRangeError.
      common_queue_capacity: size of the record shuffle buffer.
      common_queue_min: kept for compatibility; tf.data's shuffle buffer of
        `common_queue_capacity` replaces the queue's min_after_dequeue.
      record_key: the item name of the record key
        ('<file name>:<record index in file>'); None for no such item.
      seed: seed of the file and record shuffles. With a seed the
        parallel reads and decodes also keep their order, so the same seed
        gives the same records in the same order; without one (and with
        `shuffle`) they are delivered as soon as ready, which is faster.
      scope: optional name scope for the ops.
      on_undecodable: None to fail on a record the decoder cannot decode
        (InvalidArgumentError); or fn(record key) -> bool, called (through
        tf.py_function) for each such record, which is then skipped: it
        returns False to stop the pipeline with an InvalidArgumentError
        (too many of them). Each record is then decoded in a dataset of its
        own, which costs some throughput.

    Raises:
      TypeError: if `dataset` is not a Dataset-like record.
      ValueError: on a bad argument, if no file matches
        `dataset.data_sources`, or if `record_key` collides with an item.
    """
    for attribute in ('data_sources', 'decoder', 'num_samples'):
      if not hasattr(dataset, attribute):
        raise TypeError('dataset must be a slim.dataset.Dataset; received '
                        f'{type(dataset).__name__} without {attribute!r}.')
    check_positive_int('num_readers', num_readers)
    check_positive_int('num_epochs', num_epochs, allow_none=True)
    check_positive_int('common_queue_capacity', common_queue_capacity)
    del common_queue_min  # The shuffle buffer's size is the capacity.

    items = dataset.decoder.list_items()
    if record_key is not None and record_key in items:
      raise ValueError(f'record_key {record_key!r} is already an item of the '
                       f'decoder ({sorted(items)}); pass another name or '
                       'None.')
    self._dataset = dataset
    self._data_files = get_data_files(dataset.data_sources)
    read_file = _record_dataset_fn(getattr(dataset, 'reader', None),
                                   reader_kwargs)
    decoder = dataset.decoder

    @graph_function
    def keyed_records(filename):
      records = read_file(filename).enumerate()
      return records.map(graph_function(
          lambda index, record: (
              tf.strings.join([filename, tf.strings.as_string(index)], ':'),
              record)))

    @graph_function
    def decode(key, record):
      example = dict(zip(items, decoder.decode(record, items)))
      if record_key is not None:
        example[record_key] = key
      return example

    # Order is kept when nothing is shuffled or when a seed asks for
    # reproducible shuffles; otherwise parallel work is taken as it comes.
    deterministic = not shuffle or seed is not None
    with tf1.name_scope(scope, 'dataset_data_provider'):
      files = files_dataset(self._data_files, shuffle, num_epochs, seed)
      records = interleave_records(files, keyed_records, num_readers,
                                   deterministic)
      if shuffle:
        records = records.shuffle(common_queue_capacity, seed=seed,
                                  reshuffle_each_iteration=True)
      if on_undecodable is None:
        self._tf_dataset = records.map(
            decode, num_parallel_calls=tf.data.AUTOTUNE,
            deterministic=deterministic)
      else:
        self._tf_dataset = _skipping_undecodable(
            _decoded_or_flagged(records, decode, deterministic),
            on_undecodable)
      iterator = _make_iterator(self._tf_dataset.prefetch(tf.data.AUTOTUNE))
      items_to_tensors = iterator.get_next()

    super().__init__(items_to_tensors=items_to_tensors,
                     num_samples=dataset.num_samples)

  @property
  def tf_dataset(self):
    """The decoded examples as a `tf.data.Dataset` of dicts (not batched)."""
    return self._tf_dataset

  @property
  def data_files(self):
    """The list of files the provider reads."""
    return list(self._data_files)

  @property
  def dataset(self):
    """The `slim.dataset.Dataset` read."""
    return self._dataset


def _empty_like(spec):
  """A tensor of `spec`'s dtype and rank, with no elements where its
  shape is unknown."""
  if spec.shape.rank is None:
    return tf.zeros([], spec.dtype)
  return tf.zeros([0 if d is None else d for d in spec.shape], spec.dtype)


def _decoded_or_flagged(records, decode, deterministic):
  """(example, decoded, key) for each (key, record) of `records`: where
  decode(key, record) fails, decoded is False and the example holds empty
  tensors of the same structure.

  tf.data has no try/except: each record is decoded in a one-element
  dataset whose `ignore_errors` leaves it empty when decoding fails, and a
  placeholder element follows; the first element is taken.
  """

  @graph_function
  def decode_one(key, record):
    one = tf.data.Dataset.from_tensors((key, record))
    decoded = one.map(graph_function(
        lambda k, r: (decode(k, r), tf.constant(True), k))).ignore_errors()
    example_spec = decoded.element_spec[0]
    failed = one.map(graph_function(lambda k, r: (
        tf.nest.map_structure(_empty_like, example_spec),
        tf.constant(False), k)))
    return decoded.concatenate(failed).take(1)

  return records.interleave(
      decode_one, block_length=1, num_parallel_calls=tf.data.AUTOTUNE,
      deterministic=deterministic)


def _skipping_undecodable(flagged, on_undecodable):
  """The decoded examples of `_decoded_or_flagged`; for each that failed,
  on_undecodable(key) is called, and its False stops the pipeline."""

  def reported(key):
    within_limit = tf.py_function(
        lambda k: bool(on_undecodable(k.numpy().decode('utf-8', 'replace'))),
        [key], tf.bool)
    check = tf.debugging.Assert(
        within_limit, ['Too many undecodable records; the last:', key])
    with tf.control_dependencies([check]):
      return tf.constant(False)

  kept = flagged.filter(graph_function(
      lambda example, decoded, key: tf.cond(
          decoded, lambda: tf.constant(True), lambda: reported(key))))
  return kept.map(graph_function(lambda example, decoded, key: example))


def find_undecodable_record(dataset, reader_kwargs=None):
  """The first record of a `slim.dataset.Dataset` that the decoder cannot
  decode, reading its files in order.

  Args:
    dataset: a `slim.dataset.Dataset`.
    reader_kwargs: keyword arguments for `dataset.reader`.

  Returns:
    (file name, record index in the file, the decoder's error), or None
    when every record decodes.
  """
  read_file = _record_dataset_fn(getattr(dataset, 'reader', None),
                                 reader_kwargs)
  items = dataset.decoder.list_items()

  def decode(key, record):
    del key
    return dict(zip(items, dataset.decoder.decode(record, items)))

  for filename in get_data_files(dataset.data_sources):
    with tf.Graph().as_default():
      records = read_file(filename).enumerate().map(
          graph_function(lambda i, r: (tf.strings.as_string(i), r)))
      first_failed = _decoded_or_flagged(records, decode, True).filter(
          graph_function(lambda example, decoded, key: tf.logical_not(
              decoded))).map(graph_function(
                  lambda example, decoded, key: key)).take(1)
      key = tf1.data.make_one_shot_iterator(first_failed).get_next()
      with tf1.Session() as session:
        try:
          index = int(session.run(key))
        except tf.errors.OutOfRangeError:
          continue
    return filename, index, _decode_error(read_file, filename, index,
                                          decode)
  return None


def _decode_error(read_file, filename, index, decode):
  """The decoder's error message for record `index` of `filename`."""
  with tf.Graph().as_default():
    record = tf1.data.make_one_shot_iterator(
        read_file(filename).skip(index).take(1)).get_next()
    example = decode(None, record)
    with tf1.Session() as session:
      try:
        session.run(example)
      except tf.errors.OpError as error:
        lines = [line.strip() for line in error.message.splitlines()
                 if line.strip() and not line.strip().startswith('[[')]
        return lines[-1] if lines else type(error).__name__
  return 'decodes now'


def _make_iterator(dataset):
  """An iterator that needs no explicit initialization in a tf1 session.

  A one-shot iterator when possible; a dataset that captures stateful
  resources (a LookupTensor's table) gets an initializable iterator whose
  initializer joins TABLE_INITIALIZERS, which `tf1.tables_initializer()`,
  MonitoredSession's Scaffold and slim.learning run.
  """
  if tf.executing_eagerly():
    return iter(dataset)
  try:
    return tf1.data.make_one_shot_iterator(dataset)
  except ValueError:
    iterator = tf1.data.make_initializable_iterator(dataset)
    tf1.add_to_collection(tf1.GraphKeys.TABLE_INITIALIZERS,
                          iterator.initializer)
    return iterator


# Public for slim.data.parallel_reader, which reads through the same pipeline.
make_iterator = _make_iterator


def find_corrupt_record_file(files, reader_kwargs=None):
  """Reads each TFRecord file to the end; returns the first corrupt one.

  tf.data's DataLossError ("corrupted record at 12") does not name the file;
  a script catching it calls this to tell the user which file to re-create.

  Args:
    files: a list of TFRecord file names (e.g. `provider.data_files`).
    reader_kwargs: keyword arguments for tf.data.TFRecordDataset.

  Returns:
    A tuple (file name, tf.data's error message) for the first file that
    fails to read, or None when all read.
  """
  for filename in files:
    with tf.Graph().as_default():
      count = tf.data.TFRecordDataset(filename, **(reader_kwargs or {})).reduce(
          tf.constant(0, tf.int64), lambda total, _: total + 1)
      with tf1.Session() as session:
        try:
          session.run(count)
        except tf.errors.DataLossError as error:
          return filename, _data_loss_reason(error.message)
  return None


def _data_loss_reason(message):
  """The useful part of a DataLossError message ('corrupted record at 12')."""
  match = re.search(r'(?:corrupted|truncated) record[^\n\[{]*', message)
  if match:
    return match.group(0).strip()
  lines = [line.strip() for line in message.splitlines() if line.strip()]
  return lines[-1] if lines else 'unreadable record'


def corrupt_record_message(files, reader_kwargs=None):
  """One readable line naming the corrupt file among `files`, or None.

  Args:
    files: a list of TFRecord file names (e.g. `provider.data_files`).
    reader_kwargs: keyword arguments for tf.data.TFRecordDataset.

  Returns:
    A message such as "Corrupt TFRecord file /data/x.tfrecord (corrupted
    record at 12); re-create it, e.g. by converting the dataset again.",
    or None when every file reads.
  """
  found = find_corrupt_record_file(files, reader_kwargs)
  if found is None:
    return None
  filename, reason = found
  return (f'Corrupt TFRecord file {filename} ({reason}); re-create it, e.g. '
          'by converting the dataset again.')
