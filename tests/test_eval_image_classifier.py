"""eval_image_classifier.py on a tiny shapes dataset.

The reported metrics are checked against an independent computation: the
validation records are read with PIL (not the TF decoder), preprocessed in
numpy ((x - 128) / 128, lenet preprocessing), the checkpoint's weights are
run in a plain session on them, and accuracy / recall@5 are counted in numpy.
"""
import io
import json
import os
import re
import sys

import numpy as np
from PIL import Image
import pytest
import tensorflow as tf

import slim
from nets import nets_factory
from image_classifier import cli
from tests import cli_harness as h

tf1 = tf.compat.v1

eval_image_classifier = h.script_module('eval_image_classifier')
train_image_classifier = h.script_module('train_image_classifier')
export_inference_graph = h.script_module('export_inference_graph')

SCRIPT = 'eval_image_classifier.py'
NUM_VALIDATION = 48


@pytest.fixture(scope='module')
def data(tmp_path_factory):
  return h.make_shapes(tmp_path_factory.mktemp('shapes'),
                       validation=NUM_VALIDATION)


def _decoded_split(dataset_dir, split):
  """(images after lenet preprocessing, labels) of a shapes split, in file
  order (shard by shard)."""
  images, labels = [], []
  for name in sorted(os.listdir(dataset_dir)):
    if not (name.startswith(f'shapes_{split}_') and
            name.endswith('.tfrecord')):
      continue
    for record in tf1.io.tf_record_iterator(os.path.join(dataset_dir, name)):
      feature = tf.train.Example.FromString(record).features.feature
      png = feature['image/encoded'].bytes_list.value[0]
      pixels = np.asarray(Image.open(io.BytesIO(png)).convert('RGB'))
      images.append((pixels.astype(np.float32) - 128.0) / 128.0)
      labels.append(feature['image/class/label'].int64_list.value[0])
  return np.stack(images), np.array(labels)


@pytest.fixture(scope='module')
def validation(data):
  """(images [48, 32, 32, 3] after lenet preprocessing, labels), file order."""
  images, labels = _decoded_split(data, 'validation')
  assert len(labels) == NUM_VALIDATION
  return images, labels


@pytest.fixture(scope='module')
def trained(data, tmp_path_factory):
  """A CifarNet train_dir after 30 steps (batch 16) on the shapes data."""
  train_dir = str(tmp_path_factory.mktemp('trained'))
  train_image_classifier.train(h.train_values(
      data, train_dir, max_number_of_steps=30, batch_size=16,
      learning_rate=0.05))
  return train_dir


def _logits(weights, images, num_classes=h.NUM_CLASSES):
  """CifarNet logits for `images` with the given {name: value} weights."""
  with tf.Graph().as_default():
    placeholder, logits, _ = export_inference_graph.build_inference_graph(
        'cifarnet', num_classes)
    with tf1.Session() as sess:
      for variable in slim.get_model_variables():
        variable.load(weights[variable.op.name], sess)
      return sess.run(logits, {placeholder: images})


def _accuracy(logits, labels):
  return float(np.mean(np.argmax(logits, 1) == labels))


def _recall_at_5(logits, labels):
  # The label is among the 5 highest logits; out-of-range labels never are.
  hits = []
  for row, label in zip(logits, labels):
    hits.append(0 <= label < len(row) and
                np.sum(row > row[label]) < 5)
  return float(np.mean(hits))


def _latest(train_dir):
  return tf.train.latest_checkpoint(train_dir)


# ------------------------------------------------------------------ metrics
def test_metrics_equal_an_independent_computation(data, trained, validation,
                                                  tmp_path):
  images, labels = validation
  prefix = _latest(trained)
  result = eval_image_classifier.evaluate(
      h.eval_values(data, tmp_path / 'eval'), prefix)
  logits = _logits(h.read_checkpoint(prefix), images)
  expected = _accuracy(logits, labels)
  assert result['Accuracy'] == pytest.approx(expected, abs=1e-6)
  assert result['Recall_5'] == pytest.approx(_recall_at_5(logits, labels),
                                             abs=1e-6)
  assert result['global_step'] == 30
  assert result['checkpoint'] == prefix


