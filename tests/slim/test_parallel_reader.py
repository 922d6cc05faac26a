"""slim.parallel_reader: TF-Slim's parallel_read / ParallelReader on tf.data.

Records are written to small files here and read back; the expected keys
(byte offsets) are computed from the files' bytes, not by tf.data.
"""
import collections
import gzip
import os
import struct

import pytest
import tensorflow as tf

import slim
from slim.data import parallel_reader

tf1 = tf.compat.v1

# Records per file: unequal, so that files end at different times.
RECORDS_PER_FILE = (3, 5, 4)


def _record(file_index, record_index):
  # Lengths differ from record to record, so that offsets are not regular.
  return (f'file{file_index}-record{record_index}-' + 'x' * record_index
          ).encode()


def _write_tfrecords(directory, counts=RECORDS_PER_FILE, options=None):
  """Writes one TFRecord file per count; returns {file name: [records]}."""
  files = {}
  for file_index, count in enumerate(counts):
    path = os.path.join(str(directory), f'data-{file_index:05d}.tfrecord')
    records = [_record(file_index, i) for i in range(count)]
    with tf.io.TFRecordWriter(path, options) as writer:
      for record in records:
        writer.write(record)
    files[path] = records
  return files


def _record_offsets(raw):
  """Byte offsets of the records of an uncompressed TFRecord file's bytes:
  each record is a uint64 length, a 4-byte CRC, the data, a 4-byte CRC."""
  offsets, position = [], 0
  while position < len(raw):
    offsets.append(position)
    (length,) = struct.unpack('<Q', raw[position:position + 8])
    position += 8 + 4 + length + 4
  return offsets


def _offsets_of(path, compressed=False):
  with open(path, 'rb') as f:
    raw = f.read()
  return _record_offsets(gzip.decompress(raw) if compressed else raw)


def _drain(fetches, session=None):
  """Runs `fetches` until OutOfRangeError; returns the list of results."""
  results = []
  own = session is None
  session = session or tf1.Session()
  try:
    while True:
      results.append(session.run(fetches))
  except tf.errors.OutOfRangeError:
    pass
  finally:
    if own:
      session.close()
  return results


def _text(pairs):
  return [(key.decode(), value) for key, value in pairs]


def test_parallel_read_sees_every_record_once_per_epoch(tmp_path):
  files = _write_tfrecords(tmp_path)
  expected = collections.Counter(
      record for records in files.values() for record in records)
  with tf.Graph().as_default():
    key, value = slim.parallel_reader.parallel_read(
        str(tmp_path / '*.tfrecord'), tf1.TFRecordReader, num_epochs=1,
        num_readers=2, shuffle=True, capacity=8)
    assert key.dtype == tf.string and value.dtype == tf.string
    assert key.shape.as_list() == [] and value.shape.as_list() == []
    with tf1.Session() as session:
      pairs = _drain([key, value], session)
      # The iterator stays exhausted.
      with pytest.raises(tf.errors.OutOfRangeError):
        session.run(value)
  assert collections.Counter(value for _, value in pairs) == expected
  # Each record's key names its file and its byte offset in it.
  offsets = {path: _offsets_of(path) for path in files}
  for key, value in _text(pairs):
    path, offset = key.rsplit(':', 1)
    assert value == files[path][offsets[path].index(int(offset))]


def test_two_epochs_read_every_record_twice(tmp_path):
  files = _write_tfrecords(tmp_path)
  expected = collections.Counter(
      record for records in files.values() for record in records)
  with tf.Graph().as_default():
    _, value = slim.parallel_reader.parallel_read(
        str(tmp_path / '*.tfrecord'), tf1.TFRecordReader, num_epochs=2,
        num_readers=3)
    values = _drain(value)
  assert collections.Counter(values) == expected + expected


def test_unshuffled_order_is_round_robin_over_sorted_files(tmp_path):
  files = _write_tfrecords(tmp_path, counts=(3, 3, 3))
  paths = sorted(files)
  with tf.Graph().as_default():
    pair = slim.parallel_reader.parallel_read(
        [paths[2], str(tmp_path / 'data-0000[01].tfrecord')],
        tf1.TFRecordReader, num_epochs=1, num_readers=3, shuffle=False)
    got = _text(_drain(pair))
  # Files in the order of data_sources (each pattern's matches sorted), the
  # three read at once, one record from each in turn.
  order = [paths[2], paths[0], paths[1]]
  assert got == [(f'{path}:{_offsets_of(path)[index]}', files[path][index])
                 for index in range(3) for path in order]


