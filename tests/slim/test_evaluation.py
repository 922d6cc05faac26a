"""slim.evaluation: evaluate_once, evaluation_loop, checkpoint watching.

The evaluated model is predictions = x w for a checkpointed w; the metric is
a streaming mean of |x w - y| built from two local variables, so the
expected value is a numpy mean over the batches that were run.
"""
import glob
import os
import time

import numpy as np
import pytest
import tensorflow as tf

import slim
from slim import evaluation

tf1 = tf.compat.v1

RNG = np.random.RandomState(1)
X = RNG.randn(10, 3).astype(np.float32)   # 5 batches of 2
Y = RNG.randn(10, 1).astype(np.float32)
W = np.array([[0.5], [-1.0], [2.0]], np.float32)
BATCH = 2


def np_mean_abs_error(num_batches, w=W):
  n = num_batches * BATCH
  return float(np.mean(np.abs(X[:n] @ w - Y[:n])))


def write_checkpoint(directory, step, w=W, name='w'):
  """Saves {name: w, global_step: step} as directory/model.ckpt-<step>."""
  with tf.Graph().as_default():
    slim.variables.variable(name, initializer=tf.constant(w))
    gs = slim.variables.get_or_create_global_step()
    with tf1.Session() as sess:
      sess.run(tf1.global_variables_initializer())
      sess.run(tf1.assign(gs, step))
      return tf1.train.Saver().save(sess, os.path.join(directory, 'model.ckpt'),
                                    global_step=step)


def build_eval_graph(name='w', with_global_step=True):
  """Returns (update_op, value, w) for the streaming mean |x w - y|."""
  if with_global_step:
    slim.variables.get_or_create_global_step()
  w = slim.variables.variable(name, shape=[3, 1])
  x, y = tf1.data.make_one_shot_iterator(
      tf.data.Dataset.from_tensor_slices((X, Y)).batch(BATCH)).get_next()
  error = tf.abs(tf.matmul(x, w) - y)
  total = slim.variables.local_variable(0.0, name='total')
  count = slim.variables.local_variable(0.0, name='count')
  update = tf.group(tf1.assign_add(total, tf.reduce_sum(error)),
                    tf1.assign_add(count, tf.cast(tf.size(error),
                                                  tf.float32)))
  value = total / count
  tf1.summary.scalar('eval/MAE', value)
  return update, value, w


def read_scalars(logdir, tag):
  out = []
  for path in sorted(glob.glob(os.path.join(logdir, 'events.out.tfevents.*'))):
    for event in tf1.train.summary_iterator(path):
      out += [(event.step, v.simple_value) for v in event.summary.value
              if v.tag == tag]
  return out


def test_evaluate_once_returns_final_value_and_writes_summary(tmp_path):
  ckpt = write_checkpoint(str(tmp_path / 'train'), step=7)
  logdir = str(tmp_path / 'eval')
  progress = []
  with tf.Graph().as_default():
    update, value, _ = build_eval_graph()
    result = evaluation.evaluate_once(
        '', ckpt, logdir, num_evals=3, eval_op=update,
        final_op={'mae': value},
        progress_fn=lambda done, total: progress.append((done, total)))
  np.testing.assert_allclose(result['mae'], np_mean_abs_error(3), rtol=1e-6)
  assert progress == [(1, 3), (2, 3), (3, 3)]
  [(step, logged)] = read_scalars(logdir, 'eval/MAE')
  assert step == 7
  np.testing.assert_allclose(logged, np_mean_abs_error(3), rtol=1e-6)


def test_num_evals_none_runs_until_input_is_exhausted(tmp_path):
  train_dir = str(tmp_path)
  write_checkpoint(train_dir, step=3)
  progress = []
  with tf.Graph().as_default():
    update, value, _ = build_eval_graph()
    # A directory means its latest checkpoint.
    result = evaluation.evaluate_once(
        '', train_dir, None, num_evals=None, eval_op=update, final_op=value,
        progress_fn=lambda done, total: progress.append((done, total)))
  np.testing.assert_allclose(result, np_mean_abs_error(5), rtol=1e-6)
  assert progress == [(i, None) for i in range(1, 6)]
  assert not glob.glob(os.path.join(train_dir, 'events.*'))


def test_initial_op_runs_after_restore_and_local_init(tmp_path):
  ckpt = write_checkpoint(str(tmp_path), step=1)
  with tf.Graph().as_default():
    update, value, w = build_eval_graph()
    flag = slim.variables.local_variable(0.0, name='flag')
    result = evaluation.evaluate_once(
        '', ckpt, None, num_evals=1, eval_op=update,
        initial_op=tf1.assign(flag, tf.reduce_sum(w)),
        final_op=[value, flag], summary_op=None)
  np.testing.assert_allclose(result[0], np_mean_abs_error(1), rtol=1e-6)
  np.testing.assert_allclose(result[1], W.sum(), rtol=1e-6)


