"""slim.learning: create_train_op numerics vs numpy, and the train() loop.

The model everywhere is a tiny linear regression, loss = mean((x w - y)^2)
on 8 fixed examples with 3 features, trained by plain gradient descent, so
every update can be recomputed in numpy: grad = 2/N x^T (x w - y).
"""
import copy
import glob
import json
import logging as py_logging
import os
import signal

import numpy as np
import pytest
import tensorflow as tf

import slim
from slim import learning

tf1 = tf.compat.v1

RNG = np.random.RandomState(0)
X = RNG.randn(8, 3).astype(np.float32)
W_TRUE = np.array([[1.0], [-2.0], [0.5]], np.float32)
Y = X @ W_TRUE
W0 = np.array([[0.3], [0.1], [-0.2]], np.float32)
LR = 0.1


def np_loss(w):
  return float(np.mean((X @ w - Y) ** 2))


def np_grad(w):
  return 2.0 / X.shape[0] * X.T @ (X @ w - Y)


def np_gd(steps, w=W0):
  """Returns (weights after `steps` updates, loss of the last step)."""
  w = w.astype(np.float64)
  loss = None
  for _ in range(steps):
    loss = np_loss(w)
    w = w - LR * np_grad(w)
  return w, loss


def build_model(extra_loss=None):
  """Builds the regression graph in the default graph; returns (loss, w)."""
  w = slim.variables.model_variable(
      'w', shape=[3, 1], initializer=tf1.constant_initializer(W0))
  loss = tf.reduce_mean(tf.square(tf.matmul(tf.constant(X), w) - Y))
  if extra_loss is not None:
    loss = loss + extra_loss
  return loss, w


def sgd():
  return tf1.train.GradientDescentOptimizer(LR)


def run_steps(train_op, fetch, steps=1, feed_dict=None):
  with tf1.Session() as sess:
    sess.run(tf1.global_variables_initializer())
    losses = [sess.run(train_op, feed_dict) for _ in range(steps)]
    return losses, sess.run(fetch)


def latest_step(logdir):
  path = tf1.train.latest_checkpoint(logdir)
  return None if path is None else int(path.rsplit('-', 1)[1])


# ------------------------------------------------------------ create_train_op
def test_train_op_returns_loss_and_applies_numpy_update():
  with tf.Graph().as_default():
    loss, w = build_model()
    train_op = learning.create_train_op(loss, sgd())
    gs = slim.variables.get_global_step()
    losses, (w1, step) = run_steps(train_op, [w, gs], steps=2)
  expected_w, expected_last_loss = np_gd(2)
  np.testing.assert_allclose(losses[0], np_loss(W0), rtol=1e-5)
  np.testing.assert_allclose(losses[1], expected_last_loss, rtol=1e-5)
  np.testing.assert_allclose(w1, expected_w, rtol=1e-5, atol=1e-6)
  assert step == 2
  assert tf1.get_collection(tf1.GraphKeys.TRAIN_OP) == []  # other graph


def test_global_step_none_is_not_incremented():
  with tf.Graph().as_default():
    loss, _ = build_model()
    gs = slim.variables.get_or_create_global_step()
    train_op = learning.create_train_op(loss, sgd(), global_step=None)
    assert train_op in tf1.get_collection(tf1.GraphKeys.TRAIN_OP)
    _, step = run_steps(train_op, gs, steps=3)
  assert step == 0


@pytest.mark.parametrize('by_name', [False, True])
def test_gradient_multipliers_match_numpy(by_name):
  with tf.Graph().as_default():
    loss, w = build_model()
    key = 'w' if by_name else w
    train_op = learning.create_train_op(loss, sgd(),
                                        gradient_multipliers={key: 3.0})
    _, w1 = run_steps(train_op, w)
  np.testing.assert_allclose(w1, W0 - LR * 3.0 * np_grad(W0), rtol=1e-5)


def test_clip_gradient_norm_matches_numpy():
  max_norm = 0.1
  grad = np_grad(W0)
  assert np.linalg.norm(grad) > max_norm  # so clipping really happens
  with tf.Graph().as_default():
    loss, w = build_model()
    train_op = learning.create_train_op(loss, sgd(),
                                        clip_gradient_norm=max_norm)
    _, w1 = run_steps(train_op, w)
  clipped = grad * max_norm / np.linalg.norm(grad)
  np.testing.assert_allclose(w1, W0 - LR * clipped, rtol=1e-5)


