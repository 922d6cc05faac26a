"""The TF-Slim README's "Evaluating Models" examples, and the streaming-metrics
note's examples 1-3.

Sources: ../shared/seeds/tf_slim_library_README.md (Metrics, Working
example: Tracking Multiple Metrics, Evaluation Loop) and
../shared/seeds/checkpoint_accuracy_and_streaming_metrics.md. TF1 calls are
spelled `tf.compat.v1`; models are tiny and every metric value is recomputed
in numpy over all the examples seen.
"""
import os

import numpy as np
import pytest
import tensorflow as tf

import slim
from tests import cli_harness as h

tf1 = tf.compat.v1


# -------------------------------------------------------------------- Metrics

def _regression_batches(num_batches=3, batch_size=4, seed=0):
  rng = np.random.RandomState(seed)
  labels = rng.uniform(0.5, 2.0, (num_batches, batch_size, 2))
  predictions = labels + rng.uniform(-0.8, 0.8, labels.shape)
  return predictions.astype(np.float32), labels.astype(np.float32)


def test_metric_value_and_update_ops():
  predictions_v, labels_v = _regression_batches()
  with tf.Graph().as_default():
    predictions = tf1.placeholder(tf.float32, [None, 2])
    labels = tf1.placeholder(tf.float32, [None, 2])
    mean_relative_errors = tf.abs(predictions - labels) / labels
    mae_value_op, mae_update_op = (
        slim.metrics.streaming_mean_absolute_error(predictions, labels))
    mre_value_op, mre_update_op = (
        slim.metrics.streaming_mean_relative_error(predictions, labels,
                                                   labels))
    pl_value_op, pl_update_op = slim.metrics.percentage_less(
        mean_relative_errors, 0.3)
    # The README: a `count` and a `total`, as local variables.
    assert [v.op.name for v in slim.get_local_variables(
        'mean_absolute_error')] == ['mean_absolute_error/total',
                                    'mean_absolute_error/count']
    assert slim.get_variables() == []  # nothing is checkpointed
    value_ops = [mae_value_op, mre_value_op, pl_value_op]
    update_ops = [mae_update_op, mre_update_op, pl_update_op]
    with tf1.Session() as sess:
      sess.run(tf1.local_variables_initializer())
      assert sess.run(value_ops) == [0.0, 0.0, 0.0]
      for p, l in zip(predictions_v, labels_v):
        updated = sess.run(update_ops, {predictions: p, labels: l})
      # value_op is idempotent and equals the last update's result.
      values = sess.run(value_ops)
      assert sess.run(value_ops) == values
  np.testing.assert_allclose(updated, values, rtol=1e-6)
  relative = np.abs(predictions_v - labels_v) / labels_v
  np.testing.assert_allclose(values, [
      np.mean(np.abs(predictions_v - labels_v)), np.mean(relative),
      np.mean(relative < 0.3)], rtol=1e-5)


def test_aggregate_metrics_and_metric_map():
  predictions_v, labels_v = _regression_batches(seed=1)
  with tf.Graph().as_default():
    predictions = tf1.placeholder(tf.float32, [None, 2])
    labels = tf1.placeholder(tf.float32, [None, 2])
    # Aggregates the value and update ops in two lists:
    value_ops, update_ops = slim.metrics.aggregate_metrics(
        slim.metrics.streaming_mean_absolute_error(predictions, labels),
        slim.metrics.streaming_mean_squared_error(predictions, labels))
    # Aggregates the value and update ops in two dictionaries:
    names_to_values, names_to_updates = slim.metrics.aggregate_metric_map({
        'eval/mean_absolute_error':
            slim.metrics.streaming_mean_absolute_error(predictions, labels),
        'eval/mean_squared_error':
            slim.metrics.streaming_mean_squared_error(predictions, labels),
    })
    assert len(value_ops) == len(update_ops) == 2
    assert sorted(names_to_values) == sorted(names_to_updates) == [
        'eval/mean_absolute_error', 'eval/mean_squared_error']
    # Four metrics, two accumulators each, in fresh scopes.
    assert len(slim.get_local_variables()) == 8
    with tf1.Session() as sess:
      sess.run(tf1.local_variables_initializer())
      for p, l in zip(predictions_v, labels_v):
        sess.run([update_ops, list(names_to_updates.values())],
                 {predictions: p, labels: l})
      listed, mapped = sess.run([value_ops, names_to_values])
  mae = np.mean(np.abs(predictions_v - labels_v))
  mse = np.mean((predictions_v - labels_v) ** 2)
  np.testing.assert_allclose(listed, [mae, mse], rtol=1e-5)
  np.testing.assert_allclose(mapped['eval/mean_absolute_error'], mae,
                             rtol=1e-5)
  np.testing.assert_allclose(mapped['eval/mean_squared_error'], mse,
                             rtol=1e-5)


