"""Tests for slim.data: Dataset, TFExampleDecoder and its handlers, and
DatasetDataProvider on tf.data.

Records are tiny tf.train.Examples written to tmp dirs; expected pixels come
from numpy arrays encoded with Pillow (not TensorFlow), expected labels and
orders from the way the files were written.
"""
import io
import os

import numpy as np
import pytest
import tensorflow as tf
from PIL import Image as PILImage

import slim
from slim.data import data_decoder
from slim.data import data_provider
from slim.data import dataset as slim_dataset
from slim.data import dataset_data_provider
from slim.data import tfexample_decoder

tf1 = tf.compat.v1


# ------------------------------------------------------------------ helpers

def _feature(value):
  if isinstance(value, bytes):
    value = [value]
  if not isinstance(value, (list, tuple)):
    value = [value]
  if value and isinstance(value[0], bytes):
    return tf.train.Feature(bytes_list=tf.train.BytesList(value=value))
  if value and isinstance(value[0], float):
    return tf.train.Feature(float_list=tf.train.FloatList(value=value))
  return tf.train.Feature(int64_list=tf.train.Int64List(value=value))


def _example(**features):
  """A serialized Example; keyword 'image__encoded' is key 'image/encoded'."""
  feature = {key.replace('__', '/'): _feature(value)
             for key, value in features.items()}
  return tf.train.Example(
      features=tf.train.Features(feature=feature)).SerializeToString(
      deterministic=True)


def _encode(array, fmt):
  """Encodes a uint8 HxWxC array with Pillow (or as raw bytes)."""
  if fmt.lower() == 'raw':
    return array.tobytes()
  mode_array = array[..., 0] if array.shape[-1] == 1 else array
  buffer = io.BytesIO()
  pil_format = 'PNG' if fmt.lower() == 'png' else 'JPEG'
  kwargs = {'quality': 100, 'subsampling': 0} if pil_format == 'JPEG' else {}
  PILImage.fromarray(mode_array).save(buffer, format=pil_format, **kwargs)
  return buffer.getvalue()


def _image_for_label(label, shape=(4, 5, 3)):
  """A distinct image per label, so image and label can be cross-checked."""
  rng = np.random.RandomState(label)
  return rng.randint(0, 256, size=shape).astype(np.uint8)


def _image_example(label, fmt='png', shape=(4, 5, 3)):
  image = _image_for_label(label, shape)
  return _example(image__encoded=_encode(image, fmt),
                  image__format=fmt.encode(), image__class__label=label)


def _write(path, records):
  with tf.io.TFRecordWriter(path) as writer:
    for record in records:
      writer.write(record)
  return path


def _keys_to_features():
  return {
      'image/encoded': tf.io.FixedLenFeature((), tf.string, default_value=''),
      'image/format': tf.io.FixedLenFeature((), tf.string,
                                            default_value='png'),
      'image/class/label': tf.io.FixedLenFeature((), tf.int64,
                                                 default_value=0),
  }


def _image_decoder(shape=None):
  return tfexample_decoder.TFExampleDecoder(
      _keys_to_features(),
      {'image': tfexample_decoder.Image(shape=shape),
       'label': tfexample_decoder.Tensor('image/class/label')})


def _decode(serialized, keys_to_features, items_to_handlers, items=None):
  """Decodes one serialized example in a fresh graph; returns numpy values."""
  with tf.Graph().as_default():
    decoder = tfexample_decoder.TFExampleDecoder(keys_to_features,
                                                 items_to_handlers)
    tensors = decoder.decode(tf.constant(serialized), items)
    with tf1.Session() as session:
      return session.run(tensors)