def test_clip_and_multiply_helpers_on_indexed_slices():
  values = np.array([[3.0, 4.0], [0.0, 0.5]], np.float32)
  with tf.Graph().as_default():
    v = slim.variables.variable('v', shape=[4, 2])
    grad = tf.IndexedSlices(tf.constant(values), tf.constant([0, 2]),
                            tf.constant([4, 2]))
    clipped = learning.clip_gradient_norms([(grad, v), (None, v)], 1.0)
    multiplied = learning.multiply_gradients([(grad, v)], {'v:0': 2.0})
    assert clipped[1][0] is None
    with tf1.Session() as sess:
      c, m = sess.run([clipped[0][0].values, multiplied[0][0].values])
  np.testing.assert_allclose(c, values / np.linalg.norm(values), rtol=1e-6)
  np.testing.assert_allclose(m, values * 2.0)


def test_multiply_gradients_rejects_bad_arguments():
  with tf.Graph().as_default():
    v = slim.variables.variable('v', shape=[2])
    pairs = [(tf.ones([2]), v)]
    with pytest.raises(ValueError, match='grads_and_vars'):
      learning.multiply_gradients(pairs[0], {v: 1.0})
    with pytest.raises(ValueError, match='empty'):
      learning.multiply_gradients(pairs, {})
    with pytest.raises(ValueError, match='must be a dict'):
      learning.multiply_gradients(pairs, [(v, 1.0)])
    with pytest.raises(ValueError, match='None'):
      learning.multiply_gradients([(None, v)], {v: 1.0})


def test_variables_to_train_restricts_updates():
  with tf.Graph().as_default():
    loss, w = build_model()
    b = slim.variables.model_variable('b', shape=[],
                                      initializer=tf1.constant_initializer(
                                          0.7))
    loss = loss + tf.square(b)
    train_op = learning.create_train_op(loss, sgd(), variables_to_train=[w])
    _, (w1, b1) = run_steps(train_op, [w, b])
  np.testing.assert_allclose(b1, 0.7)
  np.testing.assert_allclose(w1, W0 - LR * np_grad(W0), rtol=1e-5)


def test_variables_to_train_rejects_empty_and_untrainable():
  with tf.Graph().as_default():
    loss, _ = build_model()
    frozen = slim.variables.variable('frozen', shape=[], trainable=False)
    with pytest.raises(ValueError, match='not trainable'):
      learning.create_train_op(loss + frozen, sgd(),
                               variables_to_train=[frozen])
    with pytest.raises(ValueError, match='empty'):
      learning.create_train_op(loss, sgd(), variables_to_train=[])
    with pytest.raises(TypeError, match='total_loss'):
      learning.create_train_op(1.0, sgd())


def test_update_ops_run_before_the_loss():
  with tf.Graph().as_default():
    counter = slim.variables.variable('counter', shape=[], trainable=False,
                                      initializer=tf1.zeros_initializer())
    tf1.add_to_collection(tf1.GraphKeys.UPDATE_OPS,
                          tf1.assign_add(counter, 1.0))
    loss, _ = build_model()
    train_op = learning.create_train_op(loss, sgd())
    _, count = run_steps(train_op, counter, steps=3)
  assert count == 3.0


def test_explicit_empty_update_ops_skip_the_collection():
  with tf.Graph().as_default():
    counter = slim.variables.variable('counter', shape=[], trainable=False,
                                      initializer=tf1.zeros_initializer())
    tf1.add_to_collection(tf1.GraphKeys.UPDATE_OPS,
                          tf1.assign_add(counter, 1.0))
    loss, _ = build_model()
    train_op = learning.create_train_op(loss, sgd(), update_ops=[])
    _, count = run_steps(train_op, counter, steps=2)
  assert count == 0.0


def test_check_numerics_raises_before_any_update():
  with tf.Graph().as_default():
    scale = tf1.placeholder(tf.float32, [])
    loss, w = build_model()
    train_op = learning.create_train_op(loss * scale, sgd())
    gs = slim.variables.get_global_step()
    with tf1.Session() as sess:
      sess.run(tf1.global_variables_initializer())
      with pytest.raises(tf.errors.InvalidArgumentError, match='LossTensor'):
        sess.run(train_op, {scale: np.nan})
      np.testing.assert_allclose(sess.run(w), W0)
      assert sess.run(gs) == 0


def test_summarize_gradients_adds_histogram_and_norm():
  with tf.Graph().as_default():
    loss, _ = build_model()
    learning.create_train_op(loss, sgd(), summarize_gradients=True)
    names = [s.op.name for s in tf1.get_collection(tf1.GraphKeys.SUMMARIES)]
    assert any(n.endswith('w_gradient') for n in names)
    assert any(n.endswith('w_gradient_norm') for n in names)


