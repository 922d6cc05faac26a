"""Tests of datasets/tfrecord_writer.py: order, determinism, crash safety."""
import os

import pytest
import tensorflow as tf

from datasets import image_coding
from datasets import tfrecord_writer
from datasets.errors import DatasetError
from tests.datasets.archive_server import feature
from tests.datasets.archive_server import read_records


def _example(result):
  data, _, _, _, label = result
  return tf.train.Example(features=tf.train.Features(feature={
      'data': tf.train.Feature(bytes_list=tf.train.BytesList(value=[data])),
      'label': tf.train.Feature(int64_list=tf.train.Int64List(value=[label])),
  }))


def _shards(tmp_path, tasks, num_shards):
  paths = [str(tmp_path / ('s%d' % i)) for i in range(num_shards)]
  return [(path, tasks[start:end]) for path, (start, end) in zip(
      paths, tfrecord_writer.shard_ranges(len(tasks), num_shards))]


def _gray_tasks(count):
  # 2x3 images whose pixels encode their index; label = index.
  return [(bytes([i % 256] * 6), 2, 3, i) for i in range(count)]


@pytest.mark.parametrize('num_items, num_shards', [(10, 3), (2, 5), (0, 2),
                                                    (9, 9)])
def test_shard_ranges_cover_everything_in_order(num_items, num_shards):
  ranges = tfrecord_writer.shard_ranges(num_items, num_shards)
  assert len(ranges) == num_shards
  assert [i for start, end in ranges for i in range(start, end)] == list(
      range(num_items))
  sizes = [end - start for start, end in ranges]
  assert max(sizes) - min(sizes) <= 1


def test_shard_filenames_layout(tmp_path):
  assert tfrecord_writer.shard_filenames('/d', 'custom', 'train', 2) == [
      '/d/custom_train_00000-of-00002.tfrecord',
      '/d/custom_train_00001-of-00002.tfrecord']


def test_writes_every_shard_in_task_order(tmp_path):
  tasks = _gray_tasks(7)
  shards = _shards(tmp_path, tasks, 3)
  stats = tfrecord_writer.write_shards(shards, image_coding.gray_to_png,
                                       _example, num_workers=0)
  assert stats.counts == [3, 2, 2]
  assert stats.num_written == 7 and stats.skipped == []
  labels = [feature(example, 'label')[0]
            for path in stats.paths for example in read_records(path)]
  assert labels == list(range(7))
  assert sorted(os.listdir(tmp_path)) == ['s0', 's1', 's2']  # No temporaries.


def _maybe_skip(task):
  if task[3] % 2:
    return image_coding.Skipped('item%d' % task[3], 'odd')
  return image_coding.gray_to_png(task)


def test_skipped_results_are_reported_not_written(tmp_path):
  shards = _shards(tmp_path, _gray_tasks(5), 1)
  stats = tfrecord_writer.write_shards(shards, _maybe_skip, _example,
                                       num_workers=0)
  assert [s.name for s in stats.skipped] == ['item1', 'item3']
  assert [feature(e, 'label')[0] for e in read_records(stats.paths[0])] == [
      0, 2, 4]


def test_worker_processes_give_identical_files(tmp_path):
  tasks = _gray_tasks(40)
  os.makedirs(tmp_path / 'a')
  os.makedirs(tmp_path / 'b')
  serial = tfrecord_writer.write_shards(
      _shards(tmp_path / 'a', tasks, 3), image_coding.gray_to_png, _example,
      num_workers=0)
  parallel = tfrecord_writer.write_shards(
      _shards(tmp_path / 'b', tasks, 3), image_coding.gray_to_png, _example,
      num_workers=2, chunk_size=3)
  for path_a, path_b in zip(serial.paths, parallel.paths):
    assert open(path_a, 'rb').read() == open(path_b, 'rb').read()


def _fail_on_five(task):
  if task[3] == 5:
    raise RuntimeError('bug in an encoder')
  return image_coding.gray_to_png(task)


