"""train_image_classifier.py on a tiny shapes dataset: each flag's effect,
user errors as one line, and crash safety (SIGTERM/SIGINT/kill -9).

Most runs call `train(values)` in-process (CifarNet, lenet preprocessing,
batch 8, a few SGD steps). Checkpoints are read back with
tf.train.load_checkpoint and compared with the values that should be there.
A few runs are real subprocesses, for exit codes, stderr and signals.
"""
import datetime
import json
import logging as py_logging
import os
import re
import shutil
import signal
import socket
import warnings

import numpy as np
import pytest
import tensorflow as tf

import slim
from datasets import dataset_factory
from image_classifier import cli
from image_classifier import inputs
from image_classifier import optimization
from image_classifier import run_lock
from preprocessing import preprocessing_factory
from tests import cli_harness as h

tf1 = tf.compat.v1

train_image_classifier = h.script_module('train_image_classifier')
export_inference_graph = h.script_module('export_inference_graph')

SCRIPT = 'train_image_classifier.py'
NUM_CLASSES = h.NUM_CLASSES
LOG_LINE = re.compile(r'global step (\d+): loss = ([0-9.]+) \(([0-9.]+) '
                      r'sec/step, ([0-9.]+) examples/sec\)')
CIFARNET_SCOPES = ('CifarNet/conv1', 'CifarNet/conv2', 'CifarNet/fc3',
                   'CifarNet/fc4', 'CifarNet/logits')


@pytest.fixture(scope='module')
def data(tmp_path_factory):
  return h.make_shapes(tmp_path_factory.mktemp('shapes'))


@pytest.fixture(scope='module')
def base(data, tmp_path_factory):
  """A checkpoint directory trained 3 steps from scratch."""
  train_dir = str(tmp_path_factory.mktemp('base'))
  train_image_classifier.train(h.train_values(data, train_dir,
                                              max_number_of_steps=3))
  return train_dir


def _model_values(path):
  """Model variables of a checkpoint (optimizer slots and step left out)."""
  return {name: value for name, value in h.read_checkpoint(path).items()
          if name.startswith('CifarNet/')
          and 'ExponentialMovingAverage' not in name}


def _save_cifarnet_checkpoint(path, num_classes, var_filter=None, step=7):
  """A random-weight CifarNet checkpoint; returns {name: value} saved."""
  with tf.Graph().as_default():
    global_step = slim.get_or_create_global_step()
    export_inference_graph.build_inference_graph('cifarnet', num_classes)
    variables = [v for v in slim.get_model_variables()
                 if var_filter is None or var_filter(v.op.name)]
    with tf1.Session() as sess:
      sess.run(tf1.global_variables_initializer())
      sess.run(global_step.assign(step))
      tf1.train.Saver(variables + [global_step]).save(sess, path)
      return {v.op.name: sess.run(v) for v in variables}


def _raises_user_error(values, *fragments):
  with pytest.raises(cli.UserError) as info:
    train_image_classifier.train(values)
  message = str(info.value)
  assert '\n' not in message
  for fragment in fragments:
    assert fragment in message, message
  return message


# ------------------------------------------------------------ plain training
def test_trains_logs_and_checkpoints_at_max_steps(data, tmp_path, caplog):
  caplog.set_level(py_logging.INFO)
  train_dir = tmp_path / 'train'
  loss = train_image_classifier.train(
      h.train_values(data, train_dir, max_number_of_steps=3))
  logged = [LOG_LINE.search(r.getMessage()) for r in caplog.records]
  logged = [m for m in logged if m]
  assert [int(m.group(1)) for m in logged] == [1, 2, 3]
  assert all(np.isfinite(float(m.group(2))) for m in logged)
  # examples/sec is batch_size / sec/step (both printed rounded).
  for m in logged:
    seconds, rate = float(m.group(3)), float(m.group(4))
    if seconds >= 0.05:
      assert rate == pytest.approx(8 / seconds, rel=0.05)
  assert float(logged[-1].group(2)) == pytest.approx(loss, abs=1e-4)
  assert h.checkpoint_step(train_dir) == 3
  assert tf.io.gfile.glob(str(train_dir / 'events.out.tfevents.*'))
  # With 5 classes the initial loss is about ln(5).
  assert float(logged[0].group(2)) == pytest.approx(np.log(5), abs=0.3)


