"""best/: the N best checkpoints by validation accuracy, consistent always."""
import json
import os

import pytest
import tensorflow as tf

from image_classifier import best_checkpoints


def _fake_checkpoint(directory, step):
  """model.ckpt-<step> files whose content names the step."""
  prefix = os.path.join(directory, f'model.ckpt-{step}')
  for suffix in ('.index', '.data-00000-of-00001'):
    with open(prefix + suffix, 'w') as f:
      f.write(f'{step}{suffix}')
  return prefix


def _record(step, accuracy):
  return {'global_step': step, 'Accuracy': accuracy, 'Recall_5': 1.0}


def _assert_consistent(best_dir):
  """Every listed checkpoint is complete; nothing else is there."""
  with open(os.path.join(best_dir, 'index.json')) as f:
    index = json.load(f)
  expected = {'index.json', 'checkpoint'}
  for entry in index['checkpoints']:
    for suffix in ('.index', '.data-00000-of-00001'):
      path = os.path.join(best_dir, entry['name'] + suffix)
      with open(path) as f:
        assert f.read() == f'{entry["global_step"]}{suffix}'
      expected.add(entry['name'] + suffix)
  assert set(os.listdir(best_dir)) == expected
  return index['checkpoints']


def _state_names(best_dir):
  """The checkpoint that best/checkpoint names first; None without one."""
  path = os.path.join(best_dir, 'checkpoint')
  if not os.path.exists(path):
    return None
  with open(path) as f:
    first = f.readline().strip()
  assert first.startswith('model_checkpoint_path: "'), first
  return first.split('"')[1]


def test_keeps_the_n_best_best_first_ties_to_the_later(tmp_path):
  train_dir, best_dir = tmp_path / 'train', tmp_path / 'train' / 'best'
  train_dir.mkdir()
  best = best_checkpoints.BestCheckpoints(str(best_dir), keep=2)
  accuracies = {1: 0.5, 2: 0.7, 3: 0.6, 4: 0.7, 5: 0.1}
  for step, accuracy in accuracies.items():
    kept = best.consider(_fake_checkpoint(str(train_dir), step),
                         _record(step, accuracy))
    assert kept == (step in (1, 2, 3, 4))
  entries = _assert_consistent(str(best_dir))
  assert [e['name'] for e in entries] == ['model.ckpt-4', 'model.ckpt-2']
  assert [e['Accuracy'] for e in entries] == [0.7, 0.7]
  # The state file makes best/ a checkpoint directory whose latest is the best.
  with open(best_dir / 'checkpoint') as f:
    assert f.readline().strip() == 'model_checkpoint_path: "model.ckpt-4"'
  # The training directory's own checkpoints are never touched.
  assert len(os.listdir(train_dir)) == 2 * len(accuracies) + 1


@pytest.mark.parametrize('crash_after', ['copy', 'rename', 'unlink',
                                         'index'])
def test_a_crash_at_any_point_leaves_the_previous_or_the_new_state(
    tmp_path, monkeypatch, crash_after):
  train_dir, best_dir = tmp_path / 'train', tmp_path / 'best'
  train_dir.mkdir()
  best = best_checkpoints.BestCheckpoints(str(best_dir), keep=1)
  best.consider(_fake_checkpoint(str(train_dir), 1), _record(1, 0.5))

  class Crash(Exception):
    pass

  real_copy, real_rename = tf.io.gfile.copy, tf.io.gfile.rename
  real_remove = tf.io.gfile.remove
  real_write = best_checkpoints.fileio.write_atomic
  copies = []

  def copy(source, target, overwrite=False):
    real_copy(source, target, overwrite)
    copies.append(target)
    if crash_after == 'copy' and len(copies) == 1:
      raise Crash()

  def rename(source, target, overwrite=False):
    real_rename(source, target, overwrite)
    if crash_after == 'rename':
      raise Crash()

  def remove(path):
    real_remove(path)
    if crash_after == 'unlink':
      raise Crash()

  def write_atomic(path, data):
    real_write(path, data)
    if crash_after == 'index' and path.endswith('index.json'):
      raise Crash()

  monkeypatch.setattr(tf.io.gfile, 'copy', copy)
  monkeypatch.setattr(tf.io.gfile, 'rename', rename)
  monkeypatch.setattr(tf.io.gfile, 'remove', remove)
  monkeypatch.setattr(best_checkpoints.fileio, 'write_atomic', write_atomic)
  with pytest.raises(Crash):
    best.consider(_fake_checkpoint(str(train_dir), 2), _record(2, 0.9))
  monkeypatch.undo()
  # What a kill leaves: the index names a complete checkpoint (the old one,
  # or the new one once the index was written) ...
  with open(best_dir / 'index.json') as f:
    listed = [e['name'] for e in json.load(f)['checkpoints']]
  assert listed == (['model.ckpt-2'] if crash_after == 'index'
                    else ['model.ckpt-1'])
  for name in listed:
    assert os.path.exists(best_dir / (name + '.index'))
    assert os.path.exists(best_dir / (name + '.data-00000-of-00001'))
  # The state file never names a checkpoint that is not the best (it may
  # be gone until the next start), and the index is what eval reads.
  assert _state_names(str(best_dir)) in (listed[0], None)
  assert best_checkpoints.best_checkpoint(str(best_dir)) == str(
      best_dir / listed[0])
  # ... and the next start removes the rest.
  reopened = best_checkpoints.BestCheckpoints(str(best_dir), keep=1)
  assert [e['name'] for e in _assert_consistent(str(best_dir))] == listed
  assert [e['name'] for e in reopened.entries] == listed
  assert _state_names(str(best_dir)) == listed[0]


