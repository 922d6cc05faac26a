"""`slim.parallel_reader`: TF-Slim's parallel reader, on tf.data.

    key, value = slim.parallel_reader.parallel_read(
        '/data/flowers_train_*.tfrecord', tf.compat.v1.TFRecordReader,
        num_readers=4, shuffle=True, num_epochs=1)
    # value: one serialized record;
    # key: b'/data/flowers_train_00001-of-00005.tfrecord:1234' (byte offset)

As in tf.contrib.slim:

* `get_data_files(data_sources)` expands a file name, a glob pattern or a
  list of them into the file names to read; a pattern that matches nothing
  is a ValueError naming it.
* `parallel_read` returns the `(key, value)` string tensors of one record,
  read from `num_readers` files at once; with `shuffle` the file order is
  shuffled each epoch and the records go through a shuffle buffer of
  `capacity`; after `num_epochs` passes the tensors raise OutOfRangeError.
* The keys are the ones the TF1 readers produced:
  TFRecordReader '<file>:<byte offset of the record in the file>',
  TextLineReader '<file>:<line number, from 1, header lines counted>',
  FixedLengthRecordReader '<file>:<record index, from 0>',
  WholeFileReader '<file>'. A function reader (below) gives
  '<file>:<record index, from 0>', as `DatasetDataProvider`'s record keys.
* `ParallelReader(reader_class, common_queue, num_readers, reader_kwargs)`
  with `read(queue)`, `read_up_to(queue, num_records)`,
  `num_records_produced()`, `common_queue` and `num_readers`.
* `single_pass_read` reads every record once, in file order.

What differs, since there are no queues and no queue runners (the reading
is the tf.data pipeline of `DatasetDataProvider`: files -> interleave over
`num_readers` files -> shuffle buffer -> one-shot iterator):

* Nothing needs starting: the tensors work in a `tf.compat.v1.Session` or a
  `MonitoredSession` as they are (no `start_queue_runners`, no local
  variables to initialize for `num_epochs`).
* `reader_class` is one of the TF1 readers above, mapped to its tf.data
  counterpart (TFRecordDataset, TextLineDataset, FixedLengthRecordDataset,
  tf.io.read_file) with the reader's keyword arguments, or a function
  `reader(file name, **reader_kwargs)` returning a `tf.data.Dataset` of
  records (such as `tf.data.TFRecordDataset`). Other readers
  (IdentityReader, LMDBReader, ...) are a ValueError.
* `min_after_dequeue` is not used: the shuffle buffer holds `capacity`
  records. There is no 'fraction_of_N_full' summary.
* `ParallelReader`'s `common_queue` only says how the records of the files
  are merged: a `tf.compat.v1.RandomShuffleQueue` shuffles them through a
  buffer of its capacity (with its seed), a `FIFOQueue` or None keeps the
  round-robin order. Nothing is ever enqueued into it.
* The `queue` given to `read` is what the filename queue held: a file name,
  pattern or list (each file read once, in that order), a 1-D string
  tensor of file names, or a `tf.data.Dataset` of file names (shuffled and
  repeated as the user likes, as `string_input_producer` did).
* `num_records_produced()` counts the records `read`/`read_up_to` have
  delivered (the original counted those its readers had put in the common
  queue). There is no `num_work_units_completed`.
* Without shuffling (or with a seed), records come round-robin from the
  files in a reproducible order; the original's readers raced.
"""
import tensorflow as tf

from slim import variables
from slim.data import dataset_data_provider

tf1 = tf.compat.v1

__all__ = ['ParallelReader', 'get_data_files', 'parallel_read',
           'single_pass_read']

get_data_files = dataset_data_provider.get_data_files
graph_function = dataset_data_provider.graph_function

# The bytes around each record of a TFRecord file: length (8), its CRC (4)
# and the data's CRC (4).
_TFRECORD_FRAMING_BYTES = 16

_SUPPORTED = ('tf.compat.v1.TFRecordReader, TextLineReader, '
              'FixedLengthRecordReader, WholeFileReader, or a function '
              'reader(file name, **reader_kwargs) returning a tf.data.Dataset '
              'of records (such as tf.data.TFRecordDataset)')


def _check_kwargs(reader_name, kwargs, allowed):
  unknown = sorted(set(kwargs) - set(allowed))
  if unknown:
    raise ValueError(f'reader_kwargs: {reader_name} takes '
                     f'{sorted(allowed)}; received unknown {unknown}.')


def _key(filename, number):
  return tf.strings.join([filename, tf.strings.as_string(number)], ':')