# --------------------------------------------------------------------- train
def train_regression(logdir, number_of_steps, extra_loss_fn=None, **kwargs):
  """Builds a fresh graph and trains it; returns train()'s result."""
  with tf.Graph().as_default():
    gs = slim.variables.get_or_create_global_step()
    extra = extra_loss_fn(gs) if extra_loss_fn else None
    loss, _ = build_model(extra)
    tf1.summary.scalar('loss', loss)
    train_op = learning.create_train_op(loss, sgd())
    return learning.train(train_op, logdir, number_of_steps=number_of_steps,
                          **kwargs)


def checkpoint_w(logdir, step=None):
  path = (tf1.train.latest_checkpoint(logdir) if step is None
          else os.path.join(logdir, 'model.ckpt-%d' % step))
  return tf.train.load_checkpoint(path).get_tensor('w')


def test_train_writes_checkpoint_events_and_matches_numpy(tmp_path):
  logdir = str(tmp_path)
  loss = train_regression(logdir, 4)
  expected_w, expected_loss = np_gd(4)
  assert latest_step(logdir) == 4
  assert os.path.exists(os.path.join(logdir, 'model.ckpt-4.index'))
  assert os.path.exists(os.path.join(logdir, 'graph.pbtxt'))
  np.testing.assert_allclose(loss, expected_loss, rtol=1e-5)
  np.testing.assert_allclose(checkpoint_w(logdir), expected_w, rtol=1e-5)
  # The state file uses relative paths, so the directory can be moved.
  state = tf1.train.get_checkpoint_state(logdir)
  with open(os.path.join(logdir, 'checkpoint')) as f:
    assert '"model.ckpt-4"' in f.read()
  assert state.model_checkpoint_path.endswith('model.ckpt-4')
  # The first summary is written right after the first step, and the last
  # step is summarized too (the run is shorter than save_summaries_secs).
  events = glob.glob(os.path.join(logdir, 'events.out.tfevents.*'))
  assert len(events) == 1
  tagged = [(e.step, v.tag, v.simple_value)
            for e in tf1.train.summary_iterator(events[0])
            for v in e.summary.value]
  assert [(s, t) for s, t, _ in tagged if t == 'loss'] == [(1, 'loss'),
                                                           (4, 'loss')]
  # The summary op runs after the update: loss at the new weights.
  np.testing.assert_allclose(
      [v for _, t, v in tagged if t == 'loss'],
      [np_loss(np_gd(1)[0]), np_loss(np_gd(4)[0])], rtol=1e-5)


def test_loss_decreases_and_resume_continues_without_init_fn(tmp_path):
  logdir = str(tmp_path)
  calls = []
  first = train_regression(logdir, 3, init_fn=calls.append)
  assert len(calls) == 1 and latest_step(logdir) == 3
  second = train_regression(logdir, 10, init_fn=calls.append)
  assert len(calls) == 1  # restored from logdir: init_fn not run again
  assert latest_step(logdir) == 10
  assert second < first < np_loss(W0)
  # Ten updates in total, as if never interrupted.
  np.testing.assert_allclose(checkpoint_w(logdir), np_gd(10)[0], rtol=1e-5)
  np.testing.assert_allclose(second, np_gd(10)[1], rtol=1e-5)


def test_resume_at_number_of_steps_runs_no_extra_step(tmp_path):
  logdir = str(tmp_path)
  train_regression(logdir, 2)
  assert train_regression(logdir, 2) is None
  assert latest_step(logdir) == 2



def test_resume_refuses_a_checkpoint_of_other_shapes(tmp_path):
  logdir = str(tmp_path)
  train_regression(logdir, 2)
  with tf.Graph().as_default():
    slim.variables.get_or_create_global_step()
    w = slim.variables.model_variable('w', shape=[4, 1])
    loss = tf.reduce_mean(tf.square(tf.matmul(tf.ones([2, 4]), w)))
    train_op = learning.create_train_op(loss, sgd())
    with pytest.raises(ValueError, match=r'Cannot resume from .*model.ckpt-2'
                       r'.*shape mismatch for w \(checkpoint \[3, 1\], '
                       r'graph \[4, 1\]\)'):
      learning.train(train_op, logdir, number_of_steps=4)
  assert latest_step(logdir) == 2

