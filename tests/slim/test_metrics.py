"""slim.metrics: every metric streamed over batches vs numpy on all the data."""
import numpy as np
import pytest
import tensorflow as tf

from slim import metrics

tf1 = tf.compat.v1

RNG = np.random.RandomState(0)
SIZES = (3, 5, 4)  # Three batches of different sizes.


def _split(array):
  return np.split(array, np.cumsum(SIZES)[:-1])


def _stream(make_metric, inputs):
  """Streams `inputs` batch by batch through a metric.

  Args:
    make_metric: fn(**placeholders) -> (value_op, update_op).
    inputs: dict name -> numpy array over all the data (batch-major).

  Returns:
    dict with 'initial' (value before any update), 'updates' (what each
    update op returned), 'final' (value after all batches), 'reset' (value
    after local_variables_initializer), 'prefixes' (inputs seen after each
    batch, as dicts of numpy arrays).
  """
  with tf.Graph().as_default():
    placeholders = {
        name: tf1.placeholder(tf.as_dtype(array.dtype),
                              [None] + list(array.shape[1:]), name=name)
        for name, array in inputs.items()}
    value, update = make_metric(**placeholders)
    batches = {name: _split(array) for name, array in inputs.items()}
    result = {'updates': [], 'prefixes': []}
    with tf1.Session() as sess:
      sess.run(tf1.local_variables_initializer())
      result['initial'] = sess.run(value)
      for i in range(len(SIZES)):
        feed = {placeholders[n]: batches[n][i] for n in inputs}
        result['updates'].append(sess.run(update, feed))
        end = sum(SIZES[:i + 1])
        result['prefixes'].append({n: a[:end] for n, a in inputs.items()})
      result['final'] = sess.run(value)
      sess.run(tf1.local_variables_initializer())
      result['reset'] = sess.run(value)
  return result


def _check_streaming(make_metric, inputs, np_metric, rtol=1e-5, atol=1e-6):
  """Updates and final value match np_metric on the data seen so far."""
  result = _stream(make_metric, inputs)
  for got, seen in zip(result['updates'], result['prefixes']):
    np.testing.assert_allclose(got, np_metric(**seen), rtol=rtol, atol=atol)
  expected = np_metric(**inputs)
  np.testing.assert_allclose(result['final'], expected, rtol=rtol, atol=atol)
  np.testing.assert_array_equal(result['initial'], result['reset'])
  assert np.all(np.isfinite(result['initial']))
  return result


N = sum(SIZES)
WEIGHTS = RNG.rand(N).astype(np.float32)
WEIGHTS[[1, 7]] = 0.0
PRED = RNG.rand(N, 3).astype(np.float32)
TRUE = RNG.rand(N, 3).astype(np.float32)


def _np_mean(values, weights=None):
  values = np.asarray(values, np.float64)
  if weights is None:
    weights = np.ones_like(values)
  weights = np.asarray(weights, np.float64)
  weights = np.broadcast_to(
      weights.reshape(weights.shape + (1,) * (values.ndim - weights.ndim)),
      values.shape)
  total = weights.sum()
  return 0.0 if total == 0 else (values * weights).sum() / total


# ------------------------------------------------------------------- means

def test_mean_with_per_sample_weights_and_zero_start():
  result = _check_streaming(
      lambda values, weights: metrics.streaming_mean(values, weights),
      {'values': PRED, 'weights': WEIGHTS}, _np_mean)
  assert result['initial'] == 0.0