def _sharded_dataset(tmp_path, num_shards=2, per_shard=3, shape=None):
  """Shard s holds labels 10*s .. 10*s + per_shard - 1 (PNG images)."""
  for shard in range(num_shards):
    _write(str(tmp_path / f'data-{shard:05d}-of-{num_shards:05d}'),
           [_image_example(10 * shard + i) for i in range(per_shard)])
  return slim_dataset.Dataset(
      data_sources=str(tmp_path / 'data-*'), reader=None,
      decoder=_image_decoder(shape), num_samples=num_shards * per_shard,
      items_to_descriptions={'image': 'an image', 'label': 'a label'},
      num_classes=100)


def _drain(session, fetches, limit=1000):
  values = []
  with pytest.raises(tf.errors.OutOfRangeError):
    for _ in range(limit):
      values.append(session.run(fetches))
  return values


# ------------------------------------------------------------------ Dataset

def test_dataset_keeps_fields_and_kwargs_as_attributes():
  decoder = _image_decoder()
  dataset = slim_dataset.Dataset('a-*', None, decoder, 7, {'image': 'x'},
                                 num_classes=3, labels_to_names={0: 'a'})
  assert dataset.data_sources == 'a-*'
  assert dataset.decoder is decoder
  assert dataset.num_samples == 7
  assert dataset.num_classes == 3
  assert dataset.labels_to_names == {0: 'a'}
  assert 'num_samples=7' in repr(dataset)


def test_slim_namespace_exposes_data_modules():
  assert slim.dataset is slim_dataset
  assert slim.tfexample_decoder is tfexample_decoder
  assert slim.dataset_data_provider is dataset_data_provider
  assert slim.data_provider is data_provider
  assert slim.data_decoder is data_decoder
  # The contract is abstract; TFExampleDecoder is one.
  with pytest.raises(TypeError, match='abstract'):
    slim.data_decoder.DataDecoder()
  assert isinstance(_image_decoder(), slim.data_decoder.DataDecoder)


# ------------------------------------------------------------- Image handler

@pytest.mark.parametrize('fmt', ['png', 'PNG', 'raw', 'RAW'])
def test_image_lossless_formats_decode_exact_pixels(fmt):
  image = _image_for_label(3, (4, 5, 3))
  serialized = _example(image__encoded=_encode(image, fmt),
                        image__format=fmt.encode(), image__class__label=3)
  decoded, label = _decode(
      serialized, _keys_to_features(),
      {'image': tfexample_decoder.Image(shape=[4, 5, 3]),
       'label': tfexample_decoder.Tensor('image/class/label')})
  np.testing.assert_array_equal(decoded, image)
  assert decoded.dtype == np.uint8
  assert label == 3


@pytest.mark.parametrize('fmt', ['jpeg', 'JPEG', 'jpg'])
@pytest.mark.parametrize('dct_method', ['', 'INTEGER_ACCURATE'])
def test_image_jpeg_formats_decode_close_to_pixels(fmt, dct_method):
  # 8x8 blocks of one color each survive JPEG at quality 100 nearly intact.
  blocks = np.array([[[200, 30, 40], [10, 220, 90]],
                     [[60, 60, 250], [128, 128, 128]]], np.uint8)
  image = np.repeat(np.repeat(blocks, 8, axis=0), 8, axis=1)  # 16 x 16 x 3
  serialized = _example(image__encoded=_encode(image, fmt),
                        image__format=fmt.encode())
  (decoded,) = _decode(serialized, _keys_to_features(),
                       {'image': tfexample_decoder.Image(
                           dct_method=dct_method)})
  assert decoded.shape == (16, 16, 3)
  assert np.abs(decoded.astype(int) - image.astype(int)).max() <= 3


def test_image_grayscale_png_with_shape_and_one_channel():
  image = _image_for_label(5, (28, 28, 1))
  serialized = _example(image__encoded=_encode(image, 'png'),
                        image__format=b'png')
  (decoded,) = _decode(serialized, _keys_to_features(),
                       {'image': tfexample_decoder.Image(shape=[28, 28, 1],
                                                         channels=1)})
  np.testing.assert_array_equal(decoded, image)


