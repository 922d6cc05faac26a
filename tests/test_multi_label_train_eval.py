"""Multi-label data end to end: train_image_classifier.py with validation and
best checkpoints ranked by mAP, eval_image_classifier.py's figures, console
lines, summaries and report, on a tiny shapes_multi."""
import glob
import json
import os

import numpy as np
import pytest
import tensorflow as tf

import slim
from datasets import convert_shapes_multi
from datasets import shapes_generator
from image_classifier import cli
from image_classifier import multi_label_metrics
from nets import nets_factory
from preprocessing import preprocessing_factory
from tests import cli_harness as h

tf1 = tf.compat.v1

train_image_classifier = h.script_module('train_image_classifier')
eval_image_classifier = h.script_module('eval_image_classifier')

STEPS = 4
NUM_VALIDATION = 20
MULTI = dict(dataset_name='shapes_multi')


@pytest.fixture(scope='module')
def data(tmp_path_factory):
  directory = str(tmp_path_factory.mktemp('shapes_multi'))
  convert_shapes_multi.run(directory, seed=0, num_shards=1, num_workers=0,
                           split_sizes={'train': 32,
                                        'validation': NUM_VALIDATION})
  return directory


@pytest.fixture(scope='module')
def train_dir(data, tmp_path_factory):
  """A run validated at every step, keeping the 2 best checkpoints."""
  directory = tmp_path_factory.mktemp('train')
  train_image_classifier.train(h.train_values(
      data, directory, max_number_of_steps=STEPS, learning_rate=0.1,
      validation_split_name='validation', validation_every_n_steps=1,
      keep_best_checkpoints=2, **MULTI))
  return directory


def _records(train_dir):
  with open(os.path.join(train_dir, 'validation.jsonl')) as f:
    return [json.loads(line) for line in f]


def _evaluate(data, eval_dir, checkpoint, **flags):
  return eval_image_classifier.evaluate_with_report(
      h.eval_values(data, eval_dir, **MULTI, **flags), checkpoint)


def _independent_tally(data, checkpoint):
  """A MultiLabelTally of the network's sigmoid scores on the validation
  split, read, decoded and scored here without the toolkit's pipeline."""
  files = sorted(glob.glob(os.path.join(data,
                                        'shapes_multi_validation_*')))
  preprocess = preprocessing_factory.get_preprocessing('lenet', False)
  records = [r.numpy() for r in tf.data.TFRecordDataset(files)]
  with tf.Graph().as_default():
    serialized = tf.constant(records)
    features = tf.io.parse_example(serialized, {
        'image/encoded': tf.io.FixedLenFeature([], tf.string),
        'image/class/label': tf.io.VarLenFeature(tf.int64)})
    images = tf.map_fn(
        lambda png: preprocess(tf.io.decode_png(png, 3), 32, 32),
        features['image/encoded'], fn_output_signature=tf.float32)
    logits, _ = nets_factory.get_network_fn(
        'cifarnet', 5, is_training=False)(images)
    saver = tf1.train.Saver(slim.get_model_variables())
    with tf1.Session() as sess:
      saver.restore(sess, checkpoint)
      logits, labels = sess.run([logits, features['image/class/label']])
  targets = np.zeros(logits.shape, np.int64)
  targets[labels.indices[:, 0], labels.values] = 1
  tally = multi_label_metrics.MultiLabelTally(5)
  tally.add(1 / (1 + np.exp(-logits.astype(np.float64))), targets)
  return tally