def test_mean_tensor_elementwise():
  values = RNG.rand(N, 2).astype(np.float32)
  weights = RNG.rand(N, 2).astype(np.float32)
  weights[:, 1] = 0.0  # A column that never gets weight stays 0.

  def np_metric(values, weights):
    total = weights.sum(0)
    return np.where(total > 0,
                    (values * weights).sum(0) / np.where(total > 0, total, 1),
                    0.0)

  # The accumulators take the values' static shape, so the batch dimension
  # cannot vary: stream one [2] row at a time.
  with tf.Graph().as_default():
    v = tf1.placeholder(tf.float32, [2])
    w = tf1.placeholder(tf.float32, [2])
    value, update = metrics.streaming_mean_tensor(v, w)
    with tf1.Session() as sess:
      sess.run(tf1.local_variables_initializer())
      np.testing.assert_array_equal(sess.run(value), [0.0, 0.0])
      for i in range(N):
        got = sess.run(update, {v: values[i], w: weights[i]})
        np.testing.assert_allclose(
            got, np_metric(values[:i + 1], weights[:i + 1]), rtol=1e-5)
      np.testing.assert_allclose(sess.run(value), np_metric(values, weights),
                                 rtol=1e-5)
    with pytest.raises(ValueError, match='static shape'):
      metrics.streaming_mean_tensor(tf1.placeholder(tf.float32, [None]))


def test_accuracy_and_alias():
  labels = RNG.randint(0, 3, N).astype(np.int64)
  predictions = np.where(RNG.rand(N) > 0.4, labels, (labels + 1) % 3)

  def np_acc(predictions, labels, weights):
    return _np_mean(predictions == labels, weights)

  _check_streaming(
      lambda predictions, labels, weights: metrics.streaming_accuracy(
          predictions, labels, weights),
      {'predictions': predictions.astype(np.int32), 'labels': labels,
       'weights': WEIGHTS}, np_acc)
  _check_streaming(
      lambda predictions, labels: metrics.accuracy(
          predictions[:, None], labels),
      {'predictions': predictions, 'labels': labels},
      lambda predictions, labels: np.mean(predictions == labels))


@pytest.mark.parametrize('fn,np_fn', [
    (metrics.streaming_mean_absolute_error, lambda p, t: np.abs(p - t)),
    (metrics.streaming_mean_squared_error, lambda p, t: (p - t) ** 2),
])
def test_regression_errors(fn, np_fn):
  _check_streaming(
      lambda p, t, w: fn(p, t, weights=w),
      {'p': PRED, 't': TRUE, 'w': WEIGHTS},
      lambda p, t, w: _np_mean(np_fn(p.astype(np.float64), t), w))


def test_root_mean_squared_error():
  _check_streaming(
      lambda p, t: metrics.streaming_root_mean_squared_error(p, t),
      {'p': PRED, 't': TRUE},
      lambda p, t: np.sqrt(np.mean((p.astype(np.float64) - t) ** 2)))


def test_mean_relative_error_zero_normalizer():
  normalizer = TRUE.copy()
  normalizer[::4, 1] = 0.0

  def np_mre(p, t, n):
    rel = np.abs(t.astype(np.float64) - p) / np.where(n == 0, 1.0, n)
    return np.mean(np.where(n == 0, 0.0, rel))

  _check_streaming(
      lambda p, t, n: metrics.streaming_mean_relative_error(p, t, n),
      {'p': PRED, 't': TRUE, 'n': normalizer}, np_mre)


def test_percentage_less_and_alias():
  for fn in (metrics.streaming_percentage_less, metrics.percentage_less):
    _check_streaming(
        lambda v, w, fn=fn: fn(v, 0.3, weights=w),
        {'v': PRED, 'w': WEIGHTS},
        lambda v, w: _np_mean(v < 0.3, w))


# -------------------------------------------------------- classification

LABELS_3 = RNG.randint(0, 5, N).astype(np.int64)
SCORES = RNG.rand(N, 5).astype(np.float32)


def test_recall_at_k():
  def np_recall(scores, labels):
    label_scores = scores[np.arange(len(labels)), labels]
    rank = (scores > label_scores[:, None]).sum(axis=1)
    return np.mean(rank < 2)

  result = _check_streaming(
      lambda scores, labels: metrics.streaming_recall_at_k(scores, labels, 2),
      {'scores': SCORES, 'labels': LABELS_3}, np_recall)
  assert 0.0 < result['final'] < 1.0


