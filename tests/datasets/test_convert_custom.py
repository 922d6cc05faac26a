"""Tests of the custom image-folder converter (datasets/convert_custom.py)."""
import collections
import io
import os
import subprocess
import sys

import numpy as np
from PIL import Image
import pytest
import tensorflow as tf

from datasets import convert_custom
from datasets import custom
from datasets import dataset_utils
from datasets import image_coding
from datasets import tfrecord_writer
from datasets.errors import DatasetError
from tests import cli_harness as h
from tests import hostile_images
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
    put('cats/cat%d.jpg' % i, random_image(rng, 8, 9 + i), 'JPEG')
  put('cats/nested/cat_png.png', random_image(rng, 8, 8), 'PNG')
  for i in range(3):
    put('dogs/dog%d.png' % i, random_image(rng, 8 + i, 10), 'PNG')
  put('dogs/dog_bmp.bmp', random_image(rng, 9, 8), 'BMP')
  palette = rng.integers(0, 4, size=(8, 8), dtype=np.uint8)
  gif = Image.fromarray(palette, 'P')
  gif.putpalette([0, 0, 0, 255, 0, 0, 0, 255, 0, 0, 0, 255] + [0] * 756)
  put('zebras/z0.gif', np.array(gif.convert('RGB')), 'GIF')
  put('zebras/z1.bmp', random_image(rng, 8, 8), 'BMP')
  put('zebras/gray.png', random_image(rng, 8, 8, channels=1), 'PNG')
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
                       is not None else (8, 9 + int(path[-5])))
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
  Image.new('RGB', (8, 8)).save(os.path.join(source, 'cats', 'new.png'))
  meta = convert_custom.run(out, source, num_workers=0)
  assert calls
  assert sum(meta['splits'].values()) == 13


def test_class_without_readable_images_is_an_error(tmp_path):
  source = tmp_path / 'photos'
  (source / 'good').mkdir(parents=True)
  Image.new('RGB', (8, 8)).save(source / 'good' / 'a.png')
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


def _good_images(folder, count, rng):
  os.makedirs(folder, exist_ok=True)
  for i in range(count):
    Image.fromarray(random_image(rng, 8, 9)).save(
        os.path.join(folder, 'good%d.png' % i))


def _report(dataset_dir):
  with open(os.path.join(dataset_dir, 'skipped_images.txt')) as f:
    return dict(line.split('\t') for line in f.read().splitlines())


@pytest.mark.slow
def test_special_files_and_tiny_or_huge_images_are_listed_not_read(
    tmp_path):
  source = tmp_path / 'photos'
  rng = np.random.default_rng(3)
  _good_images(str(source / 'a'), 2, rng)
  _good_images(str(source / 'b'), 2, rng)
  os.mkfifo(source / 'a' / 'pipe.jpg')  # Opening it would block forever.
  os.symlink('loop.png', source / 'a' / 'loop.png')
  os.symlink('missing.png', source / 'b' / 'dangling.jpg')
  os.symlink('good0.png', source / 'b' / 'link.png')  # Followed: kept.
  Image.new('RGB', (1, 1)).save(source / 'a' / 'dot.png')
  hostile_images.write_huge_png(str(source / 'b' / 'huge.png'))
  out = tmp_path / 'out'
  result = h.run_script('download_and_convert_data.py',
                        '--dataset_name=custom', f'--source_dir={source}',
                        f'--dataset_dir={out}', '--validation_fraction=0',
                        timeout=120)
  assert result.returncode == 0, result.stderr
  assert 'Traceback' not in result.stderr
  assert _report(str(out)) == {
      os.path.join('a', 'pipe.jpg'):
          'is a FIFO (named pipe), not a regular file',
      os.path.join('a', 'loop.png'): 'is a symlink loop',
      os.path.join('b', 'dangling.jpg'):
          'is a dangling symlink (to missing.png)',
      os.path.join('a', 'dot.png'):
          'is 1x1, smaller than 8 pixels on a side; pass '
          '--min_image_side=1 to keep it',
      os.path.join('b', 'huge.png'):
          '20000x20000 = 400,000,000 pixels is over the limit of '
          '89,478,485 pixels; pass --max_image_pixels=400000000 to read it '
          'if you trust the file',
  }
  meta = dataset_utils.read_dataset_meta(str(out))
  assert meta['splits'] == {'train': 5, 'validation': 0}
  assert meta['num_skipped'] == 5
  assert 'Skipped 5 file(s)' in result.stderr


