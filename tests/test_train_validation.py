"""Validation while training, best checkpoints, batch-norm statistics and the
progress facts of the log line (train_image_classifier.py, eval)."""
import json
import os
import re

import numpy as np
import pytest
import tensorflow as tf

import slim
from image_classifier import best_checkpoints
from image_classifier import cli
from image_classifier import validation as validation_lib
from tests import cli_harness as h

train_image_classifier = h.script_module('train_image_classifier')
eval_image_classifier = h.script_module('eval_image_classifier')

SCRIPT = 'train_image_classifier.py'
VALIDATE = dict(validation_split_name='validation',
                validation_every_n_steps=1, keep_best_checkpoints=2)


@pytest.fixture(scope='module')
def data(tmp_path_factory):
  return h.make_shapes(tmp_path_factory.mktemp('shapes'), train=64,
                       validation=24)


def _records(train_dir):
  with open(os.path.join(train_dir, 'validation.jsonl')) as f:
    return [json.loads(line) for line in f]


def _check_best(train_dir, keep):
  """best/ against validation.jsonl: the `keep` best, complete, equal to the
  checkpoint that was validated, nothing else. Returns the kept names."""
  best_dir = os.path.join(train_dir, 'best')
  with open(os.path.join(best_dir, 'index.json')) as f:
    kept = json.load(f)['checkpoints']
  records = {}
  for record in _records(train_dir):
    records[record['checkpoint']] = record  # A rerun may validate again.
  ranked = sorted(records.values(),
                  key=lambda r: (r['Accuracy'], r['global_step']),
                  reverse=True)
  assert [e['name'] for e in kept] == [r['checkpoint']
                                       for r in ranked[:keep]]
  for entry in kept:
    assert entry['Accuracy'] == records[entry['name']]['Accuracy']
    copy = h.read_checkpoint(os.path.join(best_dir, entry['name']))
    assert int(copy['global_step']) == entry['global_step']
    original = os.path.join(train_dir, entry['name'])
    if os.path.exists(original + '.index'):  # Not yet rotated away.
      for name, value in h.read_checkpoint(original).items():
        np.testing.assert_array_equal(copy[name], value)
  listed = {e['name'] + s for e in kept
            for s in ('.index', '.data-00000-of-00001')}
  assert set(os.listdir(best_dir)) == listed | {'index.json', 'checkpoint'}
  assert tf.train.latest_checkpoint(best_dir).endswith(kept[0]['name'])
  return [e['name'] for e in kept]


def test_validation_keeps_the_best_checkpoints_of_its_own_records(data,
                                                                   tmp_path):
  train_dir = tmp_path / 'train'
  train_image_classifier.train(h.train_values(
      data, train_dir, max_number_of_steps=5, moving_average_decay=0.9,
      **VALIDATE))
  records = _records(train_dir)
  assert [r['global_step'] for r in records] == [1, 2, 3, 4, 5]
  assert all(r['examples'] == 24 and r['split'] == 'validation'
             and 0 <= r['Accuracy'] <= 1 and r['Recall_5'] == 1.0
             for r in records)
  _check_best(str(train_dir), keep=2)
  events = tf.io.gfile.glob(str(train_dir / 'validation' / 'events.*'))
  tags = {v.tag for e in tf.compat.v1.train.summary_iterator(events[0])
          for v in e.summary.value}
  assert tags == {'validation/Accuracy', 'validation/Recall_5'}


def test_validation_matches_eval_of_the_same_checkpoint(data, tmp_path):
  train_dir = tmp_path / 'train'
  train_image_classifier.train(h.train_values(
      data, train_dir, max_number_of_steps=3,
      validation_split_name='validation', validation_every_n_secs=0))
  (record,) = _records(train_dir)  # Only at the end.
  assert record['checkpoint'] == 'model.ckpt-3'
  metrics = eval_image_classifier.evaluate(
      h.eval_values(data, tmp_path / 'eval'), str(train_dir / 'model.ckpt-3'))
  assert record['Accuracy'] == pytest.approx(metrics['Accuracy'], abs=1e-6)


def test_validation_flags_are_checked(data, tmp_path):
  with pytest.raises(cli.UserError, match='--keep_best_checkpoints'):
    train_image_classifier.train(h.train_values(
        data, tmp_path, keep_best_checkpoints=2))
  with pytest.raises(cli.UserError, match='--batch_norm_decay must be'):
    train_image_classifier.train(h.train_values(
        data, tmp_path, batch_norm_decay=1.5))