def test_periodic_checkpoints_keep_the_five_newest(tmp_path):
  logdir = str(tmp_path)
  train_regression(logdir, 7, save_interval_secs=1e-9)
  kept = sorted(int(p.rsplit('-', 1)[1].split('.')[0]) for p in
                glob.glob(os.path.join(logdir, 'model.ckpt-*.index')))
  assert kept == [3, 4, 5, 6, 7]


def test_nan_loss_stops_with_error_and_keeps_last_good_checkpoint(tmp_path):
  logdir = str(tmp_path)

  def nan_from_step_3(gs):
    return tf1.where(gs >= 3, tf.constant(np.nan, tf.float32), 0.0)

  with pytest.raises(learning.NonFiniteLossError,
                     match='Loss is NaN or Inf at global step 3') as info:
    train_regression(logdir, 10, extra_loss_fn=nan_from_step_3,
                     save_interval_secs=1e-9)
  assert info.value.step == 3
  assert info.value.checkpoint_path == os.path.join(logdir, 'model.ckpt-3')
  assert latest_step(logdir) == 3
  assert not glob.glob(os.path.join(logdir, 'model.ckpt-4*'))
  w = checkpoint_w(logdir)
  assert np.all(np.isfinite(w))
  np.testing.assert_allclose(w, np_gd(3)[0], rtol=1e-5)


def test_nan_loss_error_is_an_invalid_argument_error_without_checkpoint(
    tmp_path):
  # tf_slim raised InvalidArgumentError: code that catches it still works.
  def nan_always(gs):
    return tf.constant(np.nan, tf.float32) * tf.cast(gs + 1, tf.float32)

  with pytest.raises(tf.errors.InvalidArgumentError) as info:
    train_regression(str(tmp_path), 10, extra_loss_fn=nan_always)
  error = info.value
  assert isinstance(error, learning.NonFiniteLossError)
  assert (error.step, error.checkpoint_path) == (0, None)
  assert 'Latest checkpoint kept: None' in error.message
  assert latest_step(str(tmp_path)) is None
  # OpError.__reduce__ rebuilds an error from its __init__ argument names.
  clone = copy.copy(error)
  assert (type(clone), clone.step, clone.checkpoint_path, clone.message) == (
      learning.NonFiniteLossError, 0, None, error.message)


def test_check_loss_numerics_is_the_check_train_recognises(tmp_path):
  # A train op built without create_train_op, as train_image_classifier
  # builds its own from the clones' gradients.
  with tf.Graph().as_default():
    gs = slim.variables.get_or_create_global_step()
    loss, _ = build_model(tf1.where(gs >= 2, np.inf, 0.0))
    checked = learning.check_loss_numerics(loss)
    with tf.control_dependencies([checked]):
      update = sgd().minimize(loss, global_step=gs)
    with tf.control_dependencies([update]):
      train_op = tf.identity(checked)
    with pytest.raises(learning.NonFiniteLossError) as info:
      learning.train(train_op, str(tmp_path), number_of_steps=5,
                     save_interval_secs=1e-9)
  assert info.value.step == 2
  assert info.value.checkpoint_path == os.path.join(str(tmp_path),
                                                    'model.ckpt-2')
  np.testing.assert_allclose(checkpoint_w(str(tmp_path)), np_gd(2)[0],
                             rtol=1e-5)


def test_sigterm_stops_and_checkpoints_current_step(tmp_path):
  logdir = str(tmp_path)
  previous = signal.getsignal(signal.SIGTERM)
  seen = []

  def callback(step, loss, secs):
    seen.append((step, loss, secs))
    if step == 3:
      os.kill(os.getpid(), signal.SIGTERM)

  loss = train_regression(logdir, 100, step_callback=callback)
  assert [s for s, _, _ in seen] == [1, 2, 3]
  assert all(secs >= 0 for _, _, secs in seen)
  np.testing.assert_allclose(loss, np_gd(3)[1], rtol=1e-5)
  assert latest_step(logdir) == 3
  assert signal.getsignal(signal.SIGTERM) is previous



def test_sigterm_still_reaches_the_callers_handler(tmp_path):
  heard = []
  previous = signal.signal(signal.SIGTERM,
                           lambda signum, frame: heard.append(signum))
  try:
    def callback(step, loss, secs):
      del loss, secs
      if step == 2:
        os.kill(os.getpid(), signal.SIGTERM)

    train_regression(str(tmp_path), 100, step_callback=callback)
  finally:
    signal.signal(signal.SIGTERM, previous)
  assert heard == [signal.SIGTERM]
  assert latest_step(str(tmp_path)) == 2

