"""slim.losses: numerics against numpy, weighting, scopes and collections."""
import numpy as np
import pytest
import tensorflow as tf

from slim import losses

tf1 = tf.compat.v1

RNG = np.random.RandomState(0)
LOGITS = RNG.randn(4, 3).astype(np.float32)
IDS = np.array([0, 2, 1, 2])
ONEHOT = np.eye(3, dtype=np.float32)[IDS]


def _run(fetches):
  with tf1.Session() as sess:
    return sess.run(fetches)


def _np_weighted_mean(elementwise, weights=1.0):
  """Sum of loss * weight over the elements with non-zero weight / count.

  `weights` covers the leading dimensions of `elementwise`.
  """
  weights = np.asarray(weights, np.float64)
  weights = weights.reshape(
      weights.shape + (1,) * (elementwise.ndim - weights.ndim))
  weights = np.broadcast_to(weights, elementwise.shape)
  count = np.count_nonzero(weights)
  return 0.0 if count == 0 else float(np.sum(elementwise * weights) / count)


def _np_softmax_xent(logits, labels):
  logits = logits.astype(np.float64)
  shifted = logits - logits.max(axis=1, keepdims=True)
  log_softmax = shifted - np.log(np.exp(shifted).sum(axis=1, keepdims=True))
  return -(labels * log_softmax).sum(axis=1)


def _np_sigmoid_xent(logits, labels):
  p = 1.0 / (1.0 + np.exp(-logits.astype(np.float64)))
  return -(labels * np.log(p) + (1 - labels) * np.log(1 - p))


@pytest.mark.parametrize('weights', [1.0, 2.5, 0.0,
                                     [1.0, 0.0, 2.0, 0.5],
                                     [[1.0], [0.0], [2.0], [0.5]],
                                     [0.0, 0.0, 0.0, 0.0]])
def test_softmax_cross_entropy_weights(weights):
  with tf.Graph().as_default():
    loss = losses.softmax_cross_entropy(tf.constant(LOGITS),
                                        tf.constant(ONEHOT),
                                        weights=tf.constant(weights))
    value = _run(loss)
  flat = np.asarray(weights, np.float64).reshape(-1) if np.ndim(weights) \
      else weights
  expected = _np_weighted_mean(_np_softmax_xent(LOGITS, ONEHOT), flat)
  np.testing.assert_allclose(value, expected, rtol=1e-5, atol=1e-7)


def test_softmax_cross_entropy_label_smoothing():
  smoothing = 0.1
  with tf.Graph().as_default():
    loss = losses.softmax_cross_entropy(tf.constant(LOGITS),
                                        tf.constant(ONEHOT),
                                        label_smoothing=smoothing)
    value = _run(loss)
  smoothed = ONEHOT * (1 - smoothing) + smoothing / 3
  expected = _np_softmax_xent(LOGITS, smoothed).mean()
  np.testing.assert_allclose(value, expected, rtol=1e-5)


def test_sparse_softmax_cross_entropy_matches_dense():
  weights = np.array([0.5, 1.0, 0.0, 2.0], np.float32)
  with tf.Graph().as_default():
    sparse = losses.sparse_softmax_cross_entropy(
        tf.constant(LOGITS), tf.constant(IDS.reshape(4, 1)),
        weights=tf.constant(weights))
    value = _run(sparse)
  expected = _np_weighted_mean(_np_softmax_xent(LOGITS, ONEHOT), weights)
  np.testing.assert_allclose(value, expected, rtol=1e-5)


def test_sigmoid_cross_entropy_smoothing_and_full_weights():
  labels = (RNG.rand(4, 3) > 0.5).astype(np.float32)
  weights = RNG.rand(4, 3).astype(np.float32)
  weights[1, 2] = 0.0
  smoothing = 0.2
  with tf.Graph().as_default():
    loss = losses.sigmoid_cross_entropy(
        tf.constant(LOGITS), tf.constant(labels), weights=tf.constant(weights),
        label_smoothing=smoothing)
    value = _run(loss)
  smoothed = labels * (1 - smoothing) + 0.5 * smoothing
  expected = _np_weighted_mean(_np_sigmoid_xent(LOGITS, smoothed), weights)
  np.testing.assert_allclose(value, expected, rtol=1e-5)