def test_kill_9_leaves_best_intact_and_the_rerun_goes_on(data, tmp_path):
  train_dir = tmp_path / 'train'
  args = h.cli_args(dict(h.FAST_TRAIN, dataset_dir=data,
                         train_dir=str(train_dir), **VALIDATE,
                         max_number_of_steps=100000))
  # Killed while it validates and copies, several times a second.
  h.kill_9_after(h.start_script(SCRIPT, *args),
                 r'Kept model\.ckpt-\d+ among the 2 best',
                 r'Validation at global step \d+')
  best_dir = train_dir / 'best'
  with open(best_dir / 'index.json') as f:
    for entry in json.load(f)['checkpoints']:  # Complete and readable.
      h.read_checkpoint(str(best_dir / entry['name']))
  step = h.checkpoint_step(train_dir)
  train_image_classifier.train(h.train_values(
      data, train_dir, max_number_of_steps=step + 2, **VALIDATE))
  assert h.checkpoint_step(train_dir) == step + 2
  _check_best(str(train_dir), keep=2)


def test_log_line_has_lr_and_eta_and_short_runs_warn(data, tmp_path):
  result = h.run_script(SCRIPT, *h.cli_args(dict(
      h.FAST_TRAIN, dataset_dir=data, train_dir=str(tmp_path / 'train'),
      model_name='mobilenet_v1_025', train_image_size=32,
      max_number_of_steps=3)))
  assert result.returncode == 0, result.stderr
  assert re.search(r'global step 3: loss = [0-9.]+ \([0-9.]+ sec/step, '
                   r'[0-9.]+ examples/sec\), lr = 0\.05, ETA 0:00:00',
                   result.stderr), result.stderr
  assert ('Batch norm: 3 steps are too few for the moving statistics with '
          'decay 0.9997: decay^steps = 1.00' in result.stderr)


def test_recomputed_statistics_fix_an_under_trained_checkpoint(data,
                                                              tmp_path):
  # MobileNet v1 0.25 trained for 200 steps with its own decay 0.9997: its
  # moving statistics are still 0.9997^200 = 94% the initial 0 and 1, so it
  # evaluates at chance even on the examples it fits (the training split).
  train_dir = tmp_path / 'train'
  train_image_classifier.train(h.train_values(
      data, train_dir, model_name='mobilenet_v1_025', max_number_of_steps=200,
      batch_size=16, optimizer='adam', learning_rate=0.003, opt_epsilon=1e-3,
      train_image_size=32, log_every_n_steps=50))
  values = dict(model_name='mobilenet_v1_025', batch_size=32,
                eval_image_size=32, dataset_split_name='train')
  plain = eval_image_classifier.evaluate(
      h.eval_values(data, tmp_path / 'plain', **values), str(train_dir))
  recomputed = eval_image_classifier.evaluate(
      h.eval_values(data, tmp_path / 'recomputed',
                    recompute_batch_norm_statistics=4, **values),
      str(train_dir))
  assert plain['Accuracy'] < 0.5 < 0.8 < recomputed['Accuracy']
  noted = recomputed['batch_norm_statistics']
  assert noted['recomputed_batches'] == 4 and noted['split'] == 'train'
  # The saved checkpoint (for export) evaluates the same without recomputing.
  again = eval_image_classifier.evaluate(
      h.eval_values(data, tmp_path / 'again', **values), noted['checkpoint'])
  assert again['Accuracy'] == pytest.approx(recomputed['Accuracy'])


def test_eval_of_best_after_a_kill_between_its_writes_is_the_best(
    data, tmp_path, monkeypatch):
  train_dir = tmp_path / 'train'
  train_image_classifier.train(h.train_values(
      data, train_dir, max_number_of_steps=3,
      **dict(VALIDATE, keep_best_checkpoints=1)))
  best_dir = str(train_dir / 'best')
  (kept,) = _check_best(str(train_dir), keep=1)
  other = next(r for r in _records(str(train_dir)) if r['checkpoint'] != kept)

  class Kill(Exception):
    pass

  real_write = best_checkpoints.fileio.write_atomic

  def write_atomic(path, data):
    real_write(path, data)
    if path.endswith('index.json'):
      raise Kill()  # Before best/checkpoint is rewritten.

  monkeypatch.setattr(best_checkpoints.fileio, 'write_atomic', write_atomic)
  with pytest.raises(Kill):
    best_checkpoints.BestCheckpoints(best_dir, keep=1).consider(
        str(train_dir / other['checkpoint']), dict(other, Accuracy=2.0))
  monkeypatch.undo()
  with open(os.path.join(best_dir, 'index.json')) as f:
    (entry,) = json.load(f)['checkpoints']
  assert entry['name'] == other['checkpoint']
  # The kill left no state file naming the pushed-out `kept` ...
  state = os.path.join(best_dir, 'checkpoint')
  assert not os.path.exists(state) or (
      tf.train.latest_checkpoint(best_dir).endswith(entry['name']))
  # ... and whatever one says (an older version left it naming `kept`,
  # whose files the kill left there too) ...
  with open(state, 'w') as f:
    f.write(f'model_checkpoint_path: "{kept}"\n')
  assert os.path.exists(os.path.join(best_dir, kept + '.index'))
  # ... eval of <train_dir>/best evaluates the best that index.json lists.
  values = h.eval_values(data, tmp_path / 'eval', checkpoint_path=best_dir)
  (path,) = eval_image_classifier.checkpoints_to_evaluate(values)
  assert path == os.path.join(best_dir, other['checkpoint'])
  metrics = eval_image_classifier.evaluate(values, path)
  assert metrics['global_step'] == other['global_step'] != int(
      kept.rsplit('-', 1)[1])
  # So does fine-tuning from it (learning_rate=0 keeps what it restored).
  tuned = tmp_path / 'tuned'
  train_image_classifier.train(h.train_values(
      data, tuned, max_number_of_steps=1, learning_rate=0.0,
      checkpoint_path=best_dir))
  restored, best = h.read_checkpoint(tuned), h.read_checkpoint(path)
  for name in [n for n in best if n.startswith('CifarNet/')]:
    np.testing.assert_array_equal(restored[name], best[name], err_msg=name)