def test_image_varying_size_has_static_channels_and_float_dtype():
  image = _image_for_label(1, (3, 7, 3))
  with tf.Graph().as_default():
    decoder = tfexample_decoder.TFExampleDecoder(
        _keys_to_features(),
        {'image': tfexample_decoder.Image(dtype=tf.float32)})
    (tensor,) = decoder.decode(tf.constant(_example(
        image__encoded=_encode(image, 'png'), image__format=b'png')))
    assert tensor.shape.as_list() == [None, None, 3]
    with tf1.Session() as session:
      decoded = session.run(tensor)
  assert decoded.dtype == np.float32
  np.testing.assert_array_equal(decoded, image.astype(np.float32))


def test_image_missing_format_uses_feature_default():
  image = _image_for_label(2, (2, 3, 3))
  serialized = _example(image__encoded=_encode(image, 'png'))
  (decoded,) = _decode(serialized, _keys_to_features(),
                       {'image': tfexample_decoder.Image()})
  np.testing.assert_array_equal(decoded, image)


def test_image_raw_without_shape_fails_with_readable_message():
  image = _image_for_label(2, (2, 3, 3))
  serialized = _example(image__encoded=_encode(image, 'raw'),
                        image__format=b'raw')
  with pytest.raises(tf.errors.InvalidArgumentError, match='needs the `shape`'):
    _decode(serialized, _keys_to_features(),
            {'image': tfexample_decoder.Image()})


def test_image_repeated_decodes_a_stack():
  images = [_image_for_label(i, (2, 3, 3)) for i in range(3)]
  serialized = _example(
      image__encoded=[_encode(image, 'png') for image in images],
      image__format=b'png')
  features = _keys_to_features()
  features['image/encoded'] = tf.io.VarLenFeature(tf.string)
  handler = tfexample_decoder.ItemHandlerCallback(
      ['image/encoded', 'image/format'],
      lambda t: tfexample_decoder.Image(repeated=True).tensors_to_item(
          {'image/encoded': t['image/encoded'].values,
           'image/format': t['image/format']}))
  (decoded,) = _decode(serialized, features, {'images': handler})
  np.testing.assert_array_equal(decoded, np.stack(images))


# ---------------------------------------------------- other item handlers

def test_tensor_reshapes_by_shape_keys_and_densifies_sparse():
  values = list(range(6))
  serialized = _example(values=values, dense=values, height=2, width=3)
  features = {
      'values': tf.io.VarLenFeature(tf.int64),
      'dense': tf.io.FixedLenFeature([6], tf.int64),
      'height': tf.io.FixedLenFeature([], tf.int64),
      'width': tf.io.FixedLenFeature([], tf.int64),
  }
  sparse, dense, fixed = _decode(serialized, features, {
      'sparse': tfexample_decoder.Tensor('values',
                                         shape_keys=['height', 'width']),
      'dense': tfexample_decoder.Tensor('dense',
                                        shape_keys=['height', 'width']),
      'fixed': tfexample_decoder.Tensor('dense', shape=[3, 2]),
  })
  expected = np.arange(6).reshape(2, 3)
  np.testing.assert_array_equal(sparse, expected)
  np.testing.assert_array_equal(dense, expected)
  np.testing.assert_array_equal(fixed, np.arange(6).reshape(3, 2))


def test_tensor_rejects_both_shape_and_shape_keys():
  with pytest.raises(ValueError, match='shape_keys'):
    tfexample_decoder.Tensor('x', shape_keys=['h'], shape=[2])


