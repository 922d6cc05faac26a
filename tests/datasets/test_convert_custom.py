"""Tests of the custom image-folder converter (datasets/convert_custom.py)."""
import collections
import os

import numpy as np
from PIL import Image
import pytest

from datasets import convert_custom
from datasets import dataset_utils
from datasets import tfrecord_writer
from datasets.errors import DatasetError
from tests.datasets.archive_server import decode
from tests.datasets.archive_server import encode
from tests.datasets.archive_server import feature
from tests.datasets.archive_server import random_image
from tests.datasets.archive_server import read_records


def _make_folder(root, rng):
  """Writes 3 classes in several formats; returns {path: (pixels, format)}.

  pixels is None for JPEG files (lossy: their bytes are compared instead).
  """
  expected = {}

  def put(relative, array, image_format, **kwargs):
    path = os.path.join(root, relative)
    os.makedirs(os.path.dirname(path), exist_ok=True)
    data = encode(array, image_format, **kwargs)
    with open(path, 'wb') as f:
      f.write(data)
    lossless = image_format != 'JPEG'
    expected[path] = (array if lossless else None, data)

  for i in range(4):
    put('cats/cat%d.jpg' % i, random_image(rng, 6, 7 + i), 'JPEG')
  put('cats/nested/cat_png.png', random_image(rng, 5, 5), 'PNG')
  for i in range(3):
    put('dogs/dog%d.png' % i, random_image(rng, 4 + i, 6), 'PNG')
  put('dogs/dog_bmp.bmp', random_image(rng, 5, 3), 'BMP')
  palette = rng.integers(0, 4, size=(6, 6), dtype=np.uint8)
  gif = Image.fromarray(palette, 'P')
  gif.putpalette([0, 0, 0, 255, 0, 0, 0, 255, 0, 0, 0, 255] + [0] * 756)
  put('zebras/z0.gif', np.array(gif.convert('RGB')), 'GIF')
  put('zebras/z1.bmp', random_image(rng, 3, 3), 'BMP')
  put('zebras/gray.png', random_image(rng, 4, 4, channels=1), 'PNG')
  # Not images: a corrupt JPEG (skipped, reported) and a text file (ignored).
  with open(os.path.join(root, 'dogs', 'broken.jpg'), 'wb') as f:
    f.write(b'\xff\xd8\xff\xe0 this is not really a jpeg')
  with open(os.path.join(root, 'dogs', 'notes.txt'), 'w') as f:
    f.write('not an image')
  return expected


def _records(dataset_dir, meta, split):
  return [e for path in tfrecord_writer.shard_filenames(
      dataset_dir, 'custom', split, meta['num_shards'][split])
          for e in read_records(path)]


def test_converts_every_format_and_skips_the_corrupt_file(tmp_path):
  source = str(tmp_path / 'photos')
  expected = _make_folder(source, np.random.default_rng(0))
  out = str(tmp_path / 'out')
  meta = convert_custom.run(out, source, validation_fraction=0.25,
                            num_shards=2, num_workers=0)

  assert meta['num_classes'] == 3
  assert dataset_utils.read_label_file(out) == {0: 'cats', 1: 'dogs',
                                                2: 'zebras'}
  on_disk = dataset_utils.read_dataset_meta(out)
  assert on_disk == meta
  assert on_disk['file_pattern'] == 'custom_%s_*.tfrecord'
  # 5 cats, 4 readable dogs, 3 zebras; round(n / 4) of each in validation,
  # the broken dog assigned before reading (5 dog files -> 1 validation).
  assert sum(on_disk['splits'].values()) == 12
  assert on_disk['num_shards'] == {'train': 2, 'validation': 1}

  seen = collections.Counter()
  for split in ('train', 'validation'):
    examples = _records(out, on_disk, split)
    assert len(examples) == on_disk['splits'][split]
    for example in examples:
      label = feature(example, 'image/class/label')[0]
      matches = []
      for path, (pixels, data) in expected.items():
        if pixels is None and feature(example, 'image/encoded') == [data]:
          matches.append(path)
          assert feature(example, 'image/format') == [b'jpg']
        elif pixels is not None:
          decoded = decode(example)
          if pixels.ndim == 2:
            pixels = pixels[:, :, None]
          if decoded.shape == pixels.shape and (decoded == pixels).all():
            matches.append(path)
      assert len(matches) == 1, matches
      path = matches[0]
      assert label == ['cats', 'dogs', 'zebras'].index(
          os.path.relpath(path, source).split(os.sep)[0])
      height, width = (expected[path][0].shape[:2] if expected[path][0]
                       is not None else (6, 7 + int(path[-5])))
      assert feature(example, 'image/height') == [height]
      assert feature(example, 'image/width') == [width]
      seen[path] += 1
  assert set(seen) == set(expected) and set(seen.values()) == {1}

  report = open(os.path.join(out, 'skipped_images.txt')).read()
  assert report.startswith(os.path.join('dogs', 'broken.jpg') + '\t')
  assert len(report.splitlines()) == 1