def test_working_example_tracking_multiple_metrics_with_vgg(capsys):
  # README: vgg = tf.contrib.slim.nets.vgg; see test_readme_examples for
  # `slim.nets.vgg` without importing nets.vgg first.
  from nets import vgg  # pylint: disable=g-import-not-at-top
  num_batches = 4  # the README evaluates 1000 batches
  rng = np.random.RandomState(2)
  logits_v = rng.randn(num_batches, 2, 1000).astype(np.float32)
  labels_v = rng.randn(num_batches, 2, 1000).astype(np.float32)
  with tf.Graph().as_default():
    # Load the data
    images = tf1.placeholder(tf.float32, [2, 224, 224, 3])
    labels = tf1.placeholder(tf.float32, [2, 1000])
    # Define the network (vgg_16 returns (logits, end_points)).
    predictions, _ = vgg.vgg_16(images)
    # Choose the metrics to compute:
    names_to_values, names_to_updates = slim.metrics.aggregate_metric_map({
        'eval/mean_absolute_error':
            slim.metrics.streaming_mean_absolute_error(predictions, labels),
        'eval/mean_squared_error':
            slim.metrics.streaming_mean_squared_error(predictions, labels),
    })
    # Evaluate the model using `num_batches` batches of data. The logits are
    # fed, which skips initializing and running VGG's 138M parameters.
    with tf1.Session() as sess:
      sess.run(tf1.local_variables_initializer())
      for batch_id in range(num_batches):
        sess.run(list(names_to_updates.values()),
                 {predictions: logits_v[batch_id], labels: labels_v[batch_id]})
      metric_values = sess.run(list(names_to_values.values()))
      for metric, value in zip(names_to_values.keys(), metric_values):
        print('Metric %s has value: %f' % (metric, value))
  got = dict(zip(names_to_values.keys(), metric_values))
  np.testing.assert_allclose(got['eval/mean_absolute_error'],
                             np.mean(np.abs(logits_v - labels_v)), rtol=1e-5)
  np.testing.assert_allclose(got['eval/mean_squared_error'],
                             np.mean((logits_v - labels_v) ** 2), rtol=1e-5)
  assert 'Metric eval/mean_squared_error has value: ' in capsys.readouterr().out


# ------------------------------------------------------------ Evaluation Loop

NUM_FEATURES = 3
RNG = np.random.RandomState(4)
EVAL_IMAGES = RNG.randn(10, NUM_FEATURES).astype(np.float32)
EVAL_LABELS = RNG.randint(0, 2, 10).astype(np.int64)
BATCH_SIZE = 4  # batches of 4, 4 and 2


def my_model(images):
  """A linear binary classifier; returns the logits."""
  return slim.fully_connected(images, 2, activation_fn=None, scope='logits')


def _write_checkpoints(checkpoint_dir, steps):
  """Saves the model at each global step with different random weights."""
  rng = np.random.RandomState(5)
  with tf.Graph().as_default():
    my_model(tf.zeros([1, NUM_FEATURES]))
    global_step = slim.get_or_create_global_step()
    saver = tf1.train.Saver()
    with tf1.Session() as sess:
      for step in steps:
        for var in slim.get_model_variables():
          var.load(rng.randn(*var.shape.as_list()), sess)
        global_step.load(step, sess)
        saver.save(sess, os.path.join(checkpoint_dir, 'model.ckpt'),
                   global_step=step)


