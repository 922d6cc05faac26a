"""evaluation: eval's graph and run on typed records, at small sizes.

The whole-script behaviour (metrics against numpy, reports, moving averages,
recomputed batch norms) is tested through eval_image_classifier.evaluate in
tests/test_eval_image_classifier.py; here the records alone drive it.
"""
import math
import os

import pytest
import tensorflow as tf

import slim
from image_classifier import cli
from image_classifier import evaluation
from image_classifier import specs
from nets import nets_factory
from tests import cli_harness as h

tf1 = tf.compat.v1

NUM_VALIDATION = 10
MODEL = specs.ModelSpec('cifarnet', preprocessing_name='lenet')
INPUT = specs.InputSpec(batch_size=4, num_preprocessing_threads=1)


@pytest.fixture(scope='module')
def data(tmp_path_factory):
  return specs.DataSpec('shapes', h.make_shapes(
      tmp_path_factory.mktemp('shapes'), train=8,
      validation=NUM_VALIDATION), 'validation')


@pytest.fixture(scope='module')
def checkpoint(tmp_path_factory):
  """A freshly initialized CifarNet of the shapes classes at step 7."""
  path = str(tmp_path_factory.mktemp('ckpt') / 'model.ckpt')
  with tf.Graph().as_default():
    step = slim.get_or_create_global_step()
    nets_factory.get_network_fn('cifarnet', h.NUM_CLASSES)(
        tf.zeros([1, 32, 32, 3]))
    with tf1.Session() as sess:
      sess.run(tf1.global_variables_initializer())
      sess.run(tf1.assign(step, 7))
      return tf1.train.Saver().save(sess, path)


def test_graph_follows_the_eval_spec(data, tmp_path):
  with tf.Graph().as_default():
    graph = evaluation.build_eval_graph(
        data, MODEL, INPUT, evaluation.EvalSpec(str(tmp_path)))
  assert graph.num_batches == math.ceil(NUM_VALIDATION / 4)
  assert set(graph.report_fetches) == {'labels', 'predictions'}
  assert graph.recompute_hook is None
  assert len(graph.class_names) == h.NUM_CLASSES
  with tf.Graph().as_default():
    graph = evaluation.build_eval_graph(
        data, MODEL, INPUT, evaluation.EvalSpec(
            str(tmp_path), max_num_batches=2, report_misclassified=3))
  assert graph.num_batches == 2
  assert set(graph.report_fetches) == {'labels', 'predictions',
                                       'confidences', 'keys'}


def test_negative_recompute_is_a_user_error(data, tmp_path):
  with tf.Graph().as_default():
    with pytest.raises(cli.UserError, match='must be >= 0'):
      evaluation.build_eval_graph(
          data, MODEL, INPUT, evaluation.EvalSpec(
              str(tmp_path), recompute_batch_norm_statistics=-1))


def test_evaluate_counts_every_example_and_names_the_checkpoint(
    data, checkpoint, tmp_path):
  result = evaluation.evaluate_with_report(
      data, MODEL, INPUT, specs.ComputeSpec(),
      evaluation.EvalSpec(str(tmp_path), progress_bar=False), checkpoint)
  assert result.metrics['global_step'] == 7
  assert result.metrics['checkpoint'] == checkpoint
  assert result.metrics['Recall_5'] == 1.0  # 5 classes: always in the top 5.
  assert result.tally.confusion.sum() == NUM_VALIDATION
  # The tally counts the same examples as the streaming metric.
  assert result.metrics['Accuracy'] == pytest.approx(
      result.tally.confusion.trace() / NUM_VALIDATION)
  assert os.listdir(tmp_path)  # The summaries.