def _tfrecord_reader(kwargs):
  """TFRecordReader(options=None): keys hold the record's byte offset."""
  _check_kwargs('TFRecordReader', kwargs, ('options', 'name'))
  options = kwargs.get('options')
  compression = (tf.io.TFRecordOptions.get_compression_type_string(options)
                 if options is not None else '')

  def read(filename):
    records = tf.data.TFRecordDataset(filename, compression_type=compression)
    start = tf.constant(0, tf.int64)
    return records.scan(start, graph_function(lambda offset, record: (
        offset + tf.cast(tf.strings.length(record), tf.int64) +
        _TFRECORD_FRAMING_BYTES,
        (_key(filename, offset), record))))

  return read


def _text_line_reader(kwargs):
  """TextLineReader(skip_header_lines=None): keys hold the line number."""
  _check_kwargs('TextLineReader', kwargs, ('skip_header_lines', 'name'))
  skip = kwargs.get('skip_header_lines') or 0

  def read(filename):
    lines = tf.data.TextLineDataset(filename).skip(skip)
    return lines.enumerate(start=skip + 1).map(graph_function(
        lambda number, line: (_key(filename, number), line)))

  return read


def _fixed_length_reader(kwargs):
  """FixedLengthRecordReader(record_bytes, ...): keys hold the index."""
  _check_kwargs('FixedLengthRecordReader', kwargs,
                ('record_bytes', 'header_bytes', 'footer_bytes', 'hop_bytes',
                 'encoding', 'name'))
  if 'record_bytes' not in kwargs:
    raise ValueError('reader_kwargs: FixedLengthRecordReader needs '
                     'record_bytes, e.g. {"record_bytes": 3073}.')
  if kwargs.get('hop_bytes'):
    raise ValueError('reader_kwargs: FixedLengthRecordReader hop_bytes '
                     f'{kwargs["hop_bytes"]!r} is not supported on tf.data '
                     '(FixedLengthRecordDataset reads consecutive records); '
                     'omit it or pass 0.')

  def read(filename):
    records = tf.data.FixedLengthRecordDataset(
        filename, kwargs['record_bytes'],
        header_bytes=kwargs.get('header_bytes'),
        footer_bytes=kwargs.get('footer_bytes'),
        compression_type=kwargs.get('encoding') or '')
    return records.enumerate().map(graph_function(
        lambda index, record: (_key(filename, index), record)))

  return read


def _whole_file_reader(kwargs):
  """WholeFileReader(): one record per file, keyed by the file name."""
  _check_kwargs('WholeFileReader', kwargs, ('name',))

  def read(filename):
    return tf.data.Dataset.from_tensors(filename).map(graph_function(
        lambda name: (name, tf.io.read_file(name))))

  return read


def _function_reader(reader, kwargs):
  """reader(filename, **kwargs) -> tf.data.Dataset; keys hold the index."""

  def read(filename):
    return reader(filename, **kwargs).enumerate().map(graph_function(
        lambda index, record: (_key(filename, index), record)))

  return read


# TF1 reader class -> fn(reader_kwargs) -> fn(filename) -> keyed records.
_TF1_READERS = (
    (tf1.TFRecordReader, _tfrecord_reader),
    (tf1.TextLineReader, _text_line_reader),
    (tf1.FixedLengthRecordReader, _fixed_length_reader),
    (tf1.WholeFileReader, _whole_file_reader),
)


def _keyed_file_reader(reader_class, reader_kwargs=None):
  """How `reader_class` read one file, as a tf.data function.

  Args:
    reader_class: a TF1 reader class with a tf.data counterpart, or a
      function reader(file name, **reader_kwargs) -> tf.data.Dataset.
    reader_kwargs: the keyword arguments of the reader's constructor.

  Returns:
    fn(file name tensor) -> `tf.data.Dataset` of (key, value) strings.

  Raises:
    ValueError: for a reader without a tf.data counterpart, or keyword
      arguments it does not take.
  """
  kwargs = dict(reader_kwargs or {})
  if isinstance(reader_class, type) and issubclass(reader_class,
                                                   tf1.ReaderBase):
    for tf1_reader, make_read in _TF1_READERS:
      if issubclass(reader_class, tf1_reader):
        return make_read(kwargs)
    raise ValueError(f'reader_class: {reader_class.__name__} has no tf.data '
                     f'counterpart; use {_SUPPORTED}.')
  if not callable(reader_class):
    raise ValueError(f'reader_class: received {reader_class!r}; use '
                     f'{_SUPPORTED}.')
  return _function_reader(reader_class, kwargs)