def test_sigmoid_cross_entropy_hand_computed_with_per_sample_weights():
  # Smoothing 0.5 turns labels [1, 0, 1] into [0.75, 0.25, 0.75] (0.5 * s
  # whatever the class count, unlike softmax's s / num_classes). Row 0:
  #   logit 0:     p = 1/2, loss = -(0.75 + 0.25) ln(1/2) = ln 2 (twice)
  #   logit ln 3:  p = 3/4, loss = -(0.25 ln(3/4) + 0.75 ln(1/4))
  #                              = ln 4 - (ln 3) / 4
  # Row 1 has weight 0: out of the sum and of the count, so the loss is
  # 2 * (4 ln 2 - (ln 3) / 4) / 3 elements.
  logits = np.array([[0.0, np.log(3.0), 0.0], [5.0, -5.0, 1.0]], np.float32)
  labels = np.array([[1, 0, 1], [0, 1, 0]], np.int64)
  with tf.Graph().as_default():
    loss = losses.sigmoid_cross_entropy(
        tf.constant(logits), tf.constant(labels),
        weights=tf.constant([2.0, 0.0]), label_smoothing=0.5)
    assert tf1.get_collection(tf1.GraphKeys.LOSSES) == [loss]
    assert loss.op.name.startswith('sigmoid_cross_entropy_loss/')
    value = _run(loss)
  np.testing.assert_allclose(value, 2 * (4 * np.log(2) - np.log(3) / 4) / 3,
                             rtol=1e-6)


PRED = RNG.rand(4, 3).astype(np.float32)
TARGET = RNG.rand(4, 3).astype(np.float32)
PER_SAMPLE = np.array([1.0, 0.0, 3.0, 0.5], np.float32)


@pytest.mark.parametrize('fn,np_fn', [
    (losses.mean_squared_error, lambda p, t: (p - t) ** 2),
    (losses.sum_of_squares, lambda p, t: (p - t) ** 2),
    (losses.absolute_difference, lambda p, t: np.abs(p - t)),
    (losses.log_loss,
     lambda p, t: -t * np.log(p + 1e-7) - (1 - t) * np.log(1 - p + 1e-7)),
])
@pytest.mark.parametrize('weights', [1.0, 3.0, PER_SAMPLE])
def test_elementwise_losses(fn, np_fn, weights):
  targets = (TARGET > 0.5).astype(np.float32) if fn is losses.log_loss \
      else TARGET
  with tf.Graph().as_default():
    loss = fn(tf.constant(PRED), tf.constant(targets),
              weights=tf.constant(weights))
    value = _run(loss)
  expected = _np_weighted_mean(np_fn(PRED.astype(np.float64), targets),
                               weights)
  np.testing.assert_allclose(value, expected, rtol=1e-5)


def test_huber_loss_labels_first():
  delta = 0.3
  with tf.Graph().as_default():
    loss = losses.huber_loss(tf.constant(TARGET), tf.constant(PRED * 2),
                             weights=tf.constant(PER_SAMPLE), delta=delta)
    value = _run(loss)
  err = np.abs(PRED.astype(np.float64) * 2 - TARGET)
  elementwise = np.where(err <= delta, 0.5 * err ** 2,
                         delta * (err - 0.5 * delta))
  np.testing.assert_allclose(value, _np_weighted_mean(elementwise, PER_SAMPLE),
                             rtol=1e-5)


def test_hinge_loss_is_unreduced_and_not_collected():
  labels = (TARGET > 0.5).astype(np.float32)
  with tf.Graph().as_default():
    loss = losses.hinge_loss(tf.constant(LOGITS), tf.constant(labels))
    value = _run(loss)
    assert losses.get_losses() == []
  np.testing.assert_allclose(
      value, np.maximum(0.0, 1.0 - (2 * labels - 1) * LOGITS), rtol=1e-6)


def test_cosine_distance_axis_and_dim():
  p = PRED / np.linalg.norm(PRED, axis=1, keepdims=True)
  t = TARGET / np.linalg.norm(TARGET, axis=1, keepdims=True)
  expected = _np_weighted_mean(1.0 - (p * t).sum(axis=1), PER_SAMPLE)
  with tf.Graph().as_default():
    by_axis = losses.cosine_distance(tf.constant(p), tf.constant(t), axis=1,
                                     weights=tf.constant(PER_SAMPLE))
    by_dim = losses.cosine_distance(tf.constant(p), tf.constant(t), dim=1,
                                    weights=tf.constant(PER_SAMPLE))
    values = _run([by_axis, by_dim])
    with pytest.raises(ValueError, match='axis'):
      losses.cosine_distance(tf.constant(p), tf.constant(t))
  np.testing.assert_allclose(values, [expected, expected], rtol=1e-5)


def test_deprecated_weight_alias():
  with tf.Graph().as_default():
    new = losses.mean_squared_error(tf.constant(PRED), tf.constant(TARGET),
                                    weights=tf.constant(PER_SAMPLE))
    old = losses.mean_squared_error(tf.constant(PRED), tf.constant(TARGET),
                                    weight=tf.constant(PER_SAMPLE))
    a, b = _run([new, old])
    with pytest.raises(ValueError, match='weight'):
      losses.mean_squared_error(tf.constant(PRED), tf.constant(TARGET),
                                weights=2.0, weight=3.0)
  assert a == b