def test_max_num_batches_limits_the_batches(data, trained, validation,
                                            tmp_path, capsys, monkeypatch):
  images, labels = validation
  prefix = _latest(trained)
  # The bar shows on a terminal only (a log file gets no redraws).
  monkeypatch.setattr(sys.stderr, 'isatty', lambda: True)
  result = eval_image_classifier.evaluate(
      h.eval_values(data, tmp_path / 'eval', max_num_batches=2,
                    progress_bar=True), prefix)
  logits = _logits(h.read_checkpoint(prefix), images[:32])
  assert result['Accuracy'] == pytest.approx(_accuracy(logits, labels[:32]),
                                             abs=1e-6)
  assert '2/2' in capsys.readouterr().err  # The progress bar.


def test_labels_offset(data, validation, tmp_path):
  images, labels = validation
  train_dir = str(tmp_path / 'train')
  train_image_classifier.train(h.train_values(
      data, train_dir, max_number_of_steps=10, batch_size=16,
      labels_offset=1))
  prefix = _latest(train_dir)
  result = eval_image_classifier.evaluate(
      h.eval_values(data, tmp_path / 'eval', labels_offset=1), prefix)
  logits = _logits(h.read_checkpoint(prefix), images, num_classes=4)
  shifted = labels - 1
  assert result['Accuracy'] == pytest.approx(_accuracy(logits, shifted),
                                             abs=1e-6)
  assert result['Recall_5'] == pytest.approx(_recall_at_5(logits, shifted),
                                             abs=1e-6)
  # Without the offset the 4-class checkpoint does not fit: one clear line.
  with pytest.raises(cli.UserError, match='--labels_offset'):
    eval_image_classifier.evaluate(h.eval_values(data, tmp_path / 'eval'),
                                   prefix)


def test_moving_average_evaluation_reads_the_shadow_values(
    data, trained, validation, tmp_path):
  images, labels = validation
  shadow = {name: value
            for name, value in h.read_checkpoint(_latest(trained)).items()
            if name.startswith('CifarNet/')}
  shadow_logits = _logits(shadow, images)
  # Raw weights: the trained ones, with a large bias on one class so that
  # they always predict that class and score differently.
  counts = np.bincount(labels, minlength=h.NUM_CLASSES)
  target = int(np.argmax(np.abs(counts / len(labels)
                                - _accuracy(shadow_logits, labels))))
  raw = dict(shadow)
  raw['CifarNet/logits/biases'] = np.where(
      np.arange(h.NUM_CLASSES) == target, 1e4, 0.0).astype(np.float32)
  raw_logits = _logits(raw, images)
  raw_accuracy = _accuracy(raw_logits, labels)
  shadow_accuracy = _accuracy(shadow_logits, labels)
  assert raw_accuracy == pytest.approx(counts[target] / len(labels))
  assert raw_accuracy != pytest.approx(shadow_accuracy)

  prefix = str(tmp_path / 'ema' / 'model.ckpt')
  with tf.Graph().as_default():
    global_step = slim.get_or_create_global_step()
    export_inference_graph.build_inference_graph('cifarnet', h.NUM_CLASSES)
    ema = tf1.train.ExponentialMovingAverage(0.999, global_step)
    ema.apply(slim.get_model_variables())
    with tf1.Session() as sess:
      sess.run(tf1.global_variables_initializer())
      for variable in slim.get_model_variables():
        variable.load(raw[variable.op.name], sess)
        ema.average(variable).load(shadow[variable.op.name], sess)
      global_step.load(11, sess)
      tf1.train.Saver().save(sess, prefix)

  averaged = eval_image_classifier.evaluate(
      h.eval_values(data, tmp_path / 'eval', moving_average_decay=0.999),
      prefix)
  plain = eval_image_classifier.evaluate(
      h.eval_values(data, tmp_path / 'eval'), prefix)
  assert averaged['Accuracy'] == pytest.approx(shadow_accuracy, abs=1e-6)
  assert plain['Accuracy'] == pytest.approx(raw_accuracy, abs=1e-6)
  assert averaged['global_step'] == plain['global_step'] == 11