def test_bounding_box_stacks_sides_in_key_order():
  ymin, xmin, ymax, xmax = [0.1, 0.5], [0.2, 0.6], [0.3, 0.7], [0.4, 0.8]
  prefix = 'image/object/bbox/'
  serialized = _example(image__object__bbox__ymin=ymin,
                        image__object__bbox__xmin=xmin,
                        image__object__bbox__ymax=ymax,
                        image__object__bbox__xmax=xmax)
  features = {prefix + side: tf.io.VarLenFeature(tf.float32)
              for side in ('ymin', 'xmin', 'ymax', 'xmax')}
  (boxes,) = _decode(serialized, features,
                     {'bbox': tfexample_decoder.BoundingBox(prefix=prefix)})
  expected = np.array([ymin, xmin, ymax, xmax], np.float32).T  # [2, 4]
  np.testing.assert_allclose(boxes, expected)
  (empty,) = _decode(_example(other=1), features,
                     {'bbox': tfexample_decoder.BoundingBox(prefix=prefix)})
  assert empty.shape == (0, 4)


def test_bounding_box_needs_four_keys():
  with pytest.raises(ValueError, match='4 names'):
    tfexample_decoder.BoundingBox(['ymin', 'xmin'])


def test_callback_and_backup_handlers():
  features = {'a': tf.io.VarLenFeature(tf.int64),
              'b': tf.io.VarLenFeature(tf.int64)}
  handlers = {
      'sum': tfexample_decoder.ItemHandlerCallback(
          ['a'], lambda t: tf.reduce_sum(t['a'].values)),
      'a_or_b': tfexample_decoder.BackupHandler(
          tfexample_decoder.Tensor('a'), tfexample_decoder.Tensor('b')),
  }
  total, a_or_b = _decode(_example(a=[2, 5], b=[9]), features, handlers)
  assert total == 7
  np.testing.assert_array_equal(a_or_b, [2, 5])
  _, only_b = _decode(_example(b=[9, 8]), features, handlers)
  np.testing.assert_array_equal(only_b, [9, 8])


def test_sparse_tensor_handler():
  serialized = _example(indices=[0, 3], values=[1.5, 2.5])
  features = {'indices': tf.io.VarLenFeature(tf.int64),
              'values': tf.io.VarLenFeature(tf.float32)}
  (dense,) = _decode(serialized, features, {
      'st': tfexample_decoder.SparseTensor(shape=[5], densify=True)})
  np.testing.assert_allclose(dense, [1.5, 0, 0, 2.5, 0])


# --------------------------------------------------------- TFExampleDecoder

def test_decoder_lists_items_and_decodes_a_subset_in_order():
  decoder = _image_decoder()
  assert decoder.list_items() == ['image', 'label']
  (label,) = _decode(_image_example(4), _keys_to_features(),
                     {'image': tfexample_decoder.Image(),
                      'label': tfexample_decoder.Tensor('image/class/label')},
                     items=['label'])
  assert label == 4


def test_decoder_errors_name_the_problem():
  with pytest.raises(ValueError, match=r"unknown items \['nope'\].*'image'"):
    _image_decoder().decode(tf.constant(b''), ['nope'])
  with pytest.raises(ValueError, match="'image/missing'"):
    tfexample_decoder.TFExampleDecoder(
        _keys_to_features(),
        {'x': tfexample_decoder.Tensor('image/missing')})
  with pytest.raises(TypeError, match='ItemHandler'):
    tfexample_decoder.TFExampleDecoder(_keys_to_features(), {'x': 'label'})


# -------------------------------------------------------- DatasetDataProvider

@pytest.mark.parametrize('num_readers,expected', [
    (1, [0, 1, 2, 10, 11, 12]),   # shard after shard
    (2, [0, 10, 1, 11, 2, 12]),   # round-robin over the two shards
])
def test_provider_unshuffled_order_is_deterministic(tmp_path, num_readers,
                                                    expected):
  dataset = _sharded_dataset(tmp_path)
  for _ in range(2):  # twice: same order each time
    with tf.Graph().as_default():
      provider = dataset_data_provider.DatasetDataProvider(
          dataset, num_readers=num_readers, shuffle=False, num_epochs=1)
      [label] = provider.get(['label'])
      with tf1.Session() as session:
        assert _drain(session, label) == expected