def test_restart_resumes_and_does_not_rerun_init_fn(data, base, tmp_path,
                                                     caplog):
  caplog.set_level(py_logging.INFO)
  train_dir = str(tmp_path / 'train')
  # learning_rate=0 keeps the weights as they were restored or initialized.
  train_image_classifier.train(h.train_values(
      data, train_dir, max_number_of_steps=2, learning_rate=0.0))
  first = _model_values(train_dir)
  assert h.checkpoint_step(train_dir) == 2
  caplog.clear()
  train_image_classifier.train(h.train_values(
      data, train_dir, max_number_of_steps=4, learning_rate=0.0,
      checkpoint_path=base))
  assert h.checkpoint_step(train_dir) == 4
  messages = '\n'.join(r.getMessage() for r in caplog.records)
  assert 'Ignoring --checkpoint_path' in messages
  steps = [int(m.group(1)) for m in LOG_LINE.finditer(messages)]
  assert steps == [3, 4]
  # The base checkpoint's values were not applied: still the first run's.
  resumed = _model_values(train_dir)
  base_values = _model_values(base)
  for name, value in first.items():
    np.testing.assert_array_equal(resumed[name], value, err_msg=name)
    assert not np.array_equal(resumed[name], base_values[name]), name
  # At max_number_of_steps already: no further step.
  train_image_classifier.train(h.train_values(
      data, train_dir, max_number_of_steps=4, learning_rate=0.0))
  assert h.checkpoint_step(train_dir) == 4


def test_fine_tune_applies_checkpoint_on_fresh_start(data, base, tmp_path):
  train_dir = tmp_path / 'train'
  train_image_classifier.train(h.train_values(
      data, train_dir, max_number_of_steps=1, learning_rate=0.0,
      checkpoint_path=base))
  tuned, base_values = _model_values(train_dir), _model_values(base)
  assert sorted(tuned) == sorted(base_values)
  for name, value in base_values.items():
    np.testing.assert_array_equal(tuned[name], value, err_msg=name)
  # The global step is not a model variable: it starts again from 0.
  assert h.checkpoint_step(train_dir) == 1


# --------------------------------------------------------------- fine-tuning
def test_trainable_scopes_leave_other_variables_unchanged(data, base,
                                                          tmp_path):
  train_dir = tmp_path / 'train'
  train_image_classifier.train(h.train_values(
      data, train_dir, max_number_of_steps=3, learning_rate=0.1,
      checkpoint_path=base, trainable_scopes='CifarNet/fc4, CifarNet/logits'))
  tuned, base_values = _model_values(train_dir), _model_values(base)
  changed = sorted(name for name in base_values
                   if not np.array_equal(tuned[name], base_values[name]))
  assert changed == ['CifarNet/fc4/biases', 'CifarNet/fc4/weights',
                     'CifarNet/logits/biases', 'CifarNet/logits/weights']


def test_trainable_scopes_matching_nothing_is_a_user_error(data, tmp_path):
  _raises_user_error(
      h.train_values(data, tmp_path / 'train',
                     trainable_scopes='InceptionV3/Logits'),
      '--trainable_scopes=InceptionV3/Logits')


def test_one_class_short_checkpoint_hints_labels_offset(data, tmp_path):
  """The FAQ's case: a 1000-class checkpoint (VGG, ResNet v1) on a dataset
  of 1001 labels (ImageNet's background at 0). Here 4 classes against the
  shapes data's 5: the hint names --labels_offset=1 as well as the scopes."""
  source = str(tmp_path / 'four_classes' / 'model.ckpt')
  _save_cifarnet_checkpoint(source, num_classes=4)
  _raises_user_error(
      h.train_values(data, tmp_path / 'fails', checkpoint_path=source),
      'The checkpoint has 4 classes and the model 5', '--labels_offset=1',
      '--checkpoint_exclude_scopes=CifarNet/logits')