def test_validation_ranks_the_best_by_map(train_dir):
  records = _records(train_dir)
  assert [r['global_step'] for r in records] == list(range(1, STEPS + 1))
  for record in records:
    assert record['examples'] == NUM_VALIDATION
    assert 'Accuracy' not in record
    assert 0 <= record['mAP'] <= 1
    assert set(multi_label_metrics.FIGURE_NAMES) <= set(record)
  with open(train_dir / 'best' / 'index.json') as f:
    index = json.load(f)
  assert index['metric'] == 'mAP'
  ranked = sorted(records, key=lambda r: (r['mAP'], r['global_step']),
                  reverse=True)
  assert [e['name'] for e in index['checkpoints']] == [
      r['checkpoint'] for r in ranked[:2]]
  events = glob.glob(str(train_dir / 'validation' / 'events.*'))
  tags = {v.tag for e in tf1.train.summary_iterator(events[0])
          for v in e.summary.value}
  assert tags == {'validation/' + n for n in multi_label_metrics.FIGURE_NAMES}


def test_validation_reports_what_eval_reports(data, train_dir, tmp_path):
  last = _records(train_dir)[-1]
  assert last['checkpoint'] == f'model.ckpt-{STEPS}'
  metrics = _evaluate(data, tmp_path, str(train_dir / last['checkpoint'])
                      ).metrics
  for name in multi_label_metrics.FIGURE_NAMES:
    assert last[name] == pytest.approx(metrics[name], abs=1e-6), name


def test_eval_figures_are_those_of_the_network_s_scores(data, train_dir,
                                                        tmp_path):
  checkpoint = str(train_dir / f'model.ckpt-{STEPS}')
  evaluation = _evaluate(data, tmp_path, checkpoint, threshold=0.3)
  expected = _independent_tally(data, checkpoint).result(0.3)
  metrics = evaluation.metrics
  assert set(metrics) == set(multi_label_metrics.FIGURE_NAMES) | {
      'threshold', 'global_step', 'checkpoint'}
  assert metrics['threshold'] == 0.3 and metrics['global_step'] == STEPS
  assert metrics['checkpoint'] == checkpoint
  for name in multi_label_metrics.FIGURE_NAMES:
    assert metrics[name] == pytest.approx(expected[name], abs=1e-5), name
  assert evaluation.tally.num_examples == NUM_VALIDATION


def test_eval_prints_map_and_f1_writes_summaries_and_the_report(
    data, train_dir, tmp_path, capsys):
  evaluation = _evaluate(data, tmp_path, str(train_dir / 'best'))
  metrics = evaluation.metrics
  eval_image_classifier.report(metrics, str(tmp_path))
  eval_image_classifier.write_report(evaluation, str(tmp_path))
  lines = capsys.readouterr().out.splitlines()
  assert lines[:3] == [f'mAP: {metrics["mAP"]:.4f}',
                       f'F1_micro: {metrics["F1_micro"]:.4f}',
                       f'F1_macro: {metrics["F1_macro"]:.4f}']
  with open(tmp_path / 'metrics.json') as f:
    assert json.load(f) == metrics
  events = glob.glob(str(tmp_path / 'events.*'))
  values = {v.tag: (e.step, v.simple_value) for path in events
            for e in tf1.train.summary_iterator(path) for v in e.summary.value}
  assert values['eval/mAP'] == (metrics['global_step'],
                                pytest.approx(metrics['mAP']))
  with open(tmp_path / 'per_class.json') as f:
    per_class = json.load(f)
  assert [c['name'] for c in per_class] == list(shapes_generator.CLASS_NAMES)
  with open(os.path.join(data, 'dataset_meta.json')) as f:
    label_counts = json.load(f)['label_counts']['validation']
  assert [c['support'] for c in per_class] == label_counts
  assert np.mean([c['AP'] for c in per_class]) == pytest.approx(
      metrics['mAP'])
  page = (tmp_path / 'index.html').read_text()
  assert 'no confusion matrix' in page and 'circle' in page
  assert not (tmp_path / 'confusion_matrix.png').exists()


def test_eval_threshold_must_be_a_probability(data, train_dir, tmp_path):
  with pytest.raises(cli.UserError, match='--threshold must be between'):
    _evaluate(data, tmp_path, str(train_dir / f'model.ckpt-{STEPS}'),
              threshold=1.5)