def _queue_options(common_queue):
  """(shuffle buffer size or None, seed) for a ParallelReader's queue."""
  if common_queue is None or isinstance(common_queue, tf1.FIFOQueue):
    return None, None
  if isinstance(common_queue, tf1.RandomShuffleQueue):
    op = common_queue.queue_ref.op
    seeded = op.get_attr('seed') or op.get_attr('seed2')
    return op.get_attr('capacity'), op.get_attr('seed2') if seeded else None
  raise ValueError('common_queue: received '
                   f'{type(common_queue).__name__}; pass a '
                   'tf.compat.v1.RandomShuffleQueue (records shuffled through '
                   'a buffer of its capacity), a FIFOQueue or None (records '
                   'in round-robin order).')


def _files_of(queue):
  """The `tf.data.Dataset` of file names that `queue` stands for."""
  if isinstance(queue, tf.data.Dataset):
    return queue
  if isinstance(queue, tf1.QueueBase):
    raise ValueError('queue: a tf.compat.v1 filename queue cannot be read '
                     'without queue runners; pass what it was made from (the '
                     'file names, or a tf.data.Dataset of them shuffled and '
                     'repeated as string_input_producer did).')
  if isinstance(queue, (tf.Tensor, tf.Variable)):
    return tf.data.Dataset.from_tensor_slices(queue)
  return dataset_data_provider.files_dataset(
      get_data_files(queue), shuffle=False, num_epochs=1)


def _merged_records(files, read_file, num_readers, shuffle_buffer, seed):
  """The (key, value) records of `files`, `num_readers` files at once,
  shuffled through a buffer of `shuffle_buffer` unless it is None."""
  records = dataset_data_provider.interleave_records(
      files, read_file, num_readers,
      deterministic=shuffle_buffer is None or seed is not None)
  if shuffle_buffer is not None:
    records = records.shuffle(shuffle_buffer, seed=seed,
                              reshuffle_each_iteration=True)
  return records


class ParallelReader:
  """Reads records from `num_readers` files at once, through tf.data.

  See the module docstring for what differs from TF-Slim's reader, which
  ran `num_readers` TF1 readers into `common_queue` with queue runners.
  """

  def __init__(self, reader_class, common_queue=None, num_readers=4,
               reader_kwargs=None):
    """Describes the reading; `read` builds it.

    Args:
      reader_class: a TF1 reader class (TFRecordReader, TextLineReader,
        FixedLengthRecordReader, WholeFileReader) or a function
        reader(file name, **reader_kwargs) returning a tf.data.Dataset.
      common_queue: a tf.compat.v1 RandomShuffleQueue (shuffle the records
        through a buffer of its capacity, with its seed), a FIFOQueue or
        None (round-robin order). Only its kind, capacity and seed are used.
      num_readers: files read at once.
      reader_kwargs: keyword arguments of the reader class's constructor
        (e.g. {'options': tf.io.TFRecordOptions('GZIP')},
        {'skip_header_lines': 1}, {'record_bytes': 3073}) or of the
        function.

    Raises:
      ValueError: on a reader without a tf.data counterpart, a bad
        `num_readers` or an unsupported `common_queue`.
    """
    dataset_data_provider.check_positive_int('num_readers', num_readers)
    self._read_file = _keyed_file_reader(reader_class, reader_kwargs)
    self._shuffle_buffer, self._seed = _queue_options(common_queue)
    self._common_queue = common_queue
    self._num_readers = num_readers
    self._counter = None

  @property
  def common_queue(self):
    """The `common_queue` given to the constructor."""
    return self._common_queue

  @property
  def num_readers(self):
    """The number of files read at once."""
    return self._num_readers

  def _records(self, queue):
    return _merged_records(_files_of(queue), self._read_file,
                           self._num_readers, self._shuffle_buffer,
                           self._seed)

  def _counted(self, key, value):
    """(key, value), counting their records whenever they are fetched."""
    if self._counter is None:
      self._counter = variables.local_variable(
          tf.constant(0, tf.int64), name='num_records_produced')
    counter = self._counter
    delivered = tf.size(key, out_type=tf.int64)
    # The count needs no initialization: the first delivery sets it.
    count = tf.cond(tf1.is_variable_initialized(counter),
                    lambda: tf1.assign_add(counter, delivered),
                    lambda: tf1.assign(counter, delivered))
    with tf.control_dependencies([count]):
      return tf.identity(key), tf.identity(value)

  def _next(self, records, name):
    iterator = dataset_data_provider.make_iterator(
        records.prefetch(tf.data.AUTOTUNE))
    key, value = iterator.get_next(name=name)
    return self._counted(key, value)

  def read(self, queue, name=None):
    """The next (key, value) record of the files `queue` names.

    Args:
      queue: a file name, pattern or list of them (each file read once, in
        order), a 1-D string tensor of file names, or a `tf.data.Dataset` of
        file names.
      name: optional name of the iterator's op.

    Returns:
      A tuple (key, value) of string scalar tensors; they raise
      OutOfRangeError when every file has been read.
    """
    return self._next(self._records(queue), name)

  def read_up_to(self, queue, num_records, name=None):
    """The next `num_records` records (fewer at the end), as `read`.

    Args:
      queue: as in `read`.
      num_records: the batch size.
      name: optional name of the iterator's op.

    Returns:
      A tuple (keys, values) of 1-D string tensors.
    """
    dataset_data_provider.check_positive_int('num_records', num_records)
    return self._next(self._records(queue).batch(num_records), name)

  def num_records_produced(self, name=None):
    """The number of records `read` and `read_up_to` delivered so far.

    Args:
      name: optional name of the op.

    Returns:
      An int64 scalar tensor (0 before the first record).
    """
    if self._counter is None:
      return tf.constant(0, tf.int64, name=name)
    counter = self._counter
    return tf.cond(tf1.is_variable_initialized(counter),
                   lambda: tf.identity(counter),
                   lambda: tf.constant(0, tf.int64), name=name)