def _np_sparse_counts(scores, labels, k, class_id=None):
  """Per-example tp, fp, fn of top-k ids against label sets, in numpy."""
  labels = labels.reshape(len(labels), -1)
  top_k = np.argsort(-scores, axis=1, kind='stable')[:, :k]
  counts = []
  for top, lab in zip(top_k, labels):
    top, lab = set(top.tolist()), set(lab.tolist())
    if class_id is not None:
      top, lab = top & {class_id}, lab & {class_id}
    counts.append((len(top & lab), len(top - lab), len(lab - top)))
  return np.array(counts, np.float64).T


@pytest.mark.parametrize('labels', [
    LABELS_3,
    np.stack([LABELS_3, (LABELS_3 + 2) % 5], axis=1),
    np.stack([LABELS_3, np.full(N, -1)], axis=1),  # Padding counts as a miss.
])
@pytest.mark.parametrize('class_id', [None, 2])
def test_sparse_recall_and_precision_at_k(labels, class_id):
  def np_recall(scores, labels):
    tp, _, fn = _np_sparse_counts(scores, labels, 3, class_id)
    return 0.0 if tp.sum() + fn.sum() == 0 else tp.sum() / (tp.sum() + fn.sum())

  def np_precision(scores, labels, weights):
    tp, fp, _ = _np_sparse_counts(scores, labels, 3, class_id)
    tp, fp = (tp * weights).sum(), (fp * weights).sum()
    return 0.0 if tp + fp == 0 else tp / (tp + fp)

  _check_streaming(
      lambda scores, labels: metrics.streaming_sparse_recall_at_k(
          scores, labels, 3, class_id=class_id),
      {'scores': SCORES, 'labels': labels}, np_recall)
  _check_streaming(
      lambda scores, labels, weights: metrics.streaming_sparse_precision_at_k(
          scores, labels, 3, class_id=class_id, weights=weights),
      {'scores': SCORES, 'labels': labels, 'weights': WEIGHTS}, np_precision)


BOOL_PRED = RNG.rand(N) > 0.5
BOOL_TRUE = RNG.rand(N) > 0.4


def test_precision_and_recall():
  def np_pr(p, t, w, recall):
    tp = (w * (p & t)).sum()
    other = (w * ((~p & t) if recall else (p & ~t))).sum()
    return 0.0 if tp + other == 0 else tp / (tp + other)

  _check_streaming(
      lambda p, t, w: metrics.streaming_precision(p, t, w),
      {'p': BOOL_PRED.astype(np.int64), 't': BOOL_TRUE, 'w': WEIGHTS},
      lambda p, t, w: np_pr(p.astype(bool), t, w, recall=False))
  _check_streaming(
      lambda p, t, w: metrics.streaming_recall(p, t, w),
      {'p': BOOL_PRED, 't': BOOL_TRUE.astype(np.float32), 'w': WEIGHTS},
      lambda p, t, w: np_pr(p, t.astype(bool), w, recall=True))


def _np_auc(p, t, w=None, num_thresholds=200, curve='ROC'):
  """tf.metrics.auc's definition: trapezoids over thresholded counts."""
  w = np.ones_like(p, np.float64) if w is None else w.astype(np.float64)
  t = t.astype(bool)
  thresholds = np.concatenate([
      [-1e-7], np.arange(1, num_thresholds - 1) / (num_thresholds - 1.0),
      [1 + 1e-7]])
  pos = p[None, :] > thresholds[:, None]
  tp = ((pos & t) * w).sum(1)
  fp = ((pos & ~t) * w).sum(1)
  fn = ((~pos & t) * w).sum(1)
  tn = ((~pos & ~t) * w).sum(1)
  eps = 1e-6
  rec = (tp + eps) / (tp + fn + eps)
  if curve == 'ROC':
    x, y = fp / (fp + tn + eps), rec
  else:
    x, y = rec, (tp + eps) / (tp + fp + eps)
  return np.sum((x[:-1] - x[1:]) * (y[:-1] + y[1:]) / 2)