def test_moving_average_of_a_trained_checkpoint(data, validation, tmp_path):
  # train --moving_average_decay, then eval with it: the shadow values.
  images, labels = validation
  train_dir = str(tmp_path / 'train')
  train_image_classifier.train(h.train_values(
      data, train_dir, max_number_of_steps=4, learning_rate=0.1,
      moving_average_decay=0.9))
  saved = h.read_checkpoint(train_dir)
  shadow = {name[:-len('/ExponentialMovingAverage')]: value
            for name, value in saved.items()
            if name.endswith('/ExponentialMovingAverage')}
  assert len(shadow) == 10  # Weights and biases of the 5 CifarNet layers.
  result = eval_image_classifier.evaluate(
      h.eval_values(data, tmp_path / 'eval', moving_average_decay=0.9),
      _latest(train_dir))
  assert result['Accuracy'] == pytest.approx(
      _accuracy(_logits(shadow, images), labels), abs=1e-6)
  assert result['global_step'] == 4


def test_directory_checkpoint_path_and_report(data, trained, validation,
                                              tmp_path, capsys):
  eval_dir = tmp_path / 'eval'
  values = h.eval_values(data, eval_dir, checkpoint_path=trained)
  prefixes = list(eval_image_classifier.checkpoints_to_evaluate(values))
  assert prefixes == [_latest(trained)]
  cli.ensure_writable_dir(str(eval_dir), '--eval_dir')
  result = eval_image_classifier.evaluate(values, prefixes[0])
  eval_image_classifier.report(result, str(eval_dir))
  printed = capsys.readouterr().out
  assert f'Accuracy: {result["Accuracy"]:.4f}\n' in printed
  assert f'Recall_5: {result["Recall_5"]:.4f}\n' in printed
  assert json.loads((eval_dir / 'metrics.json').read_text()) == result


# ------------------------------------------------------------------ report
def _softmax(logits):
  exp = np.exp(logits - logits.max(axis=1, keepdims=True))
  return exp / exp.sum(axis=1, keepdims=True)


def test_report_files_match_numpy(data, trained, validation, tmp_path):
  images, labels = validation
  prefix = _latest(trained)
  eval_dir = tmp_path / 'eval'
  evaluation = eval_image_classifier.evaluate_with_report(
      h.eval_values(data, eval_dir, report_misclassified=4), prefix)
  eval_image_classifier.write_report(evaluation, str(eval_dir))
  logits = _logits(h.read_checkpoint(prefix), images)
  predictions = np.argmax(logits, 1)

  confusion = json.loads((eval_dir / 'confusion_matrix.json').read_text())
  assert confusion['class_names'] == ['circle', 'square', 'triangle',
                                      'cross', 'diamond']  # labels.txt
  expected = np.zeros((h.NUM_CLASSES, h.NUM_CLASSES), int)
  for label, prediction in zip(labels, predictions):
    expected[label, prediction] += 1
  assert confusion['matrix'] == expected.tolist()
  assert confusion['num_examples'] == NUM_VALIDATION

  per_class = json.loads((eval_dir / 'per_class.json').read_text())
  for c, figures in enumerate(per_class):
    assert figures['support'] == np.sum(labels == c)
    assert figures['recall'] == pytest.approx(
        np.mean(predictions[labels == c] == c))
    if np.any(predictions == c):
      assert figures['precision'] == pytest.approx(
          np.mean(labels[predictions == c] == c))
    else:
      assert figures['precision'] is None

  # The 4 most confident mistakes; records are read in file order, so the
  # key of the i-th validation example is '<shard>:<i>'.
  confidence = _softmax(logits).max(axis=1)
  wrong = np.flatnonzero(predictions != labels)
  assert len(wrong) >= 4  # 30 steps leave mistakes to rank.
  most_confident = wrong[np.argsort(-confidence[wrong], kind='stable')][:4]
  shard = os.path.join(data, 'shapes_validation_00000-of-00001.tfrecord')
  mistakes = json.loads((eval_dir / 'misclassified.json').read_text())
  assert [m['key'] for m in mistakes] == [f'{shard}:{i}'
                                          for i in most_confident]
  assert [m['label'] for m in mistakes] == labels[most_confident].tolist()
  assert [m['confidence'] for m in mistakes] == pytest.approx(
      confidence[most_confident].tolist(), abs=1e-5)

  assert Image.open(eval_dir / 'confusion_matrix.png').size == (380, 394)
  page = (eval_dir / 'index.html').read_text()
  assert f'{evaluation.metrics["Accuracy"]:.4f}' in page
  assert mistakes[0]['key'] in page