def test_one_reader_reads_file_after_file(tmp_path):
  files = _write_tfrecords(tmp_path)
  expected = [record for path in sorted(files) for record in files[path]]
  with tf.Graph().as_default():
    _, value = slim.parallel_reader.single_pass_read(
        str(tmp_path / '*.tfrecord'), tf1.TFRecordReader)
    assert _drain(value) == expected


def test_a_seed_repeats_the_shuffled_order(tmp_path):
  _write_tfrecords(tmp_path)

  def read_once():
    with tf.Graph().as_default():
      _, value = slim.parallel_reader.parallel_read(
          str(tmp_path / '*.tfrecord'), tf1.TFRecordReader, num_epochs=3,
          num_readers=2, seed=7, capacity=16)
      return _drain(value)

  first = read_once()
  assert read_once() == first
  # Shuffled: not the order of the files.
  assert first[:12] != sorted(first[:12])


def test_gzip_tfrecords_through_reader_options(tmp_path):
  files = _write_tfrecords(tmp_path, options='GZIP')
  with tf.Graph().as_default():
    pair = slim.parallel_reader.parallel_read(
        str(tmp_path / '*.tfrecord'), tf1.TFRecordReader, num_epochs=1,
        shuffle=False, num_readers=1,
        reader_kwargs={'options': tf.io.TFRecordOptions('GZIP')})
    got = _text(_drain(pair))
  # Offsets in the uncompressed stream, as TF1's TFRecordReader reported.
  assert got == [(f'{path}:{offset}', record)
                 for path in sorted(files)
                 for offset, record in zip(
                     _offsets_of(path, compressed=True), files[path])]


def test_get_data_files_patterns_lists_and_errors(tmp_path):
  paths = sorted(_write_tfrecords(tmp_path))
  get_data_files = slim.parallel_reader.get_data_files
  assert get_data_files(str(tmp_path / '*.tfrecord')) == paths
  assert get_data_files(paths[1]) == [paths[1]]
  assert get_data_files([paths[2], str(tmp_path / 'data-0000[01]*')]) == [
      paths[2], paths[0], paths[1]]
  missing = str(tmp_path / 'nothing-*')
  with pytest.raises(ValueError, match='no files match') as error:
    get_data_files(missing)
  assert missing in str(error.value)
  # A pattern that matches nothing is named even beside ones that match.
  with pytest.raises(ValueError, match='no files match') as error:
    get_data_files([str(tmp_path / '*.tfrecord'), missing])
  assert missing in str(error.value)
  with pytest.raises(ValueError, match='does not exist'):
    get_data_files(str(tmp_path / 'absent.tfrecord'))
  with tf.Graph().as_default():
    with pytest.raises(ValueError, match='nothing-'):
      slim.parallel_reader.parallel_read(missing, tf1.TFRecordReader)


def test_text_line_reader_keys_are_line_numbers(tmp_path):
  path = str(tmp_path / 'table.csv')
  with open(path, 'w') as f:
    f.write('name,value\na,1\nb,2\nc,3\n')
  with tf.Graph().as_default():
    pair = slim.parallel_reader.parallel_read(
        path, tf1.TextLineReader, num_epochs=1, shuffle=False,
        reader_kwargs={'skip_header_lines': 1})
    got = _text(_drain(pair))
  # TF1's TextLineReader numbered lines from 1, the skipped header counted.
  assert got == [(f'{path}:2', b'a,1'), (f'{path}:3', b'b,2'),
                 (f'{path}:4', b'c,3')]


def test_fixed_length_and_whole_file_readers(tmp_path):
  path = str(tmp_path / 'fixed.bin')
  with open(path, 'wb') as f:
    f.write(b'HEADabcdefghijFOOT')
  with tf.Graph().as_default():
    fixed = slim.parallel_reader.parallel_read(
        path, tf1.FixedLengthRecordReader, num_epochs=1, shuffle=False,
        reader_kwargs={'record_bytes': 5, 'header_bytes': 4,
                       'footer_bytes': 4})
    whole = slim.parallel_reader.parallel_read(
        path, tf1.WholeFileReader, num_epochs=1, shuffle=False)
    assert _text(_drain(fixed)) == [(f'{path}:0', b'abcde'),
                                    (f'{path}:1', b'fghij')]
    assert _text(_drain(whole)) == [(path, b'HEADabcdefghijFOOT')]