def test_variables_to_restore_and_step_from_checkpoint(tmp_path):
  ckpt = write_checkpoint(str(tmp_path / 'train'), step=42)
  logdir = str(tmp_path / 'eval')
  with tf.Graph().as_default():
    # The graph names the weights 'v' and has no global step: the step
    # written with the summary comes from the checkpoint itself.
    update, value, v = build_eval_graph(name='v', with_global_step=False)
    result = evaluation.evaluate_once('', ckpt, logdir, num_evals=2,
                                      eval_op=update, final_op=value,
                                      variables_to_restore={'w': v})
  np.testing.assert_allclose(result, np_mean_abs_error(2), rtol=1e-6)
  assert [s for s, _ in read_scalars(logdir, 'eval/MAE')] == [42]


def test_evaluate_once_argument_errors(tmp_path):
  with tf.Graph().as_default():
    update, value, _ = build_eval_graph()
    with pytest.raises(ValueError, match='does not exist'):
      evaluation.evaluate_once('', str(tmp_path / 'model.ckpt-5'), None,
                               eval_op=update, final_op=value)
    with pytest.raises(ValueError, match='without checkpoints'):
      evaluation.evaluate_once('', str(tmp_path), None, eval_op=update)
    with pytest.raises(ValueError, match='num_evals'):
      evaluation.evaluate_once('', str(tmp_path), None, num_evals=-1)



def test_checkpoint_of_other_shapes_is_refused_with_the_names(tmp_path):
  # tf1's Saver would restore a [2, 1] w into the [3, 1] variable silently.
  ckpt = write_checkpoint(str(tmp_path / 'train'), step=7,
                          w=np.ones([2, 1], np.float32))
  other = write_checkpoint(str(tmp_path / 'other'), step=7, name='v')
  with tf.Graph().as_default():
    update, value, _ = build_eval_graph()
    with pytest.raises(ValueError, match=r'shape mismatch for w '
                       r'\(checkpoint \[2, 1\], graph \[3, 1\]\)'):
      evaluation.evaluate_once('', ckpt, None, eval_op=update,
                               final_op=value)
    with pytest.raises(ValueError, match=r'1 variable\(s\) missing: w'):
      evaluation.evaluate_once('', other, None, eval_op=update,
                               final_op=value)
    with pytest.raises(ValueError, match='shape mismatch for w'):
      evaluation.evaluation_loop('', str(tmp_path / 'train'), None,
                                 eval_op=update, final_op=value,
                                 max_number_of_evaluations=1)

def test_evaluation_loop_single_evaluation(tmp_path):
  train_dir = str(tmp_path / 'train')
  write_checkpoint(train_dir, step=5)
  write_checkpoint(train_dir, step=9, w=2 * W)
  logdir = str(tmp_path / 'eval')
  with tf.Graph().as_default():
    update, value, _ = build_eval_graph()
    result = evaluation.evaluation_loop(
        '', train_dir, logdir, num_evals=2, eval_op=update, final_op=value,
        eval_interval_secs=0, max_number_of_evaluations=1)
  # Only the latest checkpoint (step 9, weights 2 W) is evaluated.
  np.testing.assert_allclose(result, np_mean_abs_error(2, 2 * W), rtol=1e-6)
  assert [s for s, _ in read_scalars(logdir, 'eval/MAE')] == [9]


def test_evaluation_loop_picks_up_new_checkpoints_until_timeout(tmp_path):
  train_dir = str(tmp_path / 'train')
  logdir = str(tmp_path / 'eval')
  write_checkpoint(train_dir, step=1)
  calls = []

  def timeout_fn():
    # First timeout: the "trainer" writes another checkpoint; then stop.
    calls.append(time.time())
    if len(calls) == 1:
      write_checkpoint(train_dir, step=2, w=-W)
      return False
    return True

  with tf.Graph().as_default():
    update, value, _ = build_eval_graph()
    result = evaluation.evaluation_loop(
        '', train_dir, logdir, num_evals=1, eval_op=update, final_op=value,
        eval_interval_secs=0, timeout=0.5, timeout_fn=timeout_fn)
  assert len(calls) == 2
  # The metric accumulators are reset for each checkpoint.
  np.testing.assert_allclose(result, np_mean_abs_error(1, -W), rtol=1e-6)
  assert [s for s, _ in read_scalars(logdir, 'eval/MAE')] == [1, 2]


def test_checkpoints_iterator_and_wait_with_timeout(tmp_path):
  train_dir = str(tmp_path)
  start = time.time()
  assert list(evaluation.checkpoints_iterator(train_dir, timeout=0.3)) == []
  assert evaluation.wait_for_new_checkpoint(train_dir, timeout=0.2) is None
  assert time.time() - start < 10
  ckpt = write_checkpoint(train_dir, step=4)
  assert evaluation.wait_for_new_checkpoint(train_dir, timeout=0.2) == ckpt
  assert evaluation.wait_for_new_checkpoint(train_dir, ckpt,
                                            timeout=0.2) is None
  assert list(evaluation.checkpoints_iterator(train_dir, timeout=0.3)) == [
      ckpt]
