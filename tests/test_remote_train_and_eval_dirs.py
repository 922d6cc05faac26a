"""--train_dir and --eval_dir on a remote filesystem (TensorFlow's in-memory
ram://, as gs:// would be): training with validation and best checkpoints,
then evaluation of best/ with its report, in one process."""
import json
import os
import uuid

import pytest
import tensorflow as tf

import slim
from image_classifier import cli
from image_classifier import fileio
from image_classifier import run_lock
from tests import cli_harness as h

train_image_classifier = h.script_module('train_image_classifier')
eval_image_classifier = h.script_module('eval_image_classifier')


@pytest.fixture(scope='module')
def data(tmp_path_factory):
  return h.make_shapes(tmp_path_factory.mktemp('shapes'), train=16,
                       validation=8)


@pytest.fixture
def ram_root():
  root = f'ram://remote-dirs-{uuid.uuid4().hex}'
  yield root
  if tf.io.gfile.exists(root):
    tf.io.gfile.rmtree(root)


def _checkpoint_step(train_dir):
  """The global step of the latest checkpoint in `train_dir` (read as a
  prefix: tf.train.load_checkpoint takes a ram:// prefix for a folder)."""
  latest = tf.train.latest_checkpoint(train_dir)
  return int(slim.variables.checkpoint_reader(latest).get_tensor(
      'global_step'))


def _train(values):
  """What train_image_classifier.main does with the values, minus flags."""
  cli.ensure_writable_dir(values.train_dir, '--train_dir')
  with run_lock.lock_for(values.train_dir, settle_secs=0) as lock:
    assert isinstance(lock, run_lock.RemoteRunLock)
    assert tf.io.gfile.exists(lock.path)
    train_image_classifier.train(values, flags_record={'note': 'ram'})
  assert not tf.io.gfile.exists(lock.path)


def _evaluate(values):
  """What eval_image_classifier.main does with the values, minus flags."""
  cli.ensure_writable_dir(values.eval_dir, '--eval_dir')
  (checkpoint,) = eval_image_classifier.checkpoints_to_evaluate(values)
  evaluation = eval_image_classifier.evaluate_with_report(values, checkpoint)
  eval_image_classifier.report(evaluation.metrics, values.eval_dir)
  eval_image_classifier.write_report(evaluation, values.eval_dir)
  return checkpoint, evaluation.metrics


def test_train_and_eval_with_every_output_on_ram(data, ram_root):
  train_dir, eval_dir = f'{ram_root}/train', f'{ram_root}/eval'
  _train(h.train_values(
      data, train_dir, max_number_of_steps=3,
      validation_split_name='validation', validation_every_n_steps=1,
      keep_best_checkpoints=2))
  assert _checkpoint_step(train_dir) == 3
  assert fileio.read_json(f'{train_dir}/train_flags.json') == {'note': 'ram'}
  lines = fileio.read_text(f'{train_dir}/validation.jsonl').splitlines()
  assert [json.loads(line)['global_step'] for line in lines] == [1, 2, 3]
  kept = fileio.read_json(f'{train_dir}/best/index.json')['checkpoints']
  assert len(kept) == 2
  best_files = set(tf.io.gfile.listdir(f'{train_dir}/best'))
  assert best_files == {'index.json', 'checkpoint'} | {
      e['name'] + suffix for e in kept
      for suffix in ('.index', '.data-00000-of-00001')}
  # A resumed run on the same remote train_dir goes on from its checkpoint.
  _train(h.train_values(
      data, train_dir, max_number_of_steps=4,
      validation_split_name='validation', validation_every_n_steps=1,
      keep_best_checkpoints=2))
  assert _checkpoint_step(train_dir) == 4
  assert len(fileio.read_text(
      f'{train_dir}/validation.jsonl').splitlines()) == 4

  checkpoint, metrics = _evaluate(h.eval_values(
      data, eval_dir, checkpoint_path=f'{train_dir}/best'))
  best = fileio.read_json(f'{train_dir}/best/index.json')['checkpoints'][0]
  assert checkpoint == f'{train_dir}/best/{best["name"]}'
  assert metrics['global_step'] == best['global_step']
  assert metrics['Accuracy'] == pytest.approx(best['Accuracy'], abs=1e-6)
  assert fileio.read_json(f'{eval_dir}/metrics.json')['Accuracy'] == (
      pytest.approx(metrics['Accuracy']))
  written = set(tf.io.gfile.listdir(eval_dir))
  assert {'metrics.json', 'per_class.json', 'index.html'} <= written
  # No path was taken as a local one ('ram:/...' under the working folder).
  assert not os.path.exists('ram:')
