"""Tests of the bazel-free ImageNet builder on a tiny fake ILSVRC2012 layout."""
import io
import os
import random

import numpy as np
from PIL import Image
import pytest

from datasets import build_imagenet_data
from datasets import dataset_utils
from datasets.errors import DatasetError
from tests.datasets.archive_server import decode
from tests.datasets.archive_server import encode
from tests.datasets.archive_server import feature
from tests.datasets.archive_server import random_image
from tests.datasets.archive_server import read_records
from tests.datasets.archive_server import tar_bytes

# Deliberately not in sorted order in the archive.
SYNSETS = ['n02000003', 'n01000001', 'n01500002']
TEXT = {'n01000001': 'tench, Tinca tinca', 'n01500002': 'goldfish',
        'n02000003': 'great white shark'}
FEATURE_KEYS = {
    'image/height', 'image/width', 'image/colorspace', 'image/channels',
    'image/class/label', 'image/class/synset', 'image/class/text',
    'image/object/bbox/xmin', 'image/object/bbox/xmax',
    'image/object/bbox/ymin', 'image/object/bbox/ymax',
    'image/object/bbox/label', 'image/format', 'image/filename',
    'image/encoded'}


def _xml(filename, width, height, objects):
  parts = ['<annotation><filename>%s</filename><size><width>%d</width>'
           '<height>%d</height><depth>3</depth></size>' % (filename, width,
                                                          height)]
  for name, (xmin, ymin, xmax, ymax) in objects:
    parts.append('<object><name>%s</name><bndbox><xmin>%d</xmin><ymin>%d'
                 '</ymin><xmax>%d</xmax><ymax>%d</ymax></bndbox></object>'
                 % (name, xmin, ymin, xmax, ymax))
  return ('\n'.join(parts) + '</annotation>').encode()


def _cmyk_jpeg(rng):
  rgb = Image.fromarray(random_image(rng, 6, 9))
  buffer = io.BytesIO()
  rgb.convert('CMYK').save(buffer, format='JPEG', quality=95)
  return buffer.getvalue()


@pytest.fixture
def ilsvrc(tmp_path):
  """Writes the fake inputs; returns (paths dict, images dict)."""
  rng = np.random.default_rng(0)
  images = {}  # file name -> (bytes, synset)
  inner = {}
  for synset in SYNSETS:
    entries = {}
    for i in range(2):
      name = '%s_%d.JPEG' % (synset, i)
      entries[name] = encode(random_image(rng, 10 + i, 12), 'JPEG')
      images[name] = (entries[name], synset)
    inner['%s.tar' % synset] = tar_bytes(entries, mode='w')
  # The original's two oddities: a PNG named .JPEG and a CMYK JPEG.
  png_name, cmyk_name = 'n01000001_png.JPEG', 'n01500002_cmyk.JPEG'
  # Smooth (a gradient), so that its JPEG re-encoding stays close to it.
  y, x = np.mgrid[0:7, 0:5]
  png_pixels = np.stack([y * 30, x * 40, 200 - y * 10 - x * 10],
                        axis=-1).astype(np.uint8)
  images[png_name] = (encode(png_pixels, 'PNG'), 'n01000001')
  images[cmyk_name] = (_cmyk_jpeg(rng), 'n01500002')
  inner['n01000001.tar'] = tar_bytes(dict(
      {n: d for n, (d, s) in images.items() if s == 'n01000001'}), mode='w')
  inner['n01500002.tar'] = tar_bytes(dict(
      {n: d for n, (d, s) in images.items() if s == 'n01500002'}), mode='w')
  train_tar = tmp_path / 'ILSVRC2012_img_train.tar'
  train_tar.write_bytes(tar_bytes(inner, mode='w'))

  val_synsets = ['n01500002', 'n02000003', 'n01000001', 'n01500002']
  val_entries = {}
  for i, synset in enumerate(val_synsets):
    name = 'ILSVRC2012_val_%08d.JPEG' % (i + 1)
    val_entries[name] = encode(random_image(rng, 8, 8), 'JPEG')
    images[name] = (val_entries[name], synset)
  val_tar = tmp_path / 'ILSVRC2012_img_val.tar'
  val_tar.write_bytes(tar_bytes(val_entries, mode='w'))
  val_labels = tmp_path / 'val_labels.txt'
  val_labels.write_text('\n'.join(val_synsets) + '\n')

  bbox = tar_bytes({
      # Clipped to [0, 1] and min/max swapped; a box of another synset and
      # an empty box are dropped.
      'n01000001/n01000001_0.xml': _xml('n01000001_0', 12, 10, [
          ('n01000001', (-3, 2, 6, 8)), ('n01000001', (12, 9, 3, 1)),
          ('n09999999', (1, 1, 4, 4)), ('n01000001', (5, 5, 5, 9))]),
      'n02000003/n02000003_1.xml': _xml('n02000003_1', 12, 11, [
          ('n02000003', (1, 1, 7, 10))]),
  })
  bbox_tar = tmp_path / 'ILSVRC2012_bbox_train_v2.tar.gz'
  bbox_tar.write_bytes(bbox)
  metadata = tmp_path / 'imagenet_metadata.txt'
  metadata.write_text(''.join('%s\t%s\n' % item for item in TEXT.items()) +
                      'n09999999\tnot in this dataset\n')
  paths = {'train_path': str(train_tar), 'validation_path': str(val_tar),
           'validation_labels': str(val_labels), 'bbox_sources': str(bbox_tar),
           'metadata_path': str(metadata)}
  return paths, images, png_pixels


def _all_records(out, split, num_shards):
  return [e for path in build_imagenet_data.output_filenames(out, split,
                                                             num_shards)
          for e in read_records(path)]