def test_split_is_stratified_and_seeded(tmp_path):
  files = {'a': ['a%d' % i for i in range(10)],
           'b': ['b%d' % i for i in range(3)], 'c': ['c0']}
  splits = convert_custom.split_files(['a', 'b', 'c'], files, 0.2, seed=1)
  validation = collections.Counter(label for _, label in splits['validation'])
  train = collections.Counter(label for _, label in splits['train'])
  # round(10 * .2) = 2, round(3 * .2) = 1, and c keeps its only image.
  assert validation == {0: 2, 1: 1}
  assert train == {0: 8, 1: 2, 2: 1}
  assert convert_custom.split_files(['a', 'b', 'c'], files, 0.2, seed=1) == (
      splits)
  assert convert_custom.split_files(['a', 'b', 'c'], files, 0.2, seed=2) != (
      splits)


def test_rerun_does_nothing_until_the_source_changes(tmp_path, monkeypatch):
  source = str(tmp_path / 'photos')
  _make_folder(source, np.random.default_rng(1))
  out = str(tmp_path / 'out')
  convert_custom.run(out, source, num_workers=0)
  real = tfrecord_writer.write_shards
  calls = []
  monkeypatch.setattr(tfrecord_writer, 'write_shards',
                      lambda *a, **k: calls.append(1) or real(*a, **k))
  convert_custom.run(out, source, num_workers=0)
  assert not calls
  Image.new('RGB', (4, 4)).save(os.path.join(source, 'cats', 'new.png'))
  meta = convert_custom.run(out, source, num_workers=0)
  assert calls
  assert sum(meta['splits'].values()) == 13


def test_class_without_readable_images_is_an_error(tmp_path):
  source = tmp_path / 'photos'
  (source / 'good').mkdir(parents=True)
  Image.new('RGB', (4, 4)).save(source / 'good' / 'a.png')
  (source / 'bad').mkdir()
  (source / 'bad' / 'x.jpg').write_bytes(b'garbage')
  (source / 'bad' / 'y.png').write_bytes(b'\x89PNG\r\n\x1a\n truncated')
  out = tmp_path / 'out'
  with pytest.raises(DatasetError) as info:
    convert_custom.run(str(out), str(source), num_workers=0)
  assert "class folder 'bad'" in str(info.value)
  assert 'no readable images' in str(info.value)
  # No records or metadata left behind; the report of skipped files stays.
  assert sorted(os.listdir(out)) == ['skipped_images.txt']


@pytest.mark.parametrize('setup, message', [
    ('missing', 'is not a folder'),
    ('empty', 'has no class subfolders'),
    ('empty_class', "class folder 'cats' in --source_dir=.* has no image "
                    'files'),
])
def test_folder_errors(tmp_path, setup, message):
  source = tmp_path / 'photos'
  if setup != 'missing':
    source.mkdir()
  if setup == 'empty_class':
    (source / 'cats').mkdir()
    (source / 'cats' / 'readme.txt').write_text('no images here')
  with pytest.raises(DatasetError, match=message):
    convert_custom.run(str(tmp_path / 'out'), str(source))


def test_argument_errors(tmp_path):
  source = tmp_path / 'photos'
  (source / 'a').mkdir(parents=True)
  Image.new('RGB', (4, 4)).save(source / 'a' / 'x.png')
  with pytest.raises(DatasetError, match='--source_dir is required'):
    convert_custom.run(str(tmp_path / 'out'), None)
  with pytest.raises(DatasetError, match=r'--validation_fraction must be in '
                     r'\[0, 1\); received 1.0'):
    convert_custom.run(str(tmp_path / 'out'), str(source),
                       validation_fraction=1.0)
  with pytest.raises(DatasetError, match='--num_shards must be >= 1'):
    convert_custom.run(str(tmp_path / 'out'), str(source), num_shards=0)
  with pytest.raises(DatasetError, match='inside --source_dir'):
    convert_custom.run(str(source / 'out'), str(source))
