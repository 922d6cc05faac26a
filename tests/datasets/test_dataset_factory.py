"""Tests for datasets/dataset_factory.py and the dataset descriptors.

Split sizes, class counts and file names are checked against the tables of
compat/dataset_sources.md (parsed here, not copied); records are tiny
Examples written in the layout that document describes, read back through
get_dataset and a DatasetDataProvider.
"""
import fnmatch
import io
import json
import os
import re

import numpy as np
import pytest
import tensorflow as tf
from PIL import Image as PILImage

from datasets import dataset_factory
from datasets import flowers
from slim.data import dataset_data_provider

tf1 = tf.compat.v1

COMPAT_DOC = os.path.join(os.path.dirname(__file__), '..', '..', 'compat',
                          'dataset_sources.md')


def _layout_table():
  """{name: (file name templates, {split: size}, num_classes)} from the doc."""
  with open(COMPAT_DOC) as f:
    text = f.read()
  section = text.split('## Output layouts', 1)[1]
  table = {}
  for line in section.splitlines():
    cells = [cell.strip() for cell in line.strip().strip('|').split('|')]
    if len(cells) != 5 or cells[0] in ('dataset', '') or '---' in cells[0]:
      continue
    name, files, _, splits, classes = cells
    names = re.findall(r'`([^`]+)`', files)
    splits = re.sub(r'\(.*?\)', '', splits)
    sizes = {split: int(size) for split, size in
             re.findall(r'([a-z]+) (\d+)', splits)}
    table[name] = (names, sizes, int(re.match(r'\d+', classes).group(0)))
  return table


LAYOUTS = _layout_table()


def test_doc_table_was_parsed():
  assert set(LAYOUTS) == {'flowers', 'cifar10', 'mnist', 'imagenet'}


@pytest.mark.parametrize('name', sorted(LAYOUTS))
def test_descriptor_matches_compat_layout(name):
  templates, sizes, num_classes = LAYOUTS[name]
  descriptor = dataset_factory.get_descriptor(name)
  assert dict(descriptor.splits_to_sizes) == sizes
  assert descriptor.num_classes == num_classes
  for split in sizes:
    candidates = [t.replace('<split>', split).replace('<shard:05d>', '00000')
                  for t in templates]
    matching = [c for c in candidates
                if fnmatch.fnmatch(c, descriptor.file_pattern % split)]
    assert len(matching) == 1, (split, candidates, descriptor.file_pattern)
    assert split in matching[0]


def test_visualwakewords_descriptor_matches_upstream():
  # Upstream research/slim/datasets/visualwakewords.py.
  descriptor = dataset_factory.get_descriptor('visualwakewords')
  assert dict(descriptor.splits_to_sizes) == {'train': 82783, 'val': 40504}
  assert descriptor.num_classes == 2
  assert fnmatch.fnmatch('val.record-00000-of-00010',
                         descriptor.file_pattern % 'val')


def test_datasets_map_modules_have_get_split_bound_to_descriptor():
  assert sorted(dataset_factory.datasets_map) == [
      'cifar10', 'custom', 'flowers', 'imagenet', 'mnist', 'shapes',
      'shapes_multi', 'visualwakewords']
  for module in dataset_factory.datasets_map.values():
    assert module.get_split == module.DESCRIPTOR.get_split


# ------------------------------------------------------------ tiny records

def _feature(value):
  if not isinstance(value, (list, tuple)):
    value = [value]
  if value and isinstance(value[0], bytes):
    return tf.train.Feature(bytes_list=tf.train.BytesList(value=value))
  if value and isinstance(value[0], float):
    return tf.train.Feature(float_list=tf.train.FloatList(value=value))
  return tf.train.Feature(int64_list=tf.train.Int64List(value=value))


def _encode(array, fmt):
  buffer = io.BytesIO()
  squeezed = array[..., 0] if array.shape[-1] == 1 else array
  if fmt.lower() == 'png':
    PILImage.fromarray(squeezed).save(buffer, format='PNG')
  else:
    PILImage.fromarray(squeezed).save(buffer, format='JPEG', quality=100,
                                      subsampling=0)
  return buffer.getvalue()


def _write_record(path, image, fmt, label, **extra):
  feature = {
      'image/encoded': _feature(_encode(image, fmt)),
      'image/format': _feature(fmt.encode()),
      'image/class/label': _feature(label),
      'image/height': _feature(image.shape[0]),
      'image/width': _feature(image.shape[1]),
  }
  feature.update({key: _feature(value) for key, value in extra.items()})
  example = tf.train.Example(features=tf.train.Features(feature=feature))
  with tf.io.TFRecordWriter(path) as writer:
    writer.write(example.SerializeToString(deterministic=True))


def _read_one(dataset, items):
  with tf.Graph().as_default():
    provider = dataset_data_provider.DatasetDataProvider(
        dataset, shuffle=False, num_epochs=1)
    tensors = provider.get(items)
    with tf1.Session() as session:
      return session.run(tensors)