def test_provider_get_calls_share_one_example_and_record_key(tmp_path):
  dataset = _sharded_dataset(tmp_path, shape=[4, 5, 3])
  with tf.Graph().as_default():
    provider = dataset_data_provider.DatasetDataProvider(
        dataset, shuffle=False, num_epochs=1)
    assert sorted(provider.list_items()) == ['image', 'label', 'record_key']
    assert provider.num_samples() == 6
    [image] = provider.get(['image'])
    [label, key] = provider.get(['label', 'record_key'])
    assert image.shape.as_list() == [4, 5, 3]
    with tf1.Session() as session:
      rows = _drain(session, [image, label, key])
  assert len(rows) == 6
  for index, (image_value, label_value, key_value) in enumerate(rows):
    np.testing.assert_array_equal(image_value, _image_for_label(label_value))
    shard, position = divmod(index, 3)
    assert key_value.decode() == (
        str(tmp_path / f'data-{shard:05d}-of-00002') + f':{position}')


def test_provider_epochs_and_parallel_shuffled_reading_sees_every_record(
    tmp_path):
  dataset = _sharded_dataset(tmp_path, num_shards=3, per_shard=4)
  expected = sorted(10 * s + i for s in range(3) for i in range(4))
  with tf.Graph().as_default():
    provider = dataset_data_provider.DatasetDataProvider(
        dataset, num_readers=3, shuffle=True, num_epochs=2, seed=1,
        common_queue_capacity=8)
    [label] = provider.get(['label'])
    with tf1.Session() as session:
      labels = _drain(session, label)
  assert sorted(labels) == sorted(expected * 2)


def test_provider_works_in_monitored_session_forever(tmp_path):
  dataset = _sharded_dataset(tmp_path)
  with tf.Graph().as_default():
    provider = dataset_data_provider.DatasetDataProvider(dataset, seed=3)
    [label] = provider.get(['label'])
    with tf1.train.MonitoredSession() as session:
      labels = [session.run(label) for _ in range(15)]  # 2.5 epochs
  assert set(labels) == {0, 1, 2, 10, 11, 12}


def test_provider_with_lookup_table_initializes_through_collection(tmp_path):
  path = _write(str(tmp_path / 'text.tfrecord'),
                [_example(text=b'cat'), _example(text=b'dog')])
  with tf.Graph().as_default():
    table = tf.lookup.StaticHashTable(
        tf.lookup.KeyValueTensorInitializer(
            tf.constant(['cat', 'dog']), tf.constant([7, 9], tf.int64)), -1)
    decoder = tfexample_decoder.TFExampleDecoder(
        {'text': tf.io.FixedLenFeature([], tf.string)},
        {'id': tfexample_decoder.LookupTensor('text', table)})
    dataset = slim_dataset.Dataset(path, None, decoder, 2, {})
    provider = dataset_data_provider.DatasetDataProvider(
        dataset, shuffle=False, num_epochs=1)
    [ids] = provider.get(['id'])
    with tf1.train.MonitoredSession() as session:
      values = [session.run(ids) for _ in range(2)]
  assert values == [7, 9]


def test_provider_tf_dataset_maps_and_batches(tmp_path):
  dataset = _sharded_dataset(tmp_path, shape=[4, 5, 3])
  with tf.Graph().as_default():
    provider = dataset_data_provider.DatasetDataProvider(
        dataset, shuffle=False, num_epochs=1)
    batches = provider.tf_dataset.map(
        lambda ex: (tf.reduce_sum(tf.cast(ex['image'], tf.int64)),
                    ex['label'])).batch(4)
    sums, labels = tf1.data.make_one_shot_iterator(batches).get_next()
    with tf1.Session() as session:
      got = _drain(session, [sums, labels])
  assert [len(batch[1]) for batch in got] == [4, 2]
  all_labels = np.concatenate([batch[1] for batch in got])
  np.testing.assert_array_equal(all_labels, [0, 1, 2, 10, 11, 12])
  all_sums = np.concatenate([batch[0] for batch in got])
  np.testing.assert_array_equal(
      all_sums, [_image_for_label(l).astype(np.int64).sum()
                 for l in all_labels])