def test_a_failure_leaves_no_final_or_temporary_file(tmp_path):
  shards = _shards(tmp_path, _gray_tasks(8), 4)
  with pytest.raises(RuntimeError, match='bug in an encoder'):
    tfrecord_writer.write_shards(shards, _fail_on_five, _example,
                                 num_workers=0)
  assert os.listdir(tmp_path) == []


def test_disk_full_is_a_dataset_error(tmp_path):
  shards = _shards(tmp_path, _gray_tasks(50), 1)
  # The shard's temporary name leads to /dev/full: every write fails ENOSPC.
  os.symlink('/dev/full', tfrecord_writer.incomplete_path(shards[0][0]))
  with pytest.raises(DatasetError, match='disk full'):
    tfrecord_writer.write_shards(shards, image_coding.gray_to_png, _example,
                                 num_workers=0)
  assert not os.path.exists(shards[0][0])


def test_remove_stale_shards_keeps_the_new_ones(tmp_path):
  old = tfrecord_writer.shard_filenames(str(tmp_path), 'shapes', 'train', 3)
  new = tfrecord_writer.shard_filenames(str(tmp_path), 'shapes', 'train', 2)
  other = tfrecord_writer.shard_filenames(str(tmp_path), 'shapes',
                                          'validation', 3)
  for path in old + new + other:
    open(path, 'w').close()
  tfrecord_writer.remove_stale_shards(str(tmp_path), 'shapes', 'train', new)
  assert sorted(os.listdir(tmp_path)) == sorted(
      os.path.basename(p) for p in new + other)


def test_num_workers_validation():
  assert tfrecord_writer.resolve_num_workers(0, 10**6) == 1
  assert tfrecord_writer.resolve_num_workers(3, 1) == 3
  assert tfrecord_writer.resolve_num_workers(None, 10) == 1
  with pytest.raises(DatasetError, match='received -2'):
    tfrecord_writer.resolve_num_workers(-2, 10)


def _ram_folder(name):
  """A fresh folder on TensorFlow's in-memory filesystem."""
  folder = 'ram://tfrecord_writer/' + name
  if tf.io.gfile.exists(folder):
    tf.io.gfile.rmtree(folder)
  return folder


def test_remote_shards_are_written_under_their_final_names():
  # No atomic rename on an object store: each shard is one object, written
  # whole; an old object of the same name is replaced, not appended to
  # (as ram:// would).
  folder = _ram_folder('final')
  shards = [(f'{folder}/s{i}', tasks) for i, tasks in enumerate(
      [_gray_tasks(3), _gray_tasks(2)])]
  tf.io.gfile.makedirs(folder)
  with tf.io.gfile.GFile(shards[0][0], 'wb') as f:
    f.write(b'an old shard')
  stats = tfrecord_writer.write_shards(shards, image_coding.gray_to_png,
                                       _example, num_workers=0)
  assert stats.counts == [3, 2]
  assert sorted(tf.io.gfile.listdir(folder)) == ['s0', 's1']
  assert [feature(example, 'label')[0] for example in read_records(
      shards[0][0])] == [0, 1, 2]


def test_a_remote_failure_removes_the_shards_it_wrote():
  folder = _ram_folder('failure')
  shards = [(f'{folder}/s{i}', _gray_tasks(8)[2 * i:2 * i + 2])
            for i in range(4)]
  with pytest.raises(RuntimeError, match='bug in an encoder'):
    tfrecord_writer.write_shards(shards, _fail_on_five, _example,
                                 num_workers=0)
  assert not tf.io.gfile.glob(folder + '/*')


def test_remove_stale_shards_on_a_remote_folder():
  folder = _ram_folder('stale')
  old = tfrecord_writer.shard_filenames(folder, 'shapes', 'train', 3)
  new = tfrecord_writer.shard_filenames(folder, 'shapes', 'train', 2)
  for path in old + new:
    with tf.io.gfile.GFile(path, 'wb') as f:
      f.write(b'')
  tfrecord_writer.remove_stale_shards(folder, 'shapes', 'train', new)
  assert sorted(tf.io.gfile.glob(folder + '/*')) == sorted(new)