def _blocky_image(height, width, channels, seed):
  """Constant 8x8 blocks: survives JPEG at quality 100 within a few levels."""
  rng = np.random.RandomState(seed)
  blocks = rng.randint(0, 256, (height // 8, width // 8, channels))
  return np.repeat(np.repeat(blocks, 8, 0), 8, 1).astype(np.uint8)


@pytest.mark.parametrize('name,file_name,shape,fmt', [
    ('cifar10', 'cifar10_test.tfrecord', (32, 32, 3), 'png'),
    ('mnist', 'mnist_train.tfrecord', (28, 28, 1), 'png'),
])
def test_fixed_size_datasets_decode_exact_pixels(tmp_path, name, file_name,
                                                 shape, fmt):
  image = np.random.RandomState(0).randint(0, 256, shape).astype(np.uint8)
  _write_record(str(tmp_path / file_name), image, fmt, 7)
  split = file_name.split('_')[1].split('.')[0]
  dataset = dataset_factory.get_dataset(name, split, str(tmp_path))
  assert dataset.num_samples == LAYOUTS[name][1][split]
  assert dataset.num_classes == 10
  decoded, label = _read_one(dataset, ['image', 'label'])
  assert decoded.shape == shape
  np.testing.assert_array_equal(decoded, image)
  assert label == 7


def test_flowers_reads_jpg_shards(tmp_path):
  images = [_blocky_image(16, 24, 3, seed) for seed in range(2)]
  for shard, image in enumerate(images):
    _write_record(str(tmp_path / f'flowers_validation_{shard:05d}-of-00005'
                      '.tfrecord'), image, 'jpg', shard + 3)
  _write_record(str(tmp_path / 'flowers_train_00000-of-00005.tfrecord'),
                images[0], 'jpg', 0)
  dataset = flowers.get_split('validation', str(tmp_path))
  assert dataset.num_samples == 350 and dataset.num_classes == 5
  assert dataset.labels_to_names is None  # no labels.txt
  with tf.Graph().as_default():
    provider = dataset_data_provider.DatasetDataProvider(
        dataset, shuffle=False, num_epochs=1)
    assert len(provider.data_files) == 2  # the train shard is not read
    image, label = provider.get(['image', 'label'])
    with tf1.Session() as session:
      rows = [session.run([image, label]) for _ in range(2)]
  for (decoded, label_value), expected, expected_label in zip(
      rows, images, [3, 4]):
    assert label_value == expected_label
    assert np.abs(decoded.astype(int) - expected.astype(int)).max() <= 3


def test_imagenet_decodes_boxes_and_object_labels(tmp_path):
  image = _blocky_image(16, 16, 3, 1)
  ymin, xmin, ymax, xmax = [0.1, 0.2], [0.3, 0.4], [0.5, 0.6], [0.7, 0.8]
  _write_record(str(tmp_path / 'validation-00000-of-00128'), image, 'JPEG',
                42, **{'image/class/text': b'goldfish',
                       'image/object/bbox/ymin': ymin,
                       'image/object/bbox/xmin': xmin,
                       'image/object/bbox/ymax': ymax,
                       'image/object/bbox/xmax': xmax,
                       'image/object/bbox/label': [42, 42]})
  dataset = dataset_factory.get_dataset('imagenet', 'validation',
                                        str(tmp_path))
  assert dataset.num_classes == 1001 and dataset.num_samples == 50000
  decoded, label, text, boxes, object_labels = _read_one(
      dataset, ['image', 'label', 'label_text', 'object/bbox',
                'object/label'])
  assert decoded.shape == (16, 16, 3)
  assert label == 42 and text == b'goldfish'
  np.testing.assert_allclose(boxes, np.array([ymin, xmin, ymax, xmax]).T,
                             rtol=1e-6)
  np.testing.assert_array_equal(object_labels, [42, 42])


def test_visualwakewords_decodes_boxes(tmp_path):
  image = _blocky_image(8, 8, 3, 2)
  _write_record(str(tmp_path / 'val.record-00000-of-00010'), image, 'jpeg', 1,
                **{'image/object/bbox/ymin': [0.0],
                   'image/object/bbox/xmin': [0.25],
                   'image/object/bbox/ymax': [0.5],
                   'image/object/bbox/xmax': [0.75]})
  dataset = dataset_factory.get_dataset('visualwakewords', 'val',
                                        str(tmp_path))
  label, boxes = _read_one(dataset, ['label', 'object/bbox'])
  assert label == 1
  np.testing.assert_allclose(boxes, [[0.0, 0.25, 0.5, 0.75]])


def test_labels_file_fills_labels_to_names(tmp_path):
  pytest.importorskip('datasets.dataset_utils')
  _write_record(str(tmp_path / 'cifar10_train.tfrecord'),
                np.zeros((32, 32, 3), np.uint8), 'png', 1)
  (tmp_path / 'labels.txt').write_text('0:airplane\n1:automobile\n')
  dataset = dataset_factory.get_dataset('cifar10', 'train', str(tmp_path))
  assert dataset.labels_to_names == {0: 'airplane', 1: 'automobile'}


def test_file_pattern_and_reader_overrides(tmp_path):
  _write_record(str(tmp_path / 'mine-train.rec'),
                np.zeros((28, 28, 1), np.uint8), 'png', 5)
  dataset = dataset_factory.get_dataset('mnist', 'train', str(tmp_path),
                                        file_pattern='mine-%s.rec')
  assert dataset.data_sources == str(tmp_path / 'mine-train.rec')
  assert dataset.reader is tf.data.TFRecordDataset
  seen = []

  def reader(filename):
    seen.append(filename)
    return tf.data.TFRecordDataset(filename)

  dataset = dataset_factory.get_dataset('mnist', 'train', str(tmp_path),
                                        file_pattern='mine-*', reader=reader)
  (label,) = _read_one(dataset, ['label'])
  assert label == 5 and seen


# ------------------------------------------------- meta-file datasets

def _write_meta(directory, **meta):
  (directory / 'dataset_meta.json').write_text(json.dumps(meta))


@pytest.mark.parametrize('name', ['custom', 'shapes'])
def test_meta_datasets_read_sizes_and_classes(tmp_path, name):
  _write_meta(tmp_path, num_classes=3, splits={'train': 12, 'validation': 4},
              file_pattern=f'{name}_%s_*.tfrecord')
  image = np.random.RandomState(4).randint(0, 256, (6, 5, 3)).astype(np.uint8)
  _write_record(str(tmp_path / f'{name}_validation_00000-of-00001.tfrecord'),
                image, 'png', 2)
  dataset = dataset_factory.get_dataset(name, 'validation', str(tmp_path))
  assert dataset.num_samples == 4 and dataset.num_classes == 3
  decoded, label = _read_one(dataset, ['image', 'label'])
  np.testing.assert_array_equal(decoded, image)
  assert label == 2
  with pytest.raises(ValueError, match=r"no split 'test'.*\['train', "
                     r"'validation'\]"):
    dataset_factory.get_dataset(name, 'test', str(tmp_path))


def test_meta_file_pattern_is_honoured(tmp_path):
  _write_meta(tmp_path, num_classes=2, splits={'train': 1},
              file_pattern='pics-%s.tfr')
  _write_record(str(tmp_path / 'pics-train.tfr'),
                np.zeros((2, 2, 3), np.uint8), 'png', 1)
  dataset = dataset_factory.get_dataset('custom', 'train', str(tmp_path))
  assert dataset.data_sources == str(tmp_path / 'pics-train.tfr')


def test_meta_file_missing_or_malformed(tmp_path):
  with pytest.raises(ValueError, match='dataset_meta.json.*'
                     'download_and_convert_data.py --dataset_name=custom'):
    dataset_factory.get_dataset('custom', 'train', str(tmp_path))
  (tmp_path / 'dataset_meta.json').write_text('{"splits": {"train": 1}}')
  with pytest.raises(ValueError, match='not a valid dataset meta file'):
    dataset_factory.get_dataset('shapes', 'train', str(tmp_path))


# ------------------------------------------------------------------ errors

def test_unknown_dataset_name_lists_valid_names(tmp_path):
  with pytest.raises(ValueError, match=r"unknown dataset 'flower'.*'cifar10', "
                     r"'custom', 'flowers'"):
    dataset_factory.get_dataset('flower', 'train', str(tmp_path))


def test_unknown_split_lists_valid_splits(tmp_path):
  with pytest.raises(ValueError, match=r"no split 'val'.*\['train', "
                     r"'validation'\]"):
    dataset_factory.get_dataset('flowers', 'val', str(tmp_path))


def test_bad_dataset_dir(tmp_path):
  with pytest.raises(ValueError, match='dataset_dir is required.*None'):
    dataset_factory.get_dataset('flowers', 'train', None)
  missing = str(tmp_path / 'absent')
  with pytest.raises(ValueError, match=f'{re.escape(missing)} does not exist'):
    dataset_factory.get_dataset('flowers', 'train', missing)
  a_file = tmp_path / 'file.txt'
  a_file.write_text('x')
  with pytest.raises(ValueError, match='is not a directory'):
    dataset_factory.get_dataset('flowers', 'train', str(a_file))


def test_no_matching_files_names_pattern_and_converter(tmp_path):
  expected = re.escape(str(tmp_path / 'flowers_train_*.tfrecord'))
  with pytest.raises(ValueError, match=f'No files match {expected}.*'
                     'download_and_convert_data.py --dataset_name=flowers'):
    dataset_factory.get_dataset('flowers', 'train', str(tmp_path))


def test_bad_file_pattern(tmp_path):
  with pytest.raises(ValueError, match='must contain one %s'):
    dataset_factory.get_dataset('flowers', 'train', str(tmp_path),
                                file_pattern='%d-%s')