def test_should_stop_fn_and_keyboard_interrupt_checkpoint(tmp_path):
  steps = []
  logdir = str(tmp_path / 'stop_fn')
  train_regression(logdir, 100, should_stop_fn=lambda: len(steps) >= 2,
                   step_callback=lambda step, loss, secs: steps.append(step))
  assert latest_step(logdir) == 2

  def interrupt(step, loss, secs):
    if step == 4:
      raise KeyboardInterrupt

  logdir = str(tmp_path / 'interrupt')
  train_regression(logdir, 100, step_callback=interrupt)
  assert latest_step(logdir) == 4


def test_log_line_format_and_examples_per_sec(tmp_path, caplog):
  caplog.set_level(py_logging.INFO)
  train_regression(str(tmp_path), 4, log_every_n_steps=2,
                   examples_per_step=8)
  lines = [r.getMessage() for r in caplog.records
           if r.getMessage().startswith('global step')]
  assert [line.split(':')[0] for line in lines] == ['global step 2',
                                                     'global step 4']
  assert 'loss = %.4f (' % np_gd(2)[1] in lines[0]
  assert 'sec/step, ' in lines[0] and 'examples/sec)' in lines[0]


def test_train_creates_logdir_without_summary_writer(tmp_path):
  logdir = str(tmp_path / 'new' / 'dir')
  train_regression(logdir, 2, summary_writer=None)
  assert latest_step(logdir) == 2
  assert not glob.glob(os.path.join(logdir, 'events.*'))


def test_train_without_logdir_and_argument_errors(tmp_path):
  # Without a logdir it still trains, and returns the last step's loss.
  np.testing.assert_allclose(train_regression(None, 2), np_gd(2)[1],
                             rtol=1e-5)
  with pytest.raises(ValueError, match='number_of_steps'):
    train_regression(str(tmp_path), 0)
  with pytest.raises(ValueError, match='saver'):
    train_regression(None, 1, saver=object())
  assert not os.listdir(str(tmp_path))


def test_trace_every_n_steps_writes_chrome_trace(tmp_path):
  logdir = str(tmp_path)
  train_regression(logdir, 2, trace_every_n_steps=2)
  # As in tf_slim: the step that starts at a multiple of n (global step 0)
  # is traced, and the file is named after the step it produced.
  traces = glob.glob(os.path.join(logdir, 'tf_trace-*.json'))
  assert [os.path.basename(t) for t in traces] == ['tf_trace-1.json']
  with open(traces[0]) as f:
    names = {e['name'] for e in json.load(f)['traceEvents']}
  assert any('MatMul' in n for n in names)


def test_train_stops_at_end_of_input_through_prefetch_queue(tmp_path):
  # 3 batches of 2 examples; no number_of_steps: the end of the tf.data
  # input (through a prefetch queue and its queue runner) ends training.
  logdir = str(tmp_path)
  with tf.Graph().as_default():
    x, y = tf1.data.make_one_shot_iterator(
        tf.data.Dataset.from_tensor_slices((X[:6], Y[:6])).batch(2)
    ).get_next()
    queue = slim.prefetch_queue.prefetch_queue([x, y], capacity=2)
    x, y = queue.dequeue()
    w = slim.variables.model_variable(
        'w', shape=[3, 1], initializer=tf1.constant_initializer(W0))
    loss = tf.reduce_mean(tf.square(tf.matmul(x, w) - y))
    train_op = learning.create_train_op(loss, sgd())
    learning.train(train_op, logdir, save_summaries_secs=0)
  assert latest_step(logdir) == 3
  w = W0.astype(np.float64)
  for i in range(3):
    xb, yb = X[2 * i:2 * i + 2], Y[2 * i:2 * i + 2]
    w = w - LR * 2.0 / 2 * xb.T @ (xb @ w - yb)
  np.testing.assert_allclose(checkpoint_w(logdir), w, rtol=1e-5)


def test_train_with_sync_replicas_optimizer_single_replica(tmp_path):
  logdir = str(tmp_path)
  with tf.Graph().as_default():
    loss, _ = build_model()
    opt = tf1.train.SyncReplicasOptimizer(sgd(), replicas_to_aggregate=1,
                                          total_num_replicas=1)
    train_op = learning.create_train_op(loss, opt)
    loss_value = learning.train(train_op, logdir, number_of_steps=3,
                                sync_optimizer=opt)
  assert latest_step(logdir) == 3
  # One replica, one gradient per step: plain gradient descent.
  np.testing.assert_allclose(loss_value, np_gd(3)[1], rtol=1e-5)
  np.testing.assert_allclose(checkpoint_w(logdir), np_gd(3)[0], rtol=1e-5)