def test_report_with_labels_offset_names_shifted_classes(data, tmp_path):
  # 4 network classes for dataset labels 1..4; label 0 becomes -1, outside.
  prefix = _save_random_cifarnet(str(tmp_path / 'four' / 'model.ckpt'), 4)
  evaluation = eval_image_classifier.evaluate_with_report(
      h.eval_values(data, tmp_path / 'eval', labels_offset=1,
                    max_num_batches=1), prefix)
  assert evaluation.class_names == ['square', 'triangle', 'cross', 'diamond']
  tally = evaluation.tally
  assert tally.num_examples == 16  # One batch.
  assert tally.num_out_of_range + tally.confusion.sum() == 16
  assert tally.num_out_of_range > 0


# -------------------------------------------------------------- user errors
def _save_random_cifarnet(prefix, num_classes):
  with tf.Graph().as_default():
    slim.get_or_create_global_step()
    export_inference_graph.build_inference_graph('cifarnet', num_classes)
    with tf1.Session() as sess:
      sess.run(tf1.global_variables_initializer())
      tf1.train.Saver().save(sess, prefix)
  return prefix


def test_checkpoint_of_another_class_count_is_a_user_error(data, tmp_path):
  # tf.compat.v1.train.Saver restores resource variables without a shape
  # check: without an explicit check this would "evaluate" 10 logits.
  prefix = _save_random_cifarnet(str(tmp_path / 'ten' / 'model.ckpt'), 10)
  with pytest.raises(cli.UserError) as info:
    eval_image_classifier.evaluate(h.eval_values(data, tmp_path / 'eval'),
                                   prefix)
  message = str(info.value)
  assert 'CifarNet/logits/weights (checkpoint [192, 10], graph [192, 5])' in (
      message)
  assert '--labels_offset' in message and '\n' not in message


def test_moving_average_of_a_checkpoint_without_averages(data, trained,
                                                          tmp_path):
  with pytest.raises(cli.UserError) as info:
    eval_image_classifier.evaluate(
        h.eval_values(data, tmp_path / 'eval', moving_average_decay=0.99),
        _latest(trained))
  message = str(info.value)
  assert 'CifarNet/logits/weights/ExponentialMovingAverage' in message
  assert '--moving_average_decay' in message


@pytest.mark.parametrize('flag,value,valid', [
    ('model_name', 'cifarnett', 'cifarnet'),
    ('dataset_name', 'shape', 'shapes'),
    ('preprocessing_name', 'lenett', 'inception'),
])
def test_unknown_names_are_user_errors(data, trained, tmp_path, flag, value,
                                       valid):
  with pytest.raises(cli.UserError) as info:
    eval_image_classifier.evaluate(
        h.eval_values(data, tmp_path / 'eval', **{flag: value}),
        _latest(trained))
  assert value in str(info.value) and valid in str(info.value)


def test_checkpoint_dir_without_checkpoints_is_a_user_error(data, tmp_path):
  values = h.eval_values(data, tmp_path / 'eval',
                         checkpoint_path=str(tmp_path))
  with pytest.raises(cli.UserError, match='--checkpoint_path.*No checkpoint'):
    list(eval_image_classifier.checkpoints_to_evaluate(values))