def np_metrics(checkpoint_path):
  """Accuracy, precision and recall over all EVAL examples, in numpy."""
  reader = tf.train.load_checkpoint(checkpoint_path)
  logits = (EVAL_IMAGES @ reader.get_tensor('logits/weights')
            + reader.get_tensor('logits/biases'))
  predicted = np.argmax(logits, axis=1)
  true_positives = np.sum((predicted == 1) & (EVAL_LABELS == 1))
  return {
      'accuracy': np.mean(predicted == EVAL_LABELS),
      'precision': true_positives / np.sum(predicted == 1),
      'recall': true_positives / np.sum(EVAL_LABELS == 1),
  }


def _build_eval_graph():
  """The README's evaluation set-up; returns (values, updates, summary)."""
  # Load the data
  dataset = tf.data.Dataset.from_tensor_slices((EVAL_IMAGES, EVAL_LABELS))
  images, labels = tf1.data.make_one_shot_iterator(
      dataset.batch(BATCH_SIZE)).get_next()
  # Define the network
  predictions = tf.argmax(my_model(images), 1)
  # Choose the metrics to compute. (The README's slim.metrics.precision and
  # slim.metrics.recall are TF-Slim's streaming_precision/streaming_recall.)
  names_to_values, names_to_updates = slim.metrics.aggregate_metric_map({
      'accuracy': slim.metrics.accuracy(predictions, labels),
      'precision': slim.metrics.streaming_precision(predictions, labels),
      'recall': slim.metrics.streaming_recall(predictions, labels),
  })
  # Create the summary ops such that they also print out to std output:
  summary_ops = []
  for metric_name, metric_value in names_to_values.items():
    op = tf1.summary.scalar(metric_name, metric_value)
    op = tf1.Print(op, [metric_value], metric_name)
    summary_ops.append(op)
  # Setup the global step.
  slim.get_or_create_global_step()
  return names_to_values, names_to_updates, tf1.summary.merge(summary_ops)


# tf.compat.v1.summary.scalar(name, ...) tags a summary with its unique op
# name; the metrics already own the scopes 'accuracy', 'precision' and
# 'recall', so the README's summaries are tagged '<name>_1' (as in TF 1.x).
SUMMARY_TAGS = {name: name + '_1'
                for name in ('accuracy', 'precision', 'recall')}


def _assert_close_metrics(got, expected):
  assert sorted(got) == sorted(expected)
  for name, value in expected.items():
    np.testing.assert_allclose(got[name], value, rtol=1e-6, err_msg=name)


def test_evaluation_loop_over_a_checkpoint_directory(tmp_path, capfd):
  checkpoint_dir = str(tmp_path / 'train')
  log_dir = str(tmp_path / 'eval')
  _write_checkpoints(checkpoint_dir, [10, 20])
  latest = os.path.join(checkpoint_dir, 'model.ckpt-20')
  expected = np_metrics(latest)
  num_examples = len(EVAL_IMAGES)
  batch_size = BATCH_SIZE
  num_batches = int(np.ceil(num_examples / float(batch_size)))
  with tf.Graph().as_default():
    names_to_values, names_to_updates, summary_op = _build_eval_graph()
    final = slim.evaluation.evaluation_loop(
        '',
        checkpoint_dir,
        log_dir,
        num_evals=num_batches,
        # The README passes names_to_updates.values(); see the test below.
        eval_op=list(names_to_updates.values()),
        final_op=names_to_values,
        summary_op=summary_op,
        eval_interval_secs=0,
        max_number_of_evaluations=1)
  _assert_close_metrics(final, expected)
  # The summaries are written at the checkpoint's global step ...
  scalars = h.read_scalars(log_dir)
  for name, value in expected.items():
    tag = SUMMARY_TAGS[name]
    assert list(scalars[tag]) == [20]
    np.testing.assert_allclose(scalars[tag][20], value, rtol=1e-6)
  # ... and printed by tf.Print.
  err = capfd.readouterr().err
  for name in expected:
    assert f'{name}[' in err