def _validated_and_evaluated(data, tmp_path, steps, train_flags, eval_flags):
  """(validation.jsonl's last record, eval's metrics of its checkpoint)."""
  train_dir = tmp_path / 'train'
  train_image_classifier.train(h.train_values(
      data, train_dir, max_number_of_steps=steps,
      validation_split_name='validation', validation_every_n_secs=0,
      **train_flags))
  record = _records(train_dir)[-1]  # Only at the end.
  assert record['checkpoint'] == f'model.ckpt-{steps}'
  metrics = eval_image_classifier.evaluate(
      h.eval_values(data, tmp_path / 'eval', **eval_flags),
      str(train_dir / record['checkpoint']))
  return record, metrics


@pytest.mark.parametrize('train_flags, eval_flags', [
    (dict(moving_average_decay=0.9), dict(moving_average_decay=0.9)),
    (dict(quantize_delay=0), dict(quantize=True)),
    (dict(quantize_delay=2), dict(quantize=True)),
    (dict(quantize_delay=0, moving_average_decay=0.9),
     dict(quantize=True, moving_average_decay=0.9)),
], ids=['moving_average', 'quantized_from_0', 'quantized_from_2',
        'quantized_moving_average'])
def test_validation_reports_what_eval_reports_with_the_same_flags(
    data, tmp_path, train_flags, eval_flags):
  record, metrics = _validated_and_evaluated(data, tmp_path, 6, train_flags,
                                             eval_flags)
  assert record['Accuracy'] == pytest.approx(metrics['Accuracy'], abs=1e-6)


def test_validation_before_the_quantize_delay_is_the_float_network(
    data, tmp_path):
  # Quantization starts at step 10: at step 6 eval measures the float
  # network (without --quantize), and so does validation.
  record, metrics = _validated_and_evaluated(
      data, tmp_path, 6, dict(quantize_delay=10), {})
  assert record['Accuracy'] == pytest.approx(metrics['Accuracy'], abs=1e-6)


@pytest.mark.skipif(not slim.precision.cpu_supports_bfloat16(),
                    reason='this CPU computes bfloat16 slowly (no AVX512 '
                    'BF16 / AMX), so the bfloat16 network is not tested')
def test_bfloat16_validation_reports_what_bfloat16_eval_reports(
    data, tmp_path):
  record, metrics = _validated_and_evaluated(
      data, tmp_path, 4, dict(precision='bfloat16'),
      dict(precision='bfloat16'))
  assert record['Accuracy'] == pytest.approx(metrics['Accuracy'], abs=1e-6)


def _validation_ops(values, scope):
  with tf.Graph().as_default() as graph:
    built = train_image_classifier.build_training_graph(values)
  return built.validation, [op for op in graph.get_operations()
                            if op.name.startswith(scope + '/')]


def test_validation_network_is_eval_s_network(data, tmp_path):
  """At chance accuracy, float and quantized (or bfloat16) agree, so the
  graphs show what validation measures: the training precision, and the
  quantized network from the quantize delay on."""
  flags = dict(validation_split_name='validation')
  graph, ops = _validation_ops(h.train_values(
      data, tmp_path, precision='bfloat16', **flags), 'validation')
  assert any(op.type == 'Conv2D' and op.get_attr('T') == tf.bfloat16
             for op in ops)
  graph, ops = _validation_ops(h.train_values(
      data, tmp_path, quantize_delay=2, **flags), 'validation_quantized')
  assert graph.quantize_from == 2 and graph.quantized is not None
  assert any(op.type == 'FakeQuantWithMinMaxVars' for op in ops)
  validator = validation_lib.Validator(graph, str(tmp_path))
  assert [validator._graph_at(step) is graph.quantized  # pylint: disable=protected-access
          for step in (1, 2, 3)] == [False, True, True]
  graph, ops = _validation_ops(h.train_values(
      data, tmp_path, quantize_delay=0, **flags), 'validation_quantized')
  assert graph.quantized is None and ops