def test_builds_records_with_the_original_features(ilsvrc, tmp_path):
  paths, images, png_pixels = ilsvrc
  out = str(tmp_path / 'out')
  build_imagenet_data.run(out, train_shards=2, validation_shards=1,
                          num_workers=0, **paths)
  assert sorted(os.listdir(out)) == [
      'labels.txt', 'train-00000-of-00002', 'train-00001-of-00002',
      'validation-00000-of-00001']
  labels = {s: i + 1 for i, s in enumerate(sorted(SYNSETS))}
  assert dataset_utils.read_label_file(out) == dict(
      [(0, 'background')] + [(labels[s], TEXT[s]) for s in sorted(SYNSETS)])

  train = _all_records(out, 'train', 2)
  validation = _all_records(out, 'validation', 1)
  assert len(train) == 8 and len(validation) == 4
  seen = set()
  for example in train + validation:
    assert set(example.features.feature) == FEATURE_KEYS
    filename = feature(example, 'image/filename')[0].decode()
    data, synset = images[filename]
    seen.add(filename)
    assert feature(example, 'image/class/synset') == [synset.encode()]
    assert feature(example, 'image/class/label') == [labels[synset]]
    assert feature(example, 'image/class/text') == [TEXT[synset].encode()]
    assert feature(example, 'image/format') == [b'JPEG']
    assert feature(example, 'image/colorspace') == [b'RGB']
    assert feature(example, 'image/channels') == [3]
    encoded = feature(example, 'image/encoded')[0]
    pixels = decode(example, channels=3)
    assert feature(example, 'image/height') == [pixels.shape[0]]
    assert feature(example, 'image/width') == [pixels.shape[1]]
    assert encoded[:2] == b'\xff\xd8'  # Always a JPEG, even the PNG.
    if filename == 'n01000001_png.JPEG':
      assert pixels.shape == png_pixels.shape
      assert np.abs(pixels.astype(int) - png_pixels).mean() < 3  # q=100.
    elif filename == 'n01500002_cmyk.JPEG':
      assert pixels.shape == (6, 9, 3) and encoded != data
    else:
      assert encoded == data  # Byte for byte.
  assert seen == set(images)

  by_name = {feature(e, 'image/filename')[0]: e for e in train}
  boxed = by_name[b'n01000001_0.JPEG']
  np.testing.assert_allclose(
      [feature(boxed, 'image/object/bbox/' + k) for k in
       ('xmin', 'ymin', 'xmax', 'ymax')],
      [[0.0, 0.25], [0.2, 0.1], [0.5, 1.0], [0.8, 0.9]], atol=1e-6)
  assert feature(boxed, 'image/object/bbox/label') == [1, 1]
  np.testing.assert_allclose(
      feature(by_name[b'n02000003_1.JPEG'], 'image/object/bbox/xmax'),
      [round(7 / 12, 4)], atol=1e-7)
  unboxed = by_name[b'n01500002_0.JPEG']
  assert feature(unboxed, 'image/object/bbox/xmin') == []
  assert feature(unboxed, 'image/object/bbox/label') == []


def test_order_is_the_seeded_shuffle_of_sorted_images(ilsvrc, tmp_path):
  paths, images, _ = ilsvrc
  out = str(tmp_path / 'out')
  build_imagenet_data.run(out, train_shards=3, validation_shards=2,
                          num_workers=0, **paths)
  labels = {s: i + 1 for i, s in enumerate(sorted(SYNSETS))}
  names = sorted((n for n in images if not n.startswith('ILSVRC')),
                 key=lambda n: (labels[images[n][1]], n))
  order = list(range(len(names)))
  random.Random(12345).shuffle(order)
  train = _all_records(out, 'train', 3)
  assert [feature(e, 'image/filename')[0].decode() for e in train] == [
      names[i] for i in order]


def test_rerun_does_nothing(ilsvrc, tmp_path, monkeypatch):
  paths, _, _ = ilsvrc
  out = str(tmp_path / 'out')
  build_imagenet_data.run(out, train_shards=1, validation_shards=1,
                          num_workers=0, **paths)

  def fail(*args):
    raise AssertionError('a finished split was read again')

  monkeypatch.setattr(build_imagenet_data, 'index_images', fail)
  build_imagenet_data.run(out, train_shards=1, validation_shards=1,
                          num_workers=0, **paths)


def test_folders_work_like_tars(ilsvrc, tmp_path):
  paths, images, _ = ilsvrc
  train_dir = tmp_path / 'train'
  for name, (data, synset) in images.items():
    if not name.startswith('ILSVRC'):
      (train_dir / synset).mkdir(parents=True, exist_ok=True)
      (train_dir / synset / name).write_bytes(data)
  out = str(tmp_path / 'out')
  build_imagenet_data.run(out, train_path=str(train_dir), train_shards=1,
                          num_workers=0)
  assert len(_all_records(out, 'train', 1)) == 8


def test_input_errors(ilsvrc, tmp_path):
  paths, _, _ = ilsvrc
  out = str(tmp_path / 'out')
  with pytest.raises(DatasetError, match='needs --imagenet_train_tar'):
    build_imagenet_data.run(out)
  with pytest.raises(DatasetError, match='does not exist'):
    build_imagenet_data.run(out, train_path=str(tmp_path / 'nope.tar'))
  with pytest.raises(DatasetError, match='--imagenet_val_labels is required'):
    build_imagenet_data.run(out, validation_path=paths['validation_path'])
  with pytest.raises(DatasetError, match='--imagenet_train_shards must be'):
    build_imagenet_data.run(out, train_path=paths['train_path'],
                            train_shards=0)