def test_evaluate_once_on_an_older_checkpoint(tmp_path):
  checkpoint_dir = str(tmp_path / 'train')
  log_dir = str(tmp_path / 'eval')
  _write_checkpoints(checkpoint_dir, [10, 20])
  older = os.path.join(checkpoint_dir, 'model.ckpt-10')
  expected = np_metrics(older)
  # Different weights give different numbers: the right checkpoint is used.
  assert expected != np_metrics(os.path.join(checkpoint_dir, 'model.ckpt-20'))
  with tf.Graph().as_default():
    names_to_values, names_to_updates, summary_op = _build_eval_graph()
    final = slim.evaluation.evaluate_once(
        '', older, log_dir, num_evals=None,  # until the data runs out
        eval_op=list(names_to_updates.values()),
        final_op=names_to_values, summary_op=summary_op)
  _assert_close_metrics(final, expected)
  scalars = h.read_scalars(log_dir)
  assert list(scalars['accuracy_1']) == [10]
  np.testing.assert_allclose(scalars['accuracy_1'][10], expected['accuracy'],
                             rtol=1e-6)


def test_evaluation_loop_with_dict_values_eval_op_as_in_readme(tmp_path):
  # The README passes `eval_op=names_to_updates.values()`: a list in the
  # Python 2 of its time, a dict_values view today.
  checkpoint_dir = str(tmp_path / 'train')
  _write_checkpoints(checkpoint_dir, [10])
  with tf.Graph().as_default():
    names_to_values, names_to_updates, summary_op = _build_eval_graph()
    final = slim.evaluation.evaluation_loop(
        'local',  # as the README has it: in-process
        checkpoint_dir, str(tmp_path / 'eval'), num_evals=3,
        eval_op=names_to_updates.values(), final_op=names_to_values,
        summary_op=summary_op, eval_interval_secs=0,
        max_number_of_evaluations=1)
  _assert_close_metrics(
      final, np_metrics(os.path.join(checkpoint_dir, 'model.ckpt-10')))


def test_readme_metric_calls_as_written_match_tf1_metrics():
  """`slim.metrics.accuracy/precision/recall` are TF1's tf.metrics: labels
  first, non-zero is positive, a scalar prediction broadcast. The README's
  calls, as
  written (`accuracy(predictions, labels)`, `precision(predictions,
  labels)`, `recall(mean_relative_errors, 0.3)`), give what TF1 gives for
  the same calls, batch after batch, weighted or not."""
  rng = np.random.RandomState(3)
  batches = [(rng.randint(0, 2, 8), rng.randint(0, 2, 8),
              rng.uniform(0, 0.6, (8, 2)).astype(np.float32),
              rng.uniform(0, 2, 8).astype(np.float32)) for _ in range(3)]
  with tf.Graph().as_default():
    predictions = tf1.placeholder(tf.int64, [None])
    labels = tf1.placeholder(tf.int64, [None])
    mean_relative_errors = tf1.placeholder(tf.float32, [None, 2])
    weights = tf1.placeholder(tf.float32, [None])
    ours = {
        'accuracy': slim.metrics.accuracy(predictions, labels),
        'precision': slim.metrics.precision(predictions, labels),
        'recall': slim.metrics.recall(mean_relative_errors, 0.3),
        'weighted': slim.metrics.precision(labels, predictions, weights),
    }
    theirs = {
        'accuracy': tf1.metrics.accuracy(predictions, labels),
        'precision': tf1.metrics.precision(predictions, labels),
        # TF1 refuses a scalar here (shapes () and (None, 2)); the README's
        # call runs with ours, which broadcasts it.
        'recall': tf1.metrics.recall(mean_relative_errors,
                                     tf.fill(tf.shape(mean_relative_errors),
                                             0.3)),
        'weighted': tf1.metrics.precision(labels, predictions, weights),
    }
    with tf1.Session() as sess:
      sess.run(tf1.local_variables_initializer())
      for p, l, e, w in batches:
        feed = {predictions: p, labels: l, mean_relative_errors: e,
                weights: w}
        got, want = sess.run(({k: v[1] for k, v in ours.items()},
                              {k: v[1] for k, v in theirs.items()}), feed)
        for name in want:
          np.testing.assert_allclose(got[name], want[name], rtol=1e-6,
                                     err_msg=name)
      assert 0 < want['precision'] < 1 and 0 < want['weighted'] < 1