def test_shape_mismatch_names_arguments():
  with tf.Graph().as_default():
    with pytest.raises(ValueError, match=r'predictions.*labels.*\(4, 3\)'):
      losses.absolute_difference(tf.constant(PRED), tf.constant(TARGET[:, :2]))
    with pytest.raises(ValueError, match='onehot_labels'):
      losses.softmax_cross_entropy(tf.constant(LOGITS), tf.constant(ONEHOT.T))
    with pytest.raises(ValueError, match='weights'):
      losses.mean_squared_error(tf.constant(PRED), tf.constant(TARGET),
                                weights=tf.ones([4, 3, 2]))


def test_float64_inputs_give_float64_loss():
  with tf.Graph().as_default():
    loss = losses.softmax_cross_entropy(tf.constant(LOGITS, tf.float64),
                                        tf.constant(ONEHOT, tf.float64))
    assert loss.dtype == tf.float64


def test_scopes_and_get_losses():
  with tf.Graph().as_default():
    aux = losses.softmax_cross_entropy(tf.constant(LOGITS),
                                       tf.constant(ONEHOT), weights=0.4,
                                       scope='aux_loss')
    main = losses.softmax_cross_entropy(tf.constant(LOGITS),
                                        tf.constant(ONEHOT))
    assert aux.op.name.startswith('aux_loss/')
    assert main.op.name.startswith('softmax_cross_entropy_loss/')
    assert losses.get_losses() == [aux, main]
    assert losses.get_losses(scope='aux_loss') == [aux]
    with tf1.name_scope('clone_1'):
      cloned = losses.mean_squared_error(tf.constant(PRED),
                                         tf.constant(TARGET))
    assert losses.get_losses(scope='clone_1') == [cloned]
    assert losses.get_losses(loss_collection='other') == []


def test_get_total_loss_with_and_without_regularization():
  with tf.Graph().as_default():
    with pytest.raises(ValueError, match='no losses'):
      losses.get_total_loss()
    xent = losses.softmax_cross_entropy(tf.constant(LOGITS),
                                        tf.constant(ONEHOT))
    reg = tf.constant(0.25, name='my_reg')
    tf1.add_to_collection(tf1.GraphKeys.REGULARIZATION_LOSSES, reg)
    assert losses.get_regularization_losses() == [reg]
    with_reg = losses.get_total_loss()
    without = losses.get_total_loss(add_regularization_losses=False,
                                    name='data_loss')
    assert with_reg.op.name == 'total_loss'
    assert without.op.name == 'data_loss'
    x, w, wo = _run([xent, with_reg, without])
  np.testing.assert_allclose(w, x + 0.25, rtol=1e-6)
  np.testing.assert_allclose(wo, x, rtol=1e-6)


def test_readme_multi_task_example():
  depth_pred = RNG.rand(4, 2, 2).astype(np.float32)
  depth_true = RNG.rand(4, 2, 2).astype(np.float32)
  with tf.Graph().as_default():
    classification_loss = losses.softmax_cross_entropy(
        tf.constant(LOGITS), tf.constant(ONEHOT))
    sum_of_squares_loss = losses.sum_of_squares(tf.constant(depth_pred),
                                                tf.constant(depth_true))
    total_a = classification_loss + sum_of_squares_loss
    total_b = losses.get_total_loss(add_regularization_losses=False)
    # A custom loss registered by hand, plus a regularization loss.
    pose_loss = tf.reduce_mean(tf.constant(PRED))
    losses.add_loss(pose_loss)
    tf1.add_to_collection(tf1.GraphKeys.REGULARIZATION_LOSSES,
                          tf.constant(0.125))
    regularization_loss = tf.add_n(losses.get_regularization_losses())
    total_1 = (classification_loss + sum_of_squares_loss + pose_loss
               + regularization_loss)
    total_2 = losses.get_total_loss()
    a, b, t1, t2 = _run([total_a, total_b, total_1, total_2])
  expected = (_np_softmax_xent(LOGITS, ONEHOT).mean()
              + ((depth_pred - depth_true) ** 2).mean())
  np.testing.assert_allclose([a, b], [expected, expected], rtol=1e-5)
  np.testing.assert_allclose(t2, t1, rtol=1e-6)
  np.testing.assert_allclose(t2, expected + PRED.mean() + 0.125, rtol=1e-5)


def test_gradient_flows_to_logits_only():
  with tf.Graph().as_default():
    logits = tf.constant(LOGITS)
    labels = tf.constant(ONEHOT)
    loss = losses.softmax_cross_entropy(logits, labels, label_smoothing=0.1)
    g_logits, g_labels = tf1.gradients(loss, [logits, labels])
    assert g_labels is None
    grad = _run(g_logits)
  smoothed = ONEHOT * 0.9 + 0.1 / 3
  softmax = np.exp(LOGITS) / np.exp(LOGITS).sum(axis=1, keepdims=True)
  np.testing.assert_allclose(grad, (softmax - smoothed) / 4, rtol=1e-4,
                             atol=1e-6)