def test_min_image_side_and_max_image_pixels_can_be_changed(tmp_path):
  source = tmp_path / 'photos'
  _good_images(str(source / 'a'), 1, np.random.default_rng(0))
  Image.new('RGB', (1, 1)).save(source / 'a' / 'dot.png')
  Image.new('RGB', (30, 40)).save(source / 'a' / 'big.png')
  meta = convert_custom.run(str(tmp_path / 'out'), str(source),
                            validation_fraction=0, num_workers=0,
                            min_image_side=1, max_image_pixels=8 * 9)
  assert meta['splits']['train'] == 2
  assert _report(str(tmp_path / 'out')) == {
      os.path.join('a', 'big.png'):
          '30x40 = 1,200 pixels is over the limit of 72 pixels; pass '
          '--max_image_pixels=1200 to read it if you trust the file'}
  with pytest.raises(DatasetError, match='--min_image_side must be >= 1'):
    convert_custom.run(str(tmp_path / 'out'), str(source), min_image_side=0)
  with pytest.raises(DatasetError, match='--max_image_pixels must be >= 1'):
    convert_custom.run(str(tmp_path / 'out'), str(source),
                       max_image_pixels=0)


def test_a_class_of_special_files_only_is_an_error(tmp_path):
  source = tmp_path / 'photos'
  _good_images(str(source / 'good'), 1, np.random.default_rng(0))
  (source / 'bad').mkdir()
  os.mkfifo(source / 'bad' / 'pipe.png')
  with pytest.raises(DatasetError, match=r"class folder 'bad' .* no readable "
                     r'images \(1 file\(s\) skipped'):
    convert_custom.run(str(tmp_path / 'out'), str(source), num_workers=0)


def _encode(image, image_format, **kwargs):
  buffer = io.BytesIO()
  image.save(buffer, format=image_format, **kwargs)
  return buffer.getvalue()


def _with_frame_marker(jpeg, marker):
  """The JPEG with its start-of-frame marker replaced by `marker`."""
  index = jpeg.index(b'\xff\xc0')
  return jpeg[:index + 1] + bytes([marker]) + jpeg[index + 2:]


def test_jpeg_frame_type():
  jpeg = _encode(Image.new('RGB', (9, 8)), 'JPEG')
  assert image_coding.jpeg_frame_type(jpeg) == 0xC0
  assert image_coding.jpeg_frame_type(
      _encode(Image.new('RGB', (9, 8)), 'JPEG', progressive=True)) == 0xC2
  assert image_coding.jpeg_frame_type(_with_frame_marker(jpeg, 0xC3)) == 0xC3
  assert image_coding.jpeg_frame_type(b'\xff\xd8\xff\xd9') is None
  assert image_coding.jpeg_frame_type(b'not a jpeg') is None


