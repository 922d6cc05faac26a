"""slim.summaries, plus slim.queues and slim.prefetch_queue.

Summary values are decoded from the serialized protos and compared with
numpy on the same inputs.
"""
import numpy as np
import pytest
import tensorflow as tf

import slim
from slim import prefetch_queue as prefetch_queue_lib
from slim import queues
from slim import summaries

tf1 = tf.compat.v1

RNG = np.random.RandomState(2)
ACT = np.maximum(RNG.randn(2, 3, 3, 4), 0).astype(np.float32)  # ReLU-like


def decode(serialized):
  """Returns {tag: Summary.Value} of a serialized Summary (or list of them)."""
  if isinstance(serialized, (bytes, str)):
    serialized = [serialized]
  out = {}
  for s in serialized:
    out.update({v.tag: v for v in tf1.Summary.FromString(s).value})
  return out


def test_names_prefixes_and_collection():
  with tf.Graph().as_default():
    x = tf.constant(ACT, name='conv1')
    scalar = tf.reduce_mean(x, name='mean_act')
    ops = [summaries.add_histogram_summary(x),
           summaries.add_histogram_summary(x, name='h', prefix='pre'),
           summaries.add_scalar_summary(scalar),
           summaries.add_scalar_summary(scalar, name='s', prefix='pre'),
           summaries.add_zero_fraction_summary(x),
           summaries.add_zero_fraction_summary(x, prefix='pre'),
           summaries.add_image_summary(x[..., :3], name='img')]
    assert set(ops) <= set(tf1.get_collection(tf1.GraphKeys.SUMMARIES))
    with tf1.Session() as sess:
      values = decode(sess.run(ops))
  assert set(values) == {
      'conv1', 'pre/h', 'mean_act', 'pre/s',
      'conv1/Fraction_of_Zero_Values', 'pre/conv1/Fraction_of_Zero_Values',
      'img/image/0', 'img/image/1'}  # a batch of 2: two images
  np.testing.assert_allclose(values['mean_act'].simple_value, ACT.mean(),
                             rtol=1e-6)
  np.testing.assert_allclose(
      values['conv1/Fraction_of_Zero_Values'].simple_value,
      np.mean(ACT == 0), rtol=1e-6)
  histo = values['conv1'].histo
  assert histo.num == ACT.size
  np.testing.assert_allclose([histo.min, histo.max, histo.sum],
                             [ACT.min(), ACT.max(), ACT.sum()], rtol=1e-5)
  assert values['img/image/0'].image.height == 3


def test_plural_forms_and_print_summary(capfd):
  with tf.Graph().as_default():
    a = tf.constant(1.5, name='a')
    b = tf.constant(-2.0, name='b')
    scalars = summaries.add_scalar_summaries([a, b], prefix='p',
                                             print_summary=True)
    hists = summaries.add_histogram_summaries([a, b])
    zeros = summaries.add_zero_fraction_summaries([tf.zeros([4])])
    collected = tf1.get_collection(tf1.GraphKeys.SUMMARIES)
    assert all(s in collected for s in scalars + hists + zeros)
    with tf1.Session() as sess:
      values = decode(sess.run(tf1.summary.merge_all()))
  assert values['p/a'].simple_value == 1.5
  assert values['p/b'].simple_value == -2.0
  assert values['zeros/Fraction_of_Zero_Values'].simple_value == 1.0
  assert {'a', 'b'} <= set(values)
  assert 'p/a 1.5' in capfd.readouterr().err


def test_image_summary_rejects_non_4d():
  with tf.Graph().as_default():
    with pytest.raises(ValueError, match='4-D'):
      summaries.add_image_summary(tf.zeros([3, 3, 3]))