# ------------------------------------- Streaming metrics note, examples 1-3

NOTE_BATCH_SIZES = (5, 3, 1)  # unequal, so the batch average is biased
NOTE_IMAGE_SHAPE = [4, 4, 3]  # the note's 224 x 224 x 3, shrunk
NOTE_CLASSES = 3


def model(inputs):
  """The note's `model`: logits of a small slim network."""
  net = slim.conv2d(inputs, 4, [3, 3], scope='conv1')
  net = slim.flatten(net)
  return slim.fully_connected(net, NOTE_CLASSES, activation_fn=None,
                              scope='logits')


class _BatchIterator:
  """Stands in for the note's validation_data_iterator (numpy batches)."""

  def __init__(self, batches):
    self._batches = iter(batches)

  def get_next(self):
    return next(self._batches)


@pytest.fixture(name='note_checkpoint')
def fixture_note_checkpoint(tmp_path):
  """A checkpoint of `model`, validation batches and the expected numbers.

  The labels are chosen from the model's own predictions (computed in the
  session that saves, without any restore): batch 1 is all right, batch 2
  half right (rounded down) and batch 3 all wrong, so the mean of the batch
  accuracies differs from the accuracy over all the examples.

  Returns:
    (checkpoint path, [(images, labels)] batches, mean of per-batch
    accuracies, accuracy over all examples), the last two from numpy.
  """
  rng = np.random.RandomState(6)
  images = [rng.randn(size, *NOTE_IMAGE_SHAPE).astype(np.float32)
            for size in NOTE_BATCH_SIZES]
  with tf.Graph().as_default():
    inputs = tf1.placeholder(tf.float32, [None] + NOTE_IMAGE_SHAPE)
    predictions = tf.argmax(model(inputs), axis=1)
    saver = tf1.train.Saver()
    with tf1.Session() as sess:
      sess.run(tf1.global_variables_initializer())
      path = saver.save(sess, str(tmp_path / 'model.ckpt'))
      predicted = [sess.run(predictions, {inputs: x}) for x in images]
  batches, correct = [], []
  for x, p, num_right in zip(images, predicted, (5, 1, 0)):
    right = np.arange(len(p)) < num_right
    labels = np.where(right, p, (p + 1) % NOTE_CLASSES).astype(np.int32)
    batches.append((x, labels))
    correct.append(p == labels)
  batch_average = np.mean([c.mean() for c in correct])  # (1 + 1/3 + 0) / 3
  exact = np.concatenate(correct).mean()  # 6 / 9
  np.testing.assert_allclose([batch_average, exact], [4 / 9, 6 / 9])
  return path, batches, batch_average, exact


def evaluate_model(checkpoint_path, validation_data_iterator,
                   num_validation_batches):
  """Example 1: standard (non-streaming) checkpoint evaluation."""
  with tf.Graph().as_default():
    inputs_eval = tf1.placeholder(tf.float32, shape=[None] + NOTE_IMAGE_SHAPE,
                                  name='inputs_eval')
    labels_eval = tf1.placeholder(tf.int32, shape=[None], name='labels_eval')

    logits_eval = model(inputs_eval)  # Reuse the same model definition
    predictions_eval = tf.argmax(logits_eval, axis=1)
    accuracy_eval = tf.reduce_mean(tf.cast(tf.equal(
        predictions_eval, tf.cast(labels_eval, tf.int64)), tf.float32))

    saver = tf1.train.Saver()
    with tf1.Session() as sess:
      saver.restore(sess, checkpoint_path)
      total_accuracy = 0
      for _ in range(num_validation_batches):
        images, labels = validation_data_iterator.get_next()
        batch_accuracy = sess.run(accuracy_eval, feed_dict={
            inputs_eval: images, labels_eval: labels})
        total_accuracy += batch_accuracy
      average_accuracy = total_accuracy / num_validation_batches
      return average_accuracy