def test_a_new_second_best_keeps_the_state_file(tmp_path, monkeypatch):
  train_dir, best_dir = tmp_path / 'train', tmp_path / 'best'
  train_dir.mkdir()
  best = best_checkpoints.BestCheckpoints(str(best_dir), keep=2)
  best.consider(_fake_checkpoint(str(train_dir), 1), _record(1, 0.9))
  removed = []
  real_remove = tf.io.gfile.remove

  def remove(path):
    removed.append(os.path.basename(path))
    real_remove(path)

  monkeypatch.setattr(tf.io.gfile, 'remove', remove)
  best.consider(_fake_checkpoint(str(train_dir), 2), _record(2, 0.5))
  monkeypatch.undo()
  assert 'checkpoint' not in removed  # The best did not change.
  assert _state_names(str(best_dir)) == 'model.ckpt-1'


def test_best_checkpoint_reads_the_index_not_the_state_file(tmp_path):
  best_dir = tmp_path / 'best'
  best_dir.mkdir()
  _fake_checkpoint(str(best_dir), 1)
  _fake_checkpoint(str(best_dir), 2)
  (best_dir / 'index.json').write_text(json.dumps(
      {'metric': 'Accuracy', 'keep': 1,
       'checkpoints': [dict(_record(2, 0.9), name='model.ckpt-2')]}))
  # What a kill between the two writes left before: the old best named.
  (best_dir / 'checkpoint').write_text(
      'model_checkpoint_path: "model.ckpt-1"\n')
  assert best_checkpoints.best_checkpoint(str(best_dir)) == str(
      best_dir / 'model.ckpt-2')
  # Not a best/ folder: no answer, whatever else is there.
  assert best_checkpoints.best_checkpoint(str(tmp_path)) is None
  assert best_checkpoints.best_checkpoint(str(best_dir / 'nothing')) is None
  (tmp_path / 'index.json').write_text('{"something": "else"}')
  with pytest.raises(ValueError, match='not an index of best checkpoints'):
    best_checkpoints.best_checkpoint(str(tmp_path))


def _ram_checkpoint(directory, step):
  """model.ckpt-<step> files on ram:// whose content names the step."""
  prefix = f'{directory}/model.ckpt-{step}'
  for suffix in ('.index', '.data-00000-of-00001'):
    with tf.io.gfile.GFile(prefix + suffix, 'w') as f:
      f.write(f'{step}{suffix}')
  return prefix


def _ram_read(path):
  with tf.io.gfile.GFile(path) as f:
    return f.read()


def test_on_an_object_store_files_come_before_the_index(monkeypatch):
  """On ram:// (as on gs://) the copies go straight to their final names,
  and a crash before the index leaves the old best listed and complete;
  the next start removes the leftovers."""
  root = 'ram://best-checkpoints-test'
  train_dir, best_dir = f'{root}/train', f'{root}/train/best'
  try:
    best = best_checkpoints.BestCheckpoints(best_dir, keep=1)
    best.consider(_ram_checkpoint(train_dir, 1), _record(1, 0.5))
    renamed = []
    monkeypatch.setattr(tf.io.gfile, 'rename',
                        lambda *args, **kwargs: renamed.append(args))
    real_write = best_checkpoints.fileio.write_atomic

    def crash_before_index(path, data):
      if path.endswith('index.json'):
        raise KeyboardInterrupt
      real_write(path, data)

    monkeypatch.setattr(best_checkpoints.fileio, 'write_atomic',
                        crash_before_index)
    second = _ram_checkpoint(train_dir, 2)
    with pytest.raises(KeyboardInterrupt):
      best.consider(second, _record(2, 0.9))
    monkeypatch.undo()
    assert not renamed  # No rename on an object store.
    assert best_checkpoints.best_checkpoint(best_dir) == (
        f'{best_dir}/model.ckpt-1')
    reopened = best_checkpoints.BestCheckpoints(best_dir, keep=1)
    assert sorted(tf.io.gfile.listdir(best_dir)) == [
        'checkpoint', 'index.json', 'model.ckpt-1.data-00000-of-00001',
        'model.ckpt-1.index']
    assert reopened.consider(second, _record(2, 0.9))
    assert sorted(tf.io.gfile.listdir(best_dir)) == [
        'checkpoint', 'index.json', 'model.ckpt-2.data-00000-of-00001',
        'model.ckpt-2.index']
    assert _ram_read(f'{best_dir}/model.ckpt-2.index') == '2.index'
    assert _ram_read(f'{best_dir}/checkpoint').startswith(
        'model_checkpoint_path: "model.ckpt-2"')
    assert [e['name'] for e in best_checkpoints.read_index(best_dir)] == [
        'model.ckpt-2']
  finally:
    tf.io.gfile.rmtree(root)


def test_checkpoint_files_takes_a_prefix_literally(tmp_path):
  prefix = _fake_checkpoint(str(tmp_path), '[1]*')
  _fake_checkpoint(str(tmp_path), '1')
  assert best_checkpoints.checkpoint_files(prefix) == [
      prefix + '.data-00000-of-00001', prefix + '.index']