def test_checkpoint_exclude_scopes_are_not_restored(data, tmp_path):
  # A checkpoint whose logits have 10 classes; the shapes data has 5.
  source = str(tmp_path / 'ten_classes' / 'model.ckpt')
  saved = _save_cifarnet_checkpoint(source, num_classes=10)
  assert saved['CifarNet/logits/weights'].shape == (192, 10)

  message = _raises_user_error(
      h.train_values(data, tmp_path / 'fails', checkpoint_path=source),
      'CifarNet/logits/weights', 'CifarNet/logits/biases',
      '--checkpoint_exclude_scopes=CifarNet/logits')
  assert 'CifarNet/conv1' not in message

  train_dir = tmp_path / 'train'
  train_image_classifier.train(h.train_values(
      data, train_dir, max_number_of_steps=1, learning_rate=0.0,
      checkpoint_path=source, checkpoint_exclude_scopes='CifarNet/logits'))
  tuned = _model_values(train_dir)
  assert tuned['CifarNet/logits/weights'].shape == (192, 5)
  for name, value in saved.items():
    if name.startswith('CifarNet/logits'):
      continue
    np.testing.assert_array_equal(tuned[name], value, err_msg=name)
  # Freshly initialized logits: biases start at zero in CifarNet.
  np.testing.assert_array_equal(tuned['CifarNet/logits/biases'],
                                np.zeros(5, np.float32))


def test_ignore_missing_vars(data, tmp_path):
  # A checkpoint holding only the convolutions.
  source = str(tmp_path / 'convs' / 'model.ckpt')
  saved = _save_cifarnet_checkpoint(
      source, NUM_CLASSES,
      var_filter=lambda name: name.startswith(('CifarNet/conv1',
                                               'CifarNet/conv2')))
  assert sorted(saved) == ['CifarNet/conv1/biases', 'CifarNet/conv1/weights',
                           'CifarNet/conv2/biases', 'CifarNet/conv2/weights']
  _raises_user_error(
      h.train_values(data, tmp_path / 'fails', checkpoint_path=source),
      'CifarNet/fc3/weights', '--ignore_missing_vars')

  train_dir = tmp_path / 'train'
  train_image_classifier.train(h.train_values(
      data, train_dir, max_number_of_steps=1, learning_rate=0.0,
      checkpoint_path=os.path.dirname(source), ignore_missing_vars=True))
  tuned = _model_values(train_dir)
  for name, value in saved.items():
    np.testing.assert_array_equal(tuned[name], value, err_msg=name)
  assert tuned['CifarNet/fc3/weights'].shape == (4096, 384)


def test_labels_offset_shifts_labels_and_class_count(data, tmp_path):
  raw = _raw_labels(os.path.join(data, 'shapes_validation_00000-of-00001'
                                 '.tfrecord'))
  with tf.Graph().as_default():
    dataset = dataset_factory.get_dataset('shapes', 'validation', data)
    provider = inputs.eval_provider(dataset, 48)
    batches = inputs.batched(
        provider, preprocessing_factory.get_preprocessing('lenet'), 32, 48,
        labels_offset=2)
    _, labels = inputs.iterator_get_next(batches)
    with tf1.Session() as sess:
      np.testing.assert_array_equal(sess.run(labels), np.array(raw) - 2)

  train_dir = tmp_path / 'train'
  values = h.train_values(data, train_dir, max_number_of_steps=2,
                          labels_offset=1)
  with tf.Graph().as_default() as graph:
    train_image_classifier.build_training_graph(values)
    labels = graph.get_tensor_by_name('IteratorGetNext:1')
    with tf1.Session() as sess:
      seen = np.concatenate([sess.run(labels) for _ in range(12)])
  assert seen.min() >= -1 and seen.max() <= NUM_CLASSES - 2
  train_image_classifier.train(values)
  # num_classes = dataset classes - labels_offset = 4.
  assert h.read_checkpoint(train_dir)['CifarNet/logits/weights'].shape == (
      192, 4)


def _raw_labels(path):
  labels = []
  for record in tf.compat.v1.io.tf_record_iterator(path):
    example = tf.train.Example.FromString(record)
    labels.append(example.features.feature['image/class/label']
                  .int64_list.value[0])
  return labels


# ------------------------------------------------------ clones, EMA, summaries
def _softmax_cross_entropy(logits, labels):
  logits = logits.astype(np.float64)
  shifted = logits - logits.max(axis=1, keepdims=True)
  log_z = np.log(np.exp(shifted).sum(axis=1))
  return float(np.mean(log_z - shifted[np.arange(len(labels)), labels]))