def test_corrupt_validation_record_names_the_file(data, trained, tmp_path):
  corrupt = tmp_path / 'data'
  corrupt.mkdir()
  for name in os.listdir(data):
    content = open(os.path.join(data, name), 'rb').read()
    if name.startswith('shapes_validation'):
      shard = str(corrupt / name)
      content = content[:len(content) // 3] + b'\x00' * 50 + content[
          len(content) // 3 + 50:]
    (corrupt / name).write_bytes(content)
  with pytest.raises(cli.UserError, match='Corrupt TFRecord file ' + shard):
    eval_image_classifier.evaluate(h.eval_values(str(corrupt),
                                                 tmp_path / 'eval'),
                                   _latest(trained))


# ---------------------------------------------------------------- processes
def _cli(data, eval_dir, **overrides):
  flags = dict(h.FAST_EVAL, dataset_dir=data, eval_dir=str(eval_dir))
  flags.update(overrides)
  return h.cli_args(flags)


def test_cli_wait_for_checkpoints_evaluates_and_writes_metrics(
    data, trained, validation, tmp_path):
  images, labels = validation
  eval_dir = tmp_path / 'eval'
  result = h.run_script(SCRIPT, *_cli(
      data, eval_dir, checkpoint_path=trained, wait_for_checkpoints=True,
      max_number_of_evaluations=1, eval_interval_secs=1,
      eval_timeout_secs=60, report_misclassified=3), timeout=120)
  assert result.returncode == 0, result.stderr
  assert 'Traceback' not in result.stderr
  h.assert_quiet_logs(result.stderr)
  printed = re.search(r'^Accuracy: (0\.\d{4}|1\.0000)$', result.stdout, re.M)
  assert printed, result.stdout
  metrics = json.loads((eval_dir / 'metrics.json').read_text())
  assert sorted(metrics) == ['Accuracy', 'Recall_5', 'checkpoint',
                             'global_step']
  assert f'{metrics["Accuracy"]:.4f}' == printed.group(1)
  assert f'Recall_5: {metrics["Recall_5"]:.4f}' in result.stdout
  assert metrics['global_step'] == 30
  assert metrics['checkpoint'] == _latest(trained)
  expected = _accuracy(_logits(h.read_checkpoint(_latest(trained)), images),
                       labels)
  assert metrics['Accuracy'] == pytest.approx(expected, abs=1e-6)
  # Summaries at the checkpoint's step.
  tags = {}
  for path in tf.io.gfile.glob(str(eval_dir / 'events.out.tfevents.*')):
    for event in tf1.train.summary_iterator(path):
      for value in event.summary.value:
        tags[value.tag] = (event.step, value.simple_value)
  assert tags['eval/Accuracy'][0] == 30
  assert tags['eval/Accuracy'][1] == pytest.approx(expected, abs=1e-6)
  # The report beside metrics.json.
  assert f'Report: {eval_dir / "index.html"}' in result.stdout
  for name in ('per_class.json', 'confusion_matrix.json',
               'confusion_matrix.png', 'index.html'):
    assert (eval_dir / name).exists(), name
  assert len(json.loads((eval_dir / 'misclassified.json').read_text())) == 3


@pytest.mark.parametrize('case', ['missing_dataset_dir', 'wrong_classes',
                                  'negative_report_misclassified'])
def test_cli_user_errors_are_one_line(data, tmp_path, case):
  if case == 'missing_dataset_dir':
    args = [a for a in _cli(data, tmp_path / 'eval')
            if '--dataset_dir' not in a]
    expected = '--dataset_dir'
  elif case == 'negative_report_misclassified':
    args = _cli(data, tmp_path / 'eval', report_misclassified=-2)
    expected = '--report_misclassified must be >= 0'
  else:
    # A 10-class checkpoint on the 5-class data.
    prefix = _save_random_cifarnet(str(tmp_path / 'ten' / 'model.ckpt'), 10)
    args = _cli(data, tmp_path / 'eval', checkpoint_path=prefix)
    expected = 'CifarNet/logits'
  message = h.user_error(h.run_script(SCRIPT, *args), SCRIPT)
  assert expected in message, message


def test_bfloat16_evaluation_of_a_float32_checkpoint_agrees(
    shapes_data, trained_cifarnet, tmp_path):
  """The same float32 checkpoint evaluated in bfloat16 predicts the same
  class for at least 99% of the images, and the script's accuracy is the
  accuracy of those predictions. The network is the session's trained
  CifarNet (~0.8 accuracy, real decisions), on its 740 shapes images."""
  splits = {split: _decoded_split(shapes_data, split)
            for split in ('train', 'validation')}
  images = np.concatenate([splits['train'][0], splits['validation'][0]])
  predictions = {}
  for precision in ('float32', 'bfloat16'):
    with tf.Graph().as_default():
      network_fn = nets_factory.get_network_fn(
          'cifarnet', h.NUM_CLASSES, precision=precision)
      logits, _ = network_fn(tf.constant(images))
      with tf1.Session() as sess:
        tf1.train.Saver().restore(sess, _latest(trained_cifarnet))
        predictions[precision] = sess.run(logits).argmax(1)
  agree = np.mean(predictions['float32'] == predictions['bfloat16'])
  assert agree >= 0.99, agree
  images, labels = splits['validation']
  accuracy = eval_image_classifier.evaluate(
      h.eval_values(shapes_data, tmp_path, precision='bfloat16'),
      trained_cifarnet)['Accuracy']
  assert accuracy == pytest.approx(
      np.mean(predictions['bfloat16'][-len(labels):] == labels))
