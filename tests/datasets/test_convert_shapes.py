"""Tests of the embedded shapes dataset (datasets/convert_shapes.py)."""
import collections
import os

import numpy as np
import pytest

from datasets import convert_shapes
from datasets import dataset_utils
from datasets import shapes_generator
from datasets import tfrecord_writer
from datasets.errors import DatasetError
from tests.datasets.archive_server import decode
from tests.datasets.archive_server import feature
from tests.datasets.archive_server import read_records

SIZES = {'train': 30, 'validation': 10}


def _records(dataset_dir, split):
  return [example for path in sorted(tfrecord_writer.shard_filenames(
      dataset_dir, 'shapes', split, _shards(dataset_dir)[split]))
          for example in read_records(path)]


def _shards(dataset_dir):
  return dataset_utils.read_dataset_meta(dataset_dir)['num_shards']


def _contents(dataset_dir):
  return {name: open(os.path.join(dataset_dir, name), 'rb').read()
          for name in sorted(os.listdir(dataset_dir))}


def test_layout_labels_and_meta(tmp_path):
  meta = convert_shapes.run(str(tmp_path), seed=3, num_shards=2,
                            split_sizes=SIZES, num_workers=0)
  assert sorted(os.listdir(tmp_path)) == [
      'dataset_meta.json', 'labels.txt',
      'shapes_train_00000-of-00002.tfrecord',
      'shapes_train_00001-of-00002.tfrecord',
      'shapes_validation_00000-of-00001.tfrecord']
  assert dataset_utils.read_label_file(str(tmp_path)) == dict(
      enumerate(shapes_generator.CLASS_NAMES))
  on_disk = dataset_utils.read_dataset_meta(str(tmp_path))
  assert on_disk == meta
  assert on_disk['num_classes'] == 5
  assert on_disk['splits'] == SIZES
  assert on_disk['file_pattern'] == 'shapes_%s_*.tfrecord'


def test_records_hold_the_generated_pixels_and_balanced_labels(tmp_path):
  seed = 11
  convert_shapes.run(str(tmp_path), seed=seed, split_sizes=SIZES,
                     num_workers=0)
  for split_index, split in enumerate(('train', 'validation')):
    examples = _records(str(tmp_path), split)
    assert len(examples) == SIZES[split]
    labels = [feature(e, 'image/class/label')[0] for e in examples]
    # Balanced: every class the same number of times (sizes are multiples).
    assert set(collections.Counter(labels).values()) == {SIZES[split] // 5}
    for index, (example, label) in enumerate(zip(examples, labels)):
      expected = shapes_generator.draw(
          shapes_generator.image_rng(seed, split_index, index), label)
      np.testing.assert_array_equal(decode(example), expected)
      assert feature(example, 'image/format') == [b'png']
      assert feature(example, 'image/height') == [32]
      assert feature(example, 'image/width') == [32]


@pytest.mark.parametrize('class_id', range(5))
def test_every_shape_is_large_and_inside_the_image(class_id):
  rng = np.random.default_rng(class_id)
  for _ in range(20):
    radius = rng.uniform(7.0, 13.0)
    cx, cy = rng.uniform(radius + 1, 32 - radius - 1, size=2)
    mask = shapes_generator.shape_mask(class_id, cx, cy, radius)
    assert mask.sum() >= 40  # At least ~40 of 1024 pixels.
    border = np.concatenate([mask[0], mask[-1], mask[:, 0], mask[:, -1]])
    assert not border.any()  # Wholly inside, as draw() places shapes.


def test_classes_have_distinct_masks():
  masks = [shapes_generator.shape_mask(c, 16.0, 16.0, 12.0) for c in range(5)]
  for a in range(5):
    for b in range(a + 1, 5):
      assert np.abs(masks[a] - masks[b]).sum() > 30


def test_same_seed_same_bytes_other_seed_differs(tmp_path):
  convert_shapes.run(str(tmp_path / 'a'), seed=5, split_sizes=SIZES,
                     num_workers=0)
  convert_shapes.run(str(tmp_path / 'b'), seed=5, split_sizes=SIZES,
                     num_workers=0)
  convert_shapes.run(str(tmp_path / 'c'), seed=6, split_sizes=SIZES,
                     num_workers=0)
  a, b, c = (_contents(str(tmp_path / d)) for d in 'abc')
  assert a == b
  assert a['shapes_train_00000-of-00002.tfrecord'] != c[
      'shapes_train_00000-of-00002.tfrecord']


def test_rerun_does_nothing_and_new_settings_redo(tmp_path, monkeypatch):
  convert_shapes.run(str(tmp_path), split_sizes=SIZES, num_workers=0)
  before = _contents(str(tmp_path))

  def fail(*args, **kwargs):
    raise AssertionError('a finished dataset was converted again')

  with monkeypatch.context() as patch:
    patch.setattr(tfrecord_writer, 'write_shards', fail)
    convert_shapes.run(str(tmp_path), split_sizes=SIZES, num_workers=0)
  assert _contents(str(tmp_path)) == before

  convert_shapes.run(str(tmp_path), split_sizes=SIZES, num_shards=3,
                     num_workers=0)
  shards = sorted(n for n in os.listdir(tmp_path) if 'train' in n)
  assert shards == ['shapes_train_%05d-of-00003.tfrecord' % i
                    for i in range(3)]  # The 2-shard files are gone.


def test_interrupted_run_is_not_taken_for_finished(tmp_path, monkeypatch):
  convert_shapes.run(str(tmp_path), split_sizes=SIZES, num_workers=0)
  real = tfrecord_writer.write_shards
  calls = []

  def crash_on_validation(shards, *args, **kwargs):
    calls.append(shards[0][0])
    if 'validation' in shards[0][0]:
      raise KeyboardInterrupt
    return real(shards, *args, **kwargs)

  monkeypatch.setattr(tfrecord_writer, 'write_shards', crash_on_validation)
  with pytest.raises(KeyboardInterrupt):
    convert_shapes.run(str(tmp_path), seed=9, split_sizes=SIZES,
                       num_workers=0)
  assert not os.path.exists(tmp_path / 'dataset_meta.json')
  monkeypatch.setattr(tfrecord_writer, 'write_shards', real)
  meta = convert_shapes.run(str(tmp_path), seed=9, split_sizes=SIZES,
                            num_workers=0)
  assert dataset_utils.read_dataset_meta(str(tmp_path)) == meta


def test_bad_arguments_are_clear_errors(tmp_path):
  with pytest.raises(DatasetError, match='--num_shards must be >= 1; '
                     'received 0'):
    convert_shapes.run(str(tmp_path), num_shards=0)
  with pytest.raises(DatasetError, match='split sizes'):
    convert_shapes.run(str(tmp_path), split_sizes={'train': 0,
                                                   'validation': 1})