def parallel_read(data_sources, reader_class, num_epochs=None, num_readers=4,
                  reader_kwargs=None, shuffle=True, dtypes=None, capacity=256,
                  min_after_dequeue=128, seed=None, scope=None):
  """Reads records from `num_readers` files at once.

  Args:
    data_sources: a file name, glob pattern, or list of them.
    reader_class: see `ParallelReader`.
    num_epochs: passes over the files; None for forever. After the last,
      the tensors raise OutOfRangeError.
    num_readers: files read at once.
    reader_kwargs: keyword arguments of the reader class's constructor.
    shuffle: shuffle the files (each epoch) and the records (through a
      buffer of `capacity`). When False, files are read in the order of
      `get_data_files` and records come round-robin, one from each of
      `num_readers` files in turn.
    dtypes: the dtypes of (key, value); only [tf.string, tf.string] (the
      default) is possible: every reader yields strings.
    capacity: size of the record shuffle buffer.
    min_after_dequeue: not used (tf.data's shuffle buffer is `capacity`).
    seed: seed of the file and record shuffles; with one the order is the
      same from run to run.
    scope: optional name scope for the ops.

  Returns:
    A tuple (key, value) of string scalar tensors: one record and its key
    (see the module docstring for the key of each reader).

  Raises:
    ValueError: if nothing matches `data_sources`, or on a bad argument.
  """
  del min_after_dequeue  # The shuffle buffer holds `capacity` records.
  dataset_data_provider.check_positive_int('num_epochs', num_epochs,
                                           allow_none=True)
  dataset_data_provider.check_positive_int('num_readers', num_readers)
  dataset_data_provider.check_positive_int('capacity', capacity)
  if dtypes is not None and list(dtypes) != [tf.string, tf.string]:
    raise ValueError(f'dtypes: received {dtypes!r}; the readers yield '
                     '(key, value) strings, so only [tf.string, tf.string] '
                     '(or None) is possible.')
  data_files = get_data_files(data_sources)
  with tf1.name_scope(scope, 'parallel_read'):
    files = dataset_data_provider.files_dataset(data_files, shuffle,
                                                num_epochs, seed)
    records = _merged_records(
        files, _keyed_file_reader(reader_class, reader_kwargs), num_readers,
        capacity if shuffle else None, seed)
    iterator = dataset_data_provider.make_iterator(
        records.prefetch(tf.data.AUTOTUNE))
    return tuple(iterator.get_next())


def single_pass_read(data_sources, reader_class, reader_kwargs=None,
                     scope=None):
  """Reads every record once, file after file, in order.

  Args:
    data_sources: a file name, glob pattern, or list of them.
    reader_class: see `ParallelReader`.
    reader_kwargs: keyword arguments of the reader class's constructor.
    scope: optional name scope for the ops.

  Returns:
    A tuple (key, value) of string scalar tensors; OutOfRangeError after
    the last record.
  """
  return parallel_read(data_sources, reader_class, num_epochs=1,
                       num_readers=1, reader_kwargs=reader_kwargs,
                       shuffle=False, scope=scope or 'single_pass_read')