def test_two_clones_on_cpu_average_the_clone_losses(data, tmp_path):
  values = h.train_values(data, tmp_path / 'train', num_clones=2,
                          clone_on_cpu=True, max_number_of_steps=2)
  with tf.Graph().as_default() as graph:
    train_tensor = train_image_classifier.build_training_graph(
        values).train_tensor
    fetch = {'total': train_tensor}
    for i in range(2):
      fetch[i] = (graph.get_tensor_by_name(f'clone_{i}/CifarNet/logits/'
                                           'BiasAdd:0'),
                  graph.get_tensor_by_name(f'clone_{i}/IteratorGetNext:1'),
                  graph.get_tensor_by_name(f'clone_{i}/clone_loss:0'))
      assert fetch[i][0].op.device.endswith('CPU:0')
    with tf1.Session() as sess:
      sess.run(tf1.global_variables_initializer())
      result = sess.run(fetch)
  losses = []
  for i in range(2):
    logits, labels, clone_loss = result[i]
    losses.append(_softmax_cross_entropy(logits, labels))
    assert clone_loss == pytest.approx(losses[i], rel=1e-5)
  assert result['total'] == pytest.approx((losses[0] + losses[1]) / 2,
                                          rel=1e-5)
  # And the real training loop runs with two clones, even without
  # --clone_on_cpu on a machine without GPUs (the original failed there).
  values.clone_on_cpu = False
  train_image_classifier.train(values)
  assert h.checkpoint_step(tmp_path / 'train') == 2


def test_moving_average_decay_keeps_shadow_variables(data, tmp_path):
  train_dir = tmp_path / 'train'
  train_image_classifier.train(h.train_values(
      data, train_dir, max_number_of_steps=3, learning_rate=0.1,
      moving_average_decay=0.5))
  saved = h.read_checkpoint(train_dir)
  for scope in CIFARNET_SCOPES:
    for kind in ('weights', 'biases'):
      name = f'{scope}/{kind}'
      shadow = saved[name + '/ExponentialMovingAverage']
      assert shadow.shape == saved[name].shape
      assert np.all(np.isfinite(shadow))
  assert not np.array_equal(
      saved['CifarNet/logits/weights/ExponentialMovingAverage'],
      saved['CifarNet/logits/weights'])


def test_a_seed_reproduces_the_training_exactly(data, tmp_path):
  # Parallel reads over both shards, parallel preprocessing, and cifarnet
  # preprocessing's stateful random crops and flips: two runs with one
  # --seed end with the same weights, bit for bit.
  saved = []
  for run in ('first', 'second'):
    train_dir = tmp_path / run
    with warnings.catch_warnings(record=True) as caught:
      warnings.simplefilter('always')
      final_loss = train_image_classifier.train(h.train_values(
          data, train_dir, seed=7, num_readers=2, num_preprocessing_threads=4,
          preprocessing_name='cifarnet', max_number_of_steps=4))
    # tf.data's 'Seed 7 from outer graph might be getting used' is hidden.
    assert not [w for w in caught if 'outer graph' in str(w.message)]
    saved.append((final_loss, h.read_checkpoint(train_dir)))
  (first_loss, first), (second_loss, second) = saved
  assert first_loss == second_loss
  assert sorted(first) == sorted(second)
  for name, value in first.items():
    np.testing.assert_array_equal(value, second[name], err_msg=name)


# ------------------------------------------------ optimizers and schedules
@pytest.mark.parametrize('optimizer,slots', [
    ('adadelta', ['Adadelta', 'Adadelta_1']), ('adagrad', ['Adagrad']),
    ('adam', ['Adam', 'Adam_1']), ('adamw', ['AdamW', 'AdamW_1']),
    ('ftrl', ['Ftrl', 'Ftrl_1']),
    ('momentum', ['Momentum']), ('rmsprop', ['RMSProp', 'RMSProp_1']),
    ('sgd', [])])
def test_optimizer_flag_builds_that_optimizer(data, tmp_path, optimizer,
                                              slots):
  with tf.Graph().as_default():
    train_image_classifier.build_training_graph(
        h.train_values(data, tmp_path, optimizer=optimizer))
    names = {v.op.name for v in tf1.global_variables()}
  prefix = 'CifarNet/logits/weights/'
  assert {n[len(prefix):] for n in names if n.startswith(prefix)} == set(
      slots)