def test_every_stored_image_decodes_in_the_input_pipeline(tmp_path):
  """What the converter keeps as is, TensorFlow's decoders read; the rest is
  re-encoded as PNG, or skipped if Pillow cannot decode it either."""
  rng = np.random.default_rng(5)
  rgb = Image.fromarray(random_image(rng, 9, 10))
  palette = rgb.convert('P')
  files = {
      'png_rgba.png': _encode(rgb.convert('RGBA'), 'PNG'),
      'png_la.png': _encode(rgb.convert('LA'), 'PNG'),
      'png_1bit.png': _encode(rgb.convert('1'), 'PNG'),
      'png_palette.png': _encode(palette, 'PNG', transparency=0),
      'png_16bit.png': _encode(Image.fromarray(
          rng.integers(0, 65535, (9, 10), dtype=np.uint16)), 'PNG'),
      'jpeg_gray.jpg': _encode(rgb.convert('L'), 'JPEG'),
      'jpeg_progressive.jpg': _encode(rgb, 'JPEG', progressive=True),
      'jpeg_cmyk.jpg': _encode(rgb.convert('CMYK'), 'JPEG'),
      'jpeg_lossless_marker.jpg': _with_frame_marker(
          _encode(rgb, 'JPEG'), 0xC3),
      'jpeg_arithmetic_marker.jpg': _with_frame_marker(
          _encode(rgb, 'JPEG'), 0xC9),
      'tiff.tif': _encode(rgb, 'TIFF'),
      'webp.webp': _encode(rgb, 'WEBP', lossless=True),
      'gif_animated.gif': _encode(palette, 'GIF', save_all=True,
                                  append_images=[palette.rotate(90)]),
  }
  source = tmp_path / 'photos'
  (source / 'a').mkdir(parents=True)
  for name, data in files.items():
    (source / 'a' / name).write_bytes(data)
  out = str(tmp_path / 'out')
  meta = convert_custom.run(out, str(source), validation_fraction=0,
                            num_workers=0)
  skipped = (_report(out) if os.path.exists(
      os.path.join(out, 'skipped_images.txt')) else {})
  assert set(skipped) <= {os.path.join('a', 'jpeg_lossless_marker.jpg'),
                          os.path.join('a', 'jpeg_arithmetic_marker.jpg')}
  assert meta['splits']['train'] == len(files) - len(skipped)
  examples = _records(out, meta, 'train')
  for example in examples:
    data = feature(example, 'image/encoded')[0]
    if data.startswith(b'\xff\xd8'):
      assert image_coding.jpeg_frame_type(data) in (0xC0, 0xC1, 0xC2)
  with tf.Graph().as_default():
    serialized = tf.compat.v1.placeholder(tf.string, [])
    image, = custom.DESCRIPTOR.decoder().decode(serialized, ['image'])
    with tf.compat.v1.Session() as sess:
      for example in examples:
        pixels = sess.run(image, {serialized: example.SerializeToString(
            deterministic=True)})
        assert pixels.shape == (feature(example, 'image/height')[0],
                                feature(example, 'image/width')[0], 3)


# Converts the folder argv[1] (custom, 2 worker processes) and the shapes
# demo (small) into argv[2]/custom and argv[2]/shapes.
_CONVERT_BOTH = """
import sys
from datasets import convert_custom, convert_shapes
convert_custom.run(sys.argv[2] + '/custom', sys.argv[1], num_shards=2,
                   validation_fraction=0.25, num_workers=int(sys.argv[3]))
convert_shapes.run(sys.argv[2] + '/shapes', num_shards=2, num_workers=0,
                   split_sizes={'train': 30, 'validation': 10})
"""


@pytest.mark.slow
def test_two_runs_write_byte_identical_files(tmp_path):
  source = str(tmp_path / 'photos')
  _make_folder(source, np.random.default_rng(2))  # With an unreadable file.
  outputs = []
  for run, workers in enumerate((2, 0)):
    out = str(tmp_path / ('run%d' % run))
    subprocess.run([sys.executable, '-c', _CONVERT_BOTH, source, out,
                    str(workers)], cwd=h.ROOT, check=True, timeout=300,
                   capture_output=True)
    outputs.append(h.file_hashes(out))
  first, second = outputs
  assert len(first) >= 10 and 'custom/skipped_images.txt' in first
  assert sum('.tfrecord' in name for name in first) == 6
  assert first == second