def test_provider_accepts_legacy_tfrecordreader_and_file_lists(tmp_path):
  dataset = _sharded_dataset(tmp_path)
  files = [str(tmp_path / 'data-00001-of-00002'),
           str(tmp_path / 'data-00000-of-00002')]
  legacy = slim_dataset.Dataset(files, tf1.TFRecordReader, dataset.decoder,
                                6, {})
  with tf.Graph().as_default():
    provider = dataset_data_provider.DatasetDataProvider(
        legacy, shuffle=False, num_epochs=1, record_key=None)
    assert provider.data_files == files
    assert 'record_key' not in provider.list_items()
    [label] = provider.get(['label'])
    with tf1.Session() as session:
      assert _drain(session, label) == [10, 11, 12, 0, 1, 2]


def test_provider_argument_errors(tmp_path):
  dataset = _sharded_dataset(tmp_path)
  with tf.Graph().as_default():
    with pytest.raises(ValueError, match='num_readers.*received 0'):
      dataset_data_provider.DatasetDataProvider(dataset, num_readers=0)
    with pytest.raises(ValueError, match='num_epochs.*received -1'):
      dataset_data_provider.DatasetDataProvider(dataset, num_epochs=-1)
    with pytest.raises(ValueError, match="record_key 'label'"):
      dataset_data_provider.DatasetDataProvider(dataset, record_key='label')
    with pytest.raises(TypeError, match='slim.dataset.Dataset'):
      dataset_data_provider.DatasetDataProvider('not a dataset')
    missing = slim_dataset.Dataset(str(tmp_path / 'nothing-*'), None,
                                   dataset.decoder, 1, {})
    with pytest.raises(ValueError, match='no files match'):
      dataset_data_provider.DatasetDataProvider(missing)
    provider = dataset_data_provider.DatasetDataProvider(dataset)
    with pytest.raises(ValueError, match="unknown item 'nope'"):
      provider.get(['nope'])
    with pytest.raises(TypeError, match='list or tuple'):
      provider.get('label')


# ------------------------------------------------------------ corrupt files

def test_corrupt_record_is_found_and_named(tmp_path):
  dataset = _sharded_dataset(tmp_path)
  good, bad = (str(tmp_path / 'data-00000-of-00002'),
               str(tmp_path / 'data-00001-of-00002'))
  data = open(bad, 'rb').read()
  with open(bad, 'wb') as f:  # Overwrite part of the first record's payload.
    f.write(data[:20] + b'\xff' * 8 + data[28:])
  with tf.Graph().as_default():
    provider = dataset_data_provider.DatasetDataProvider(
        dataset, shuffle=False, num_epochs=1)
    [label] = provider.get(['label'])
    with tf1.Session() as session:
      with pytest.raises(tf.errors.DataLossError):
        for _ in range(10):
          session.run(label)
  found = dataset_data_provider.find_corrupt_record_file(provider.data_files)
  assert found is not None
  assert found[0] == bad
  assert 'corrupted record' in found[1]
  message = dataset_data_provider.corrupt_record_message(provider.data_files)
  assert bad in message and '\n' not in message
  assert dataset_data_provider.find_corrupt_record_file([good]) is None
  assert dataset_data_provider.corrupt_record_message([good]) is None


def test_truncated_file_is_found(tmp_path):
  path = _write(str(tmp_path / 'x.tfrecord'),
                [_image_example(i) for i in range(3)])
  data = open(path, 'rb').read()
  with open(path, 'wb') as f:
    f.write(data[:-10])
  filename, reason = dataset_data_provider.find_corrupt_record_file([path])
  assert filename == path
  assert 'truncated record' in reason