def test_learning_rate_schedules_follow_the_original_formulas():
  # 96 examples, batch 8: 12 steps an epoch; 2 epochs per decay: 24 steps.
  steps = [0, 6, 23, 24, 30, 47, 48, 100]
  params = optimization.ScheduleParams(
      learning_rate=0.1, end_learning_rate=0.001,
      learning_rate_decay_factor=0.5, num_epochs_per_decay=2.0,
      warmup_epochs=0)
  expected = {
      'fixed': [0.1] * len(steps),
      'exponential': [0.1 * 0.5 ** (s // 24) for s in steps],
      'polynomial': [(0.1 - 0.001) * (1 - min(s, 24) / 24) + 0.001
                     for s in steps],
  }
  for decay_type, values in expected.items():
    for warmup_epochs in (0, 1):
      with tf.Graph().as_default():
        step = tf1.placeholder(tf.int64, [])
        rate = optimization.configure_learning_rate(
            decay_type, params._replace(warmup_epochs=warmup_epochs), 96, 8,
            step)
        with tf1.Session() as sess:
          got = [sess.run(rate, {step: s}) for s in steps]
      want = values if not warmup_epochs else [
          min(0.1 * s / 12, v) for s, v in zip(steps, values)]
      np.testing.assert_allclose(got, want, rtol=1e-6,
                                 err_msg=f'{decay_type} {warmup_epochs}')


# ------------------------------------------------- user errors, in-process
def test_resume_with_another_class_count_is_a_user_error(data, base,
                                                         tmp_path):
  # train_dir holds a 5-class checkpoint; labels_offset=1 builds 4 classes.
  # tf.compat.v1.train.Saver restores resource variables without checking
  # shapes, so without an explicit check this fails deep in the loss.
  train_dir = tmp_path / 'train'
  shutil.copytree(base, train_dir)
  _raises_user_error(
      h.train_values(data, train_dir, max_number_of_steps=5, labels_offset=1),
      'CifarNet/logits/weights (checkpoint [192, 5], graph [192, 4])',
      '--train_dir')
  assert h.checkpoint_step(train_dir) == 3


def test_resume_with_another_optimizer_is_a_user_error(data, base, tmp_path):
  # The momentum slots are not in a checkpoint trained with plain SGD.
  train_dir = tmp_path / 'train'
  shutil.copytree(base, train_dir)
  _raises_user_error(
      h.train_values(data, train_dir, max_number_of_steps=5,
                     optimizer='momentum'),
      'CifarNet/logits/weights/Momentum', '--train_dir')


@pytest.mark.parametrize('flag,value,valid', [
    ('model_name', 'cifarnett', 'cifarnet'),
    ('dataset_name', 'shape', 'shapes'),
    ('preprocessing_name', 'lenett', 'inception'),
    ('optimizer', 'sgdd',
     'adadelta, adagrad, adam, adamw, ftrl, momentum, rmsprop, sgd'),
    ('learning_rate_decay_type', 'linear',
     'cosine, exponential, fixed, polynomial'),
])
def test_unknown_names_list_the_valid_ones(data, tmp_path, flag, value,
                                           valid):
  _raises_user_error(h.train_values(data, tmp_path / 'train',
                                    **{flag: value}), value, valid)


def test_empty_or_missing_dataset_dir(tmp_path):
  empty = tmp_path / 'empty'
  empty.mkdir()
  _raises_user_error(h.train_values(empty, tmp_path / 'train'), str(empty))
  _raises_user_error(h.train_values(tmp_path / 'nowhere', tmp_path / 'train'),
                     'nowhere')


def test_unwritable_train_dir(tmp_path):
  blocker = tmp_path / 'a_file'
  blocker.write_text('not a directory')
  with pytest.raises(cli.UserError, match='--train_dir=.*a_file/train'):
    cli.ensure_writable_dir(str(blocker / 'train'), '--train_dir')


def _copy_with_corrupt_shard(data, destination):
  shutil.copytree(data, destination)
  shard = os.path.join(destination, 'shapes_train_00001-of-00002.tfrecord')
  content = bytearray(open(shard, 'rb').read())
  middle = len(content) // 2
  content[middle:middle + 64] = bytes(b ^ 0xFF for b in
                                      content[middle:middle + 64])
  with open(shard, 'wb') as f:
    f.write(bytes(content))
  return str(destination), shard


def test_corrupt_record_names_the_file(data, tmp_path):
  corrupt_dir, shard = _copy_with_corrupt_shard(data, tmp_path / 'data')
  _raises_user_error(h.train_values(corrupt_dir, tmp_path / 'train',
                                    max_number_of_steps=40),
                     'Corrupt TFRecord file ' + shard)


def test_nan_loss_stops_and_keeps_the_last_good_checkpoint(data, tmp_path):
  train_dir = tmp_path / 'train'
  train_image_classifier.train(h.train_values(data, train_dir,
                                              max_number_of_steps=2))
  good = h.read_checkpoint(train_dir)
  message = _raises_user_error(
      h.train_values(data, train_dir, max_number_of_steps=50,
                     learning_rate=1e30),
      'NaN', '--learning_rate')
  # Step 2 applies the huge update; the loss of step 3 overflows.
  assert 'at global step 3,' in message
  assert message.endswith(f'The last good checkpoint is '
                          f'{train_dir / "model.ckpt-2"}.')
  assert h.checkpoint_step(train_dir) == 2
  kept = h.read_checkpoint(train_dir)
  for name, value in kept.items():
    assert np.all(np.isfinite(value)), name
    np.testing.assert_array_equal(value, good[name], err_msg=name)
  # Still usable: training resumes from it.
  train_image_classifier.train(h.train_values(data, train_dir,
                                              max_number_of_steps=3))
  assert h.checkpoint_step(train_dir) == 3


# ---------------------------------------------------------------- subprocesses
def _cli(data, train_dir, **overrides):
  flags = dict(h.FAST_TRAIN, dataset_dir=data, train_dir=str(train_dir))
  flags.update(overrides)
  return h.cli_args(flags)


def test_cli_run_writes_flags_and_logs(data, tmp_path):
  train_dir = tmp_path / 'train'
  result = h.run_script(SCRIPT, *_cli(data, train_dir, max_number_of_steps=2))
  assert result.returncode == 0, result.stderr
  assert 'Traceback' not in result.stderr
  assert re.search(r'global step 2: loss = [0-9.]+ \([0-9.]+ sec/step',
                   result.stderr)
  assert h.checkpoint_step(train_dir) == 2
  recorded = json.loads((train_dir / 'train_flags.json').read_text())
  assert recorded['model_name'] == 'cifarnet'
  assert recorded['max_number_of_steps'] == 2
  assert recorded['learning_rate'] == 0.05
  assert not (train_dir / run_lock.FILENAME).exists()


def test_cli_refused_resume_leaves_the_train_dir_unchanged(data, base,
                                                           tmp_path):
  # The flags it was trained with stay where the message sends the user.
  train_dir = tmp_path / 'train'
  shutil.copytree(base, train_dir)
  cli.write_json_atomic(str(train_dir / 'train_flags.json'),
                        dict(h.FAST_TRAIN, max_number_of_steps=3))
  before = h.file_hashes(train_dir)
  message = h.user_error(h.run_script(
      SCRIPT, *_cli(data, train_dir, max_number_of_steps=5,
                    labels_offset=1)), SCRIPT)
  for fragment in ('CifarNet/logits/weights', f'--train_dir={train_dir}',
                   'train_flags.json'):
    assert fragment in message, message
  assert h.file_hashes(train_dir) == before


def test_cli_second_trainer_on_a_locked_train_dir_changes_nothing(
    data, base, tmp_path):
  train_dir = tmp_path / 'train'
  shutil.copytree(base, train_dir)
  with run_lock.RunLock(str(train_dir), heartbeat_secs=3600) as lock:
    before = h.file_hashes(train_dir)
    result = h.run_script(SCRIPT, *_cli(data, train_dir,
                                        max_number_of_steps=5))
    assert h.file_hashes(train_dir) == before
  message = h.user_error(result, SCRIPT)
  for fragment in (f'--train_dir={train_dir} is in use',
                   f'host {socket.gethostname()}', f'pid {os.getpid()}',
                   f'since {lock.record["started"]}'):
    assert fragment in message, message
  assert 'global step' not in result.stderr


def test_cli_two_trainers_the_second_refused_sigterm_releases_the_first(
    data, tmp_path):
  train_dir = tmp_path / 'train'
  lock_path = train_dir / run_lock.FILENAME
  first = h.start_script(SCRIPT, *_cli(data, train_dir,
                                       max_number_of_steps=100000))
  try:
    h.wait_for_line(first, r'global step 2: loss')
    record = json.loads(lock_path.read_text())
    assert (record['host'], record['pid']) == (socket.gethostname(),
                                               first.pid)
    message = h.user_error(h.run_script(
        SCRIPT, *_cli(data, train_dir, max_number_of_steps=5)), SCRIPT)
    assert f'pid {first.pid}' in message, message
    first.send_signal(signal.SIGTERM)
    output = first.communicate(timeout=120)[0]
  finally:
    if first.poll() is None:
      first.kill()
      first.wait()
  assert first.returncode == 128 + signal.SIGTERM, output
  assert not lock_path.exists()


def test_cli_logs_once_without_deprecations_or_cpp_banners(data, tmp_path):
  # TF_CPP_MIN_LOG_LEVEL unset, as a user runs it; adamw and cosine end to
  # end, with --opt_epsilon left at its default.
  result = h.run_script(
      SCRIPT, *_cli(data, tmp_path / 'train', optimizer='adamw',
                    learning_rate_decay_type='cosine', warmup_epochs=0.1),
      tf_cpp_min_log_level=None)
  assert result.returncode == 0, result.stderr
  h.assert_quiet_logs(result.stderr)
  messages = h.log_messages(result.stderr)
  # A message of TensorFlow's logger, printed by both handlers before.
  assert messages.count('Running local_init_op.') == 1, result.stderr
  assert sum('--opt_epsilon=1e-8' in m for m in messages) == 1
  assert 'This TensorFlow binary is optimized' not in result.stderr


def test_cli_verbosity_1_shows_deprecations(data, tmp_path):
  # tf.compat.v1's RMSPropOptimizer calls a deprecated initializer form.
  result = h.run_script(
      SCRIPT, *_cli(data, tmp_path / 'train', optimizer='rmsprop',
                    verbosity=1))
  assert result.returncode == 0, result.stderr
  assert 'is deprecated' in result.stderr
  messages = h.log_messages(result.stderr)
  assert not [m for m, n in zip(messages, messages[1:]) if m == n]


# The messages of every user error are checked in-process above; these
# runs check the process contract (one line, exit 2, no traceback) for the
# errors found before training and for those raised while it runs.
@pytest.mark.parametrize('case', ['missing_dataset_dir', 'unwritable_train_dir',
                                  'incompatible_checkpoint', 'corrupt_record',
                                  'nan_loss'])
def test_cli_user_errors_are_one_line(data, tmp_path, case):
  train_dir = tmp_path / 'train'
  if case == 'missing_dataset_dir':
    args = [a for a in _cli(data, train_dir) if '--dataset_dir' not in a]
    expected = ['--dataset_dir']
  elif case == 'incompatible_checkpoint':
    source = str(tmp_path / 'ten' / 'model.ckpt')
    _save_cifarnet_checkpoint(source, num_classes=10)
    args = _cli(data, train_dir, checkpoint_path=source)
    expected = ['CifarNet/logits/weights', '--checkpoint_exclude_scopes']
  elif case == 'corrupt_record':
    corrupt_dir, shard = _copy_with_corrupt_shard(data, tmp_path / 'data')
    args = _cli(corrupt_dir, train_dir, max_number_of_steps=40)
    expected = [shard]
  elif case == 'unwritable_train_dir':
    (tmp_path / 'file').write_text('x')
    args = _cli(data, tmp_path / 'file' / 'train')
    expected = ['--train_dir', 'not writable']
  else:
    args = _cli(data, train_dir, learning_rate=1e30, max_number_of_steps=50)
    expected = ['NaN', '--learning_rate']
  message = h.user_error(h.run_script(SCRIPT, *args), SCRIPT)
  for fragment in expected:
    assert fragment in message, message


# ------------------------------------------------------------- crash safety
@pytest.mark.parametrize('signum', [signal.SIGTERM, signal.SIGINT])
def test_signal_writes_a_checkpoint_at_the_step_reached(data, tmp_path,
                                                        signum):
  train_dir = tmp_path / 'train'
  process = h.start_script(SCRIPT, *_cli(data, train_dir,
                                         max_number_of_steps=100000))
  try:
    _, before = h.wait_for_line(process, r'global step 2: loss')
    process.send_signal(signum)
    output = before + process.communicate(timeout=120)[0]
  finally:
    if process.poll() is None:
      process.kill()
      process.wait()
  assert process.returncode == 128 + signum, output
  assert 'run the same command again to resume' in output, output
  assert 'Traceback' not in output, output
  logged = [int(s) for s in re.findall(r'global step (\d+): loss', output)]
  step = h.checkpoint_step(train_dir)
  if signum == signal.SIGTERM:
    # The handler only flags the stop: the step in flight ends and logs.
    assert step == logged[-1], (step, output)
    assert f'stopping training at global step {step}' in output, output
  else:
    # KeyboardInterrupt surfaces when the step in flight returns, before
    # its log line; no step runs after that.
    assert logged[-1] <= step <= logged[-1] + 1, (step, output)
  assert step < 100000
  saved = re.findall(r'Saved checkpoint \S*model\.ckpt-(\d+)', output)
  assert saved and int(saved[-1]) == step, output
  assert not (train_dir / run_lock.FILENAME).exists()
  for name, value in h.read_checkpoint(train_dir).items():
    assert np.all(np.isfinite(value)), name


def test_kill_9_leaves_a_usable_checkpoint_and_rerun_ends_at_max(data,
                                                                 tmp_path):
  train_dir = tmp_path / 'train'
  h.kill_9_after(h.start_script(SCRIPT, *_cli(data, train_dir,
                                              max_number_of_steps=100000,
                                              save_interval_secs=1)),
                 r'Saved checkpoint \S*model\.ckpt-\d+',
                 r'global step \d+: loss')
  step = h.checkpoint_step(train_dir)
  latest = tf.train.latest_checkpoint(str(train_dir))
  assert latest.endswith(f'model.ckpt-{step}')
  # The lock the kill left names a dead process: the next run takes it.
  left = json.loads((train_dir / run_lock.FILENAME).read_text())
  assert 'gone' in run_lock.stale_reason(
      left, socket.gethostname(), os.getpid(),
      datetime.datetime.now().astimezone())
  for name, value in h.read_checkpoint(latest).items():
    assert np.all(np.isfinite(value)), name
  target = step + 3
  train_image_classifier.train(h.train_values(data, train_dir,
                                              max_number_of_steps=target))
  assert h.checkpoint_step(train_dir) == target


@pytest.mark.parametrize('precision', ['bfloat16', 'float16'])
def test_mixed_precision_training_keeps_float32_checkpoints(
    data, tmp_path, precision):
  train_dir = tmp_path / 'train'
  loss = train_image_classifier.train(h.train_values(
      data, train_dir, max_number_of_steps=3, precision=precision))
  assert np.isfinite(loss)
  weights = h.read_checkpoint(train_dir)
  assert h.checkpoint_step(train_dir) == 3
  model = {n: v for n, v in weights.items() if n.startswith('CifarNet/')}
  assert model and all(v.dtype == np.float32 for v in model.values())
  # float16 trains with dynamic loss scaling: its scale is checkpointed.
  assert ('loss_scale/scale' in weights) == (precision == 'float16')
  # The checkpoint resumes in float32.
  train_image_classifier.train(h.train_values(
      data, train_dir, max_number_of_steps=4))
  assert h.checkpoint_step(train_dir) == 4


def test_thread_and_xla_flags_reach_the_session(data, tmp_path):
  from flag_groups import compute_flags  # pylint: disable=import-outside-toplevel
  from image_classifier import compute  # pylint: disable=import-outside-toplevel
  values = h.train_values(data, tmp_path / 'train', intra_op_threads=1,
                          inter_op_threads=2, xla=True)
  config = compute.session_config(compute_flags.compute_spec(values))
  assert (config.intra_op_parallelism_threads,
          config.inter_op_parallelism_threads) == (1, 2)
  assert config.graph_options.optimizer_options.global_jit_level == (
      tf1.OptimizerOptions.ON_1)
  default = compute.session_config(
      compute_flags.compute_spec(h.train_values(data, tmp_path)))
  assert default == tf1.ConfigProto()
  # And training runs with them.
  assert np.isfinite(train_image_classifier.train(values))
  assert h.checkpoint_step(tmp_path / 'train') == 2