@pytest.mark.parametrize('curve', ['ROC', 'PR'])
def test_auc(curve):
  scores = np.clip(0.3 * BOOL_TRUE + 0.7 * RNG.rand(N), 0, 1).astype(
      np.float32)
  _check_streaming(
      lambda p, t, w: metrics.streaming_auc(p, t, w, curve=curve),
      {'p': scores, 't': BOOL_TRUE, 'w': WEIGHTS},
      lambda p, t, w: _np_auc(p, t, w, curve=curve), rtol=1e-4, atol=1e-5)


def test_auc_roc_close_to_exact_rank_auc():
  n = 400
  labels = RNG.rand(n) > 0.5
  scores = np.clip(0.25 * labels + 0.75 * RNG.rand(n), 0, 1)
  pos, neg = scores[labels], scores[~labels]
  exact = np.mean(pos[:, None] > neg[None, :])  # Mann-Whitney U / (n+ n-).
  with tf.Graph().as_default():
    value, update = metrics.streaming_auc(tf.constant(scores, tf.float32),
                                          tf.constant(labels),
                                          num_thresholds=1000)
    with tf1.Session() as sess:
      sess.run(tf1.local_variables_initializer())
      sess.run(update)
      got = sess.run(value)
  assert abs(got - exact) < 0.01


def test_mean_iou():
  num_classes = 4
  labels = RNG.randint(0, 3, (N, 2))  # Class 3 never appears in labels...
  predictions = np.where(RNG.rand(N, 2) > 0.6, labels,
                         RNG.randint(0, 3, (N, 2)))

  def np_iou(p, t, w):
    cm = np.zeros((num_classes, num_classes))
    np.add.at(cm, (t.ravel(), p.ravel()),
              np.broadcast_to(w[:, None], t.shape).ravel())
    inter = np.diag(cm)
    union = cm.sum(0) + cm.sum(1) - inter
    valid = union > 0  # ... nor in predictions: it is left out of the mean.
    return np.mean(inter[valid] / union[valid])

  _check_streaming(
      lambda p, t, w: metrics.streaming_mean_iou(p, t, num_classes, w),
      {'p': predictions, 't': labels, 'w': WEIGHTS}, np_iou)


# ------------------------------------------------------------------ concat

@pytest.mark.parametrize('axis', [0, 1, -1])
def test_concat(axis):
  values = np.arange(N * 6, dtype=np.float32).reshape(N, 2, 3)
  values = np.moveaxis(values, 0, axis)  # Stream along `axis`.
  shape = list(values.shape)
  shape[axis] = None
  with tf.Graph().as_default():
    v = tf1.placeholder(tf.float32, shape)
    value, update = metrics.streaming_concat(v, axis=axis)
    with tf1.Session() as sess:
      sess.run(tf1.local_variables_initializer())
      assert sess.run(value).shape[axis] == 0
      start = 0
      for size in SIZES:
        batch = np.take(values, np.arange(start, start + size), axis=axis)
        start += size
        assert sess.run(update, {v: batch}) == start  # Rows stored so far.
        np.testing.assert_array_equal(
            sess.run(value), np.take(values, np.arange(start), axis=axis))
      sess.run(tf1.local_variables_initializer())
      assert sess.run(value).shape[axis] == 0


def test_concat_max_size():
  values = np.arange(N, dtype=np.int32)
  with tf.Graph().as_default():
    v = tf1.placeholder(tf.int32, [None])
    value, update = metrics.streaming_concat(v, max_size=6)
    with tf1.Session() as sess:
      sess.run(tf1.local_variables_initializer())
      for batch in _split(values):
        sess.run(update, {v: batch})
      np.testing.assert_array_equal(sess.run(value), values[:6])
    with pytest.raises(ValueError, match='axis'):
      metrics.streaming_concat(v, axis=1)
    with pytest.raises(ValueError, match='static size'):
      metrics.streaming_concat(tf1.placeholder(tf.float32, [None, None]))