def evaluate_model_streaming(checkpoint_path, validation_data_iterator,
                             num_validation_batches, use_slim=True):
  """Example 2: streaming accuracy (slim's, or tf.compat.v1.metrics')."""
  with tf.Graph().as_default():
    inputs_eval = tf1.placeholder(tf.float32, shape=[None] + NOTE_IMAGE_SHAPE,
                                  name='inputs_eval')
    labels_eval = tf1.placeholder(tf.int32, shape=[None], name='labels_eval')

    logits_eval = model(inputs_eval)
    predictions_eval = tf.argmax(logits_eval, axis=1)
    if use_slim:  # TF-Slim's order: predictions, then labels.
      accuracy_eval, accuracy_update = slim.metrics.streaming_accuracy(
          predictions_eval, labels_eval)
    else:
      accuracy_eval, accuracy_update = tf1.metrics.accuracy(
          labels_eval, predictions_eval)

    saver = tf1.train.Saver()

    with tf1.Session() as sess:
      saver.restore(sess, checkpoint_path)
      sess.run(tf1.local_variables_initializer())  # for streaming metrics
      for _ in range(num_validation_batches):
        images, labels = validation_data_iterator.get_next()
        sess.run(accuracy_update, feed_dict={inputs_eval: images,
                                             labels_eval: labels})
      final_accuracy = sess.run(accuracy_eval)
      return final_accuracy


def evaluate_model_both(checkpoint_path, validation_data_iterator,
                        num_validation_batches):
  """Example 3: batch-averaged and streaming accuracy in one pass."""
  with tf.Graph().as_default():
    inputs_eval = tf1.placeholder(tf.float32, shape=[None] + NOTE_IMAGE_SHAPE,
                                  name='inputs_eval')
    labels_eval = tf1.placeholder(tf.int32, shape=[None], name='labels_eval')

    logits_eval = model(inputs_eval)
    predictions_eval = tf.argmax(logits_eval, axis=1)

    # Standard batch based accuracy
    accuracy_batch_eval = tf.reduce_mean(tf.cast(tf.equal(
        predictions_eval, tf.cast(labels_eval, tf.int64)), tf.float32))

    # Streaming accuracy
    accuracy_stream_eval, accuracy_stream_update = slim.metrics.accuracy(
        predictions_eval, labels_eval)

    saver = tf1.train.Saver()

    with tf1.Session() as sess:
      saver.restore(sess, checkpoint_path)
      sess.run(tf1.local_variables_initializer())

      total_accuracy = 0
      for _ in range(num_validation_batches):
        images, labels = validation_data_iterator.get_next()
        batch_acc, _ = sess.run(
            [accuracy_batch_eval, accuracy_stream_update],
            feed_dict={inputs_eval: images, labels_eval: labels})
        total_accuracy += batch_acc

      average_accuracy = total_accuracy / num_validation_batches
      final_accuracy = sess.run(accuracy_stream_eval)
      return average_accuracy, final_accuracy


def test_note_example1_batch_averaged_accuracy(note_checkpoint):
  path, batches, batch_average, exact = note_checkpoint
  got = evaluate_model(path, _BatchIterator(batches), len(batches))
  np.testing.assert_allclose(got, batch_average, rtol=1e-6)
  assert abs(got - exact) > 0.2


@pytest.mark.parametrize('use_slim', [True, False])
def test_note_example2_streaming_accuracy_is_exact(note_checkpoint,
                                                   use_slim):
  path, batches, _, exact = note_checkpoint
  got = evaluate_model_streaming(path, _BatchIterator(batches), len(batches),
                                 use_slim)
  np.testing.assert_allclose(got, exact, rtol=1e-6)


def test_note_example3_both(note_checkpoint):
  path, batches, batch_average, exact = note_checkpoint
  average, final = evaluate_model_both(path, _BatchIterator(batches),
                                       len(batches))
  np.testing.assert_allclose(average, batch_average, rtol=1e-6)
  np.testing.assert_allclose(final, exact, rtol=1e-6)
  assert abs(final - average) > 0.2