def test_training_script_summaries():
  with tf.Graph().as_default():
    w = slim.variables.model_variable('conv1/weights', shape=[2, 2],
                                      initializer=tf1.ones_initializer())
    end_points = {'Conv2d_1a': tf.constant(ACT), 'Logits': tf.ones([2, 5])}
    loss = tf.reduce_sum(w, name='softmax_loss')
    tf1.add_to_collection(tf1.GraphKeys.LOSSES, loss)
    ops = (summaries.add_end_point_summaries(end_points)
           + summaries.add_loss_summaries()
           + summaries.add_model_variable_summaries()
           + [summaries.add_learning_rate_summary(tf.constant(0.01))])
    with tf1.Session() as sess:
      sess.run(tf1.global_variables_initializer())
      values = decode(sess.run(ops))
    with pytest.raises(TypeError, match='end_points'):
      summaries.add_end_point_summaries([tf.ones([1])])
  assert set(values) == {
      'activations/Conv2d_1a', 'sparsity/Conv2d_1a', 'activations/Logits',
      'sparsity/Logits', 'losses/softmax_loss', 'conv1/weights',
      'learning_rate'}
  np.testing.assert_allclose(values['sparsity/Conv2d_1a'].simple_value,
                             np.mean(ACT == 0), rtol=1e-6)
  assert values['losses/softmax_loss'].simple_value == 4.0
  np.testing.assert_allclose(values['learning_rate'].simple_value, 0.01)


def test_flat_namespace_exposes_summaries():
  assert slim.add_histogram_summary is summaries.add_histogram_summary
  assert slim.add_zero_fraction_summary is summaries.add_zero_fraction_summary


# ----------------------------------------------------- queues, prefetch_queue
def test_prefetch_queue_over_tf_data_then_out_of_range():
  data = np.arange(12, dtype=np.float32).reshape(6, 2)
  with tf.Graph().as_default():
    # batch() without drop_remainder: the batch dimension is unknown.
    batch = tf1.data.make_one_shot_iterator(
        tf.data.Dataset.from_tensor_slices(data).batch(2)).get_next()
    queue = prefetch_queue_lib.prefetch_queue({'x': batch}, capacity=2)
    dequeued = queue.dequeue()['x']
    assert dequeued.shape.as_list() == [None, 2]
    assert 'prefetch_queue/fraction_of_2_full' in [
        s.op.name for s in tf1.get_collection(tf1.GraphKeys.SUMMARIES)]
    with tf1.Session() as sess:
      with queues.QueueRunners(sess):
        got = [sess.run(dequeued) for _ in range(3)]
        with pytest.raises(tf.errors.OutOfRangeError):
          sess.run(dequeued)
  np.testing.assert_array_equal(np.concatenate(got), data)


def test_prefetch_queue_gives_each_dequeue_its_own_element():
  with tf.Graph().as_default():
    counter = slim.variables.local_variable(tf.constant(0, tf.int64),
                                            name='counter')
    value = tf1.assign_add(counter, 1)
    queue = prefetch_queue_lib.prefetch_queue([value, tf.constant([1.0, 2.0])])
    (a, a_const), (b, _) = queue.dequeue(), queue.dequeue()
    assert a_const.shape.as_list() == [2]
    with tf1.Session() as sess:
      sess.run(tf1.local_variables_initializer())
      with queues.QueueRunners(sess):
        first, second = sess.run([a, b])
  # Two dequeues in one run get two different enqueued elements.
  assert first != second


def test_prefetch_queue_argument_errors():
  with tf.Graph().as_default():
    with pytest.raises(TypeError, match='tensors'):
      prefetch_queue_lib.prefetch_queue(tf.ones([2]))
    with pytest.raises(ValueError, match='empty'):
      prefetch_queue_lib.prefetch_queue([])
    with pytest.raises(ValueError, match='capacity'):
      prefetch_queue_lib.prefetch_queue([tf.ones([2])], capacity=0)


def test_queue_runners_without_runners_and_nesting():
  with tf.Graph().as_default():
    x = tf.constant(3.0)
    with tf1.Session() as sess:
      with queues.QueueRunners(sess):
        assert sess.run(x) == 3.0
        with pytest.raises(queues.NestedQueueRunnerError):
          with queues.QueueRunners(sess):
            pass
      with queues.QueueRunners(sess):  # the lock was released
        pass