# -------------------------------------------------- variables, collections

def test_accumulators_are_local_metric_variables():
  with tf.Graph().as_default():
    preds = tf.constant([1, 2, 3])
    metrics.streaming_accuracy(preds, preds)
    metrics.streaming_accuracy(preds, preds)
    metrics.streaming_mean(tf.constant([1.0]), name='my_mean')
    local = [v.op.name for v in tf1.local_variables()]
    assert local == ['accuracy/total', 'accuracy/count',
                     'accuracy_1/total', 'accuracy_1/count',
                     'my_mean/total', 'my_mean/count']
    assert tf1.get_collection(tf1.GraphKeys.METRIC_VARIABLES) == \
        tf1.local_variables()
    assert tf1.global_variables() == []
    assert tf1.trainable_variables() == []


def test_works_inside_reuse_scope_and_collections():
  with tf.Graph().as_default():
    with tf1.variable_scope('eval', reuse=True):
      value, update = metrics.streaming_mean(
          tf.constant([1.0, 3.0]), metrics_collections=['values'],
          updates_collections=[tf1.GraphKeys.UPDATE_OPS])
    assert [v.op.name for v in tf1.local_variables()] == [
        'eval/mean/total', 'eval/mean/count']
    assert tf1.get_collection('values') == [value]
    assert tf1.get_collection(tf1.GraphKeys.UPDATE_OPS) == [update]
    with tf1.Session() as sess:
      sess.run(tf1.local_variables_initializer())
      assert sess.run(update) == 2.0
      assert sess.run(value) == 2.0


def test_user_errors_name_the_argument():
  with tf.Graph().as_default():
    p = tf.constant([0.5, 0.2])
    with pytest.raises(ValueError, match='curve'):
      metrics.streaming_auc(p, p, curve='XY')
    with pytest.raises(ValueError, match='num_classes'):
      metrics.streaming_mean_iou(p, p, num_classes=0)
    with pytest.raises(ValueError, match='`k`'):
      metrics.streaming_recall_at_k(tf.ones([2, 3]), [0, 1], k=0)
    with pytest.raises(ValueError, match=r'predictions.*labels'):
      metrics.streaming_accuracy(p, tf.constant([1.0, 2.0, 3.0]))
    with pytest.raises(ValueError, match='at least one'):
      metrics.aggregate_metrics()


# ----------------------------------------------------------- aggregation

def test_aggregate_metrics_and_metric_map_readme():
  predictions = PRED[:5]
  labels = TRUE[:5]
  with tf.Graph().as_default():
    p, t = tf.constant(predictions), tf.constant(labels)
    value_ops, update_ops = metrics.aggregate_metrics(
        metrics.streaming_mean_absolute_error(p, t),
        metrics.streaming_mean_squared_error(p, t))
    assert len(value_ops) == len(update_ops) == 2
    names_to_values, names_to_updates = metrics.aggregate_metric_map({
        'eval/mean_absolute_error':
            metrics.streaming_mean_absolute_error(p, t),
        'eval/mean_squared_error': metrics.streaming_mean_squared_error(p, t),
    })
    assert list(names_to_values) == list(names_to_updates) == [
        'eval/mean_absolute_error', 'eval/mean_squared_error']
    with tf1.Session() as sess:
      sess.run(tf1.local_variables_initializer())
      for _ in range(3):  # Same batch three times: the means do not move.
        sess.run(list(names_to_updates.values()) + update_ops)
      got = dict(zip(names_to_values, sess.run(list(names_to_values.values()))))
      listed = sess.run(value_ops)
  diff = predictions.astype(np.float64) - labels
  expected = [np.abs(diff).mean(), (diff ** 2).mean()]
  np.testing.assert_allclose(
      [got['eval/mean_absolute_error'], got['eval/mean_squared_error']],
      expected, rtol=1e-5)
  np.testing.assert_allclose(listed, expected, rtol=1e-5)