def test_function_reader_keys_are_record_indices(tmp_path):
  files = _write_tfrecords(tmp_path, counts=(2,))
  (path,) = files
  with tf.Graph().as_default():
    pair = slim.parallel_reader.parallel_read(
        path, tf.data.TFRecordDataset, num_epochs=1, shuffle=False)
    assert _text(_drain(pair)) == [(f'{path}:0', files[path][0]),
                                   (f'{path}:1', files[path][1])]


def test_unsupported_readers_and_arguments(tmp_path):
  path = sorted(_write_tfrecords(tmp_path))[0]
  with tf.Graph().as_default():
    with pytest.raises(ValueError, match='IdentityReader has no tf.data '
                       'counterpart.*TFRecordReader, TextLineReader'):
      slim.parallel_reader.parallel_read(path, tf1.IdentityReader)
    with pytest.raises(ValueError, match='reader_class: received 3'):
      slim.parallel_reader.parallel_read(path, 3)
    with pytest.raises(ValueError, match="unknown \\['compression'\\]"):
      slim.parallel_reader.parallel_read(
          path, tf1.TFRecordReader, reader_kwargs={'compression': 'GZIP'})
    with pytest.raises(ValueError, match='hop_bytes'):
      slim.parallel_reader.parallel_read(
          path, tf1.FixedLengthRecordReader,
          reader_kwargs={'record_bytes': 4, 'hop_bytes': 2})
    with pytest.raises(ValueError, match='dtypes'):
      slim.parallel_reader.parallel_read(path, tf1.TFRecordReader,
                                         dtypes=[tf.string, tf.int64])
    with pytest.raises(ValueError, match='num_readers.*received 0'):
      slim.parallel_reader.parallel_read(path, tf1.TFRecordReader,
                                         num_readers=0)
    filename_queue = tf1.FIFOQueue(4, [tf.string])
    reader = slim.parallel_reader.ParallelReader(tf1.TFRecordReader)
    with pytest.raises(ValueError, match='filename queue cannot be read'):
      reader.read(filename_queue)
    with pytest.raises(ValueError, match='common_queue'):
      slim.parallel_reader.ParallelReader(tf1.TFRecordReader,
                                          common_queue='queue')


def test_parallel_reader_read_up_to_and_records_produced(tmp_path):
  files = _write_tfrecords(tmp_path)
  total = sum(RECORDS_PER_FILE)
  with tf.Graph().as_default():
    common_queue = tf1.RandomShuffleQueue(capacity=8, min_after_dequeue=2,
                                          dtypes=[tf.string, tf.string])
    reader = slim.parallel_reader.ParallelReader(
        tf1.TFRecordReader, common_queue, num_readers=2)
    assert reader.common_queue is common_queue
    assert reader.num_readers == 2
    keys, values = reader.read_up_to(sorted(files), 5)
    produced = reader.num_records_produced()
    with tf1.Session() as session:
      # Nothing to initialize or start; nothing produced yet.
      assert session.run(produced) == 0
      batches = []
      for _ in range(2):
        batches.append(session.run([keys, values]))
        assert session.run(produced) == 5 * len(batches)
      batches += _drain([keys, values], session)
      assert session.run(produced) == total
  assert [len(batch_values) for _, batch_values in batches] == [5, 5, 2]
  got = sorted(v for _, batch_values in batches for v in batch_values)
  assert got == sorted(r for records in files.values() for r in records)


def test_parallel_reader_read_with_a_dataset_of_file_names(tmp_path):
  files = _write_tfrecords(tmp_path)
  paths = sorted(files)
  with tf.Graph().as_default():
    reader = slim.parallel_reader.ParallelReader(
        tf1.TFRecordReader, tf1.FIFOQueue(8, [tf.string, tf.string]),
        num_readers=1)
    # What string_input_producer(paths[::-1], num_epochs=1) held.
    names = tf.data.Dataset.from_tensor_slices(paths[::-1])
    _, value = reader.read(names)
    assert _drain(value) == [r for path in paths[::-1] for r in files[path]]


def test_the_slim_data_package_exports_it():
  assert slim.parallel_reader is parallel_reader
  assert slim.data.parallel_reader is parallel_reader
