"""The TF-Slim README's "Training Models" and "Fine-Tuning" examples.

Source: ../shared/seeds/tf_slim_library_README.md, sections Losses,
Training Loop, Working Example: Training the VGG16 Model, Fine-Tuning
Existing Models. TF1 calls are spelled `tf.compat.v1`. Where the README
trains VGG16 on ImageNet, a tiny model (a linear regression whose updates
numpy recomputes, or a narrow copy of the README's VGG16) trains a few steps
into a temporary directory.
"""
import glob
import os

import numpy as np
import pytest
import tensorflow as tf

import slim
from tests.slim.test_readme_examples import expected_vgg16_variables
from tests.slim.test_readme_examples import vgg16

tf1 = tf.compat.v1

NARROW = (4, 4, 8, 8, 8, 16, 7)  # the README's VGG16 widths, scaled down


def softmax(z):
  z = z - z.max(axis=-1, keepdims=True)
  e = np.exp(z)
  return e / e.sum(axis=-1, keepdims=True)


def np_softmax_cross_entropy(logits, onehot):
  return float(np.mean(-np.sum(onehot * np.log(softmax(logits)), axis=-1)))


def one_hot(ids, depth):
  return np.eye(depth, dtype=np.float32)[ids]


def checkpoint_values(path):
  reader = tf.train.load_checkpoint(path)
  return {name: reader.get_tensor(name)
          for name in reader.get_variable_to_shape_map()}


def checkpoint_steps(logdir):
  return sorted(int(p.rsplit('-', 1)[1].split('.')[0])
                for p in glob.glob(os.path.join(logdir, 'model.ckpt-*.index')))


def read_scalars(logdir, tag):
  """{step: value} of scalar summary `tag` in the event files of `logdir`."""
  values = {}
  for path in glob.glob(os.path.join(logdir, 'events.out.tfevents.*')):
    for event in tf1.train.summary_iterator(path):
      for value in event.summary.value:
        if value.tag == tag:
          values[event.step] = value.simple_value
  return values


# --------------------------------------------------------------------- Losses

def test_classification_loss_with_slim_nets_vgg():
  # README: vgg = tf.contrib.slim.nets.vgg. Imported directly because
  # `slim.nets.vgg` needs `nets.vgg` imported first (see
  # test_readme_examples.test_slim_nets_resolves_vgg_in_a_fresh_interpreter).
  from nets import vgg  # pylint: disable=g-import-not-at-top
  rng = np.random.RandomState(0)
  logits = rng.randn(2, 1000).astype(np.float32)
  onehot = one_hot([3, 998], 1000)
  with tf.Graph().as_default():
    # Load the images and labels.
    images = tf1.placeholder(tf.float32, [2, 224, 224, 3])
    labels = tf1.placeholder(tf.float32, [2, 1000])
    # Create the model. (TF-Slim's vgg16 returns (logits, end_points).)
    predictions, _ = vgg.vgg16(images)
    # Define the loss functions and get the total loss.
    loss = slim.losses.softmax_cross_entropy(predictions, labels)
    assert predictions.shape.as_list() == [2, 1000]
    assert loss.op.name == 'softmax_cross_entropy_loss/value'
    assert slim.losses.get_losses() == [loss]
    # vgg16 outside vgg_arg_scope has no weight decay.
    assert slim.losses.get_regularization_losses() == []
    total = slim.losses.get_total_loss()
    with tf1.Session() as sess:
      # Feeding the logits skips the 138M-parameter forward pass.
      value, total_value = sess.run([loss, total], {predictions: logits,
                                                    labels: onehot})
  expected = np_softmax_cross_entropy(logits, onehot)
  np.testing.assert_allclose(value, expected, rtol=1e-5)
  np.testing.assert_allclose(total_value, expected, rtol=1e-5)


def create_multi_task_model(images, with_pose=False):
  """Scene logits (3 classes), depth (4 values) and optionally pose (2)."""
  with slim.arg_scope([slim.fully_connected], activation_fn=None,
                      weights_regularizer=slim.l2_regularizer(0.01)):
    outputs = [slim.fully_connected(images, 3, scope='scene'),
               slim.fully_connected(images, 4, scope='depth')]
    if with_pose:
      outputs.append(slim.fully_connected(images, 2, scope='pose'))
  return outputs


def _multi_task_data(seed=1):
  rng = np.random.RandomState(seed)
  images = rng.randn(5, 6).astype(np.float32)
  scene_labels = one_hot(rng.randint(0, 3, 5), 3)
  depth_labels = rng.randn(5, 4).astype(np.float32)
  pose_labels = rng.randn(5, 2).astype(np.float32)
  return images, scene_labels, depth_labels, pose_labels


def test_multi_task_total_loss_two_ways():
  images_v, scene_v, depth_v, _ = _multi_task_data()
  with tf.Graph().as_default():
    # Load the images and labels.
    images, scene_labels, depth_labels = (
        tf.constant(images_v), tf.constant(scene_v), tf.constant(depth_v))
    # Create the model.
    scene_predictions, depth_predictions = create_multi_task_model(images)
    # Define the loss functions and get the total loss.
    classification_loss = slim.losses.softmax_cross_entropy(
        scene_predictions, scene_labels)
    sum_of_squares_loss = slim.losses.sum_of_squares(depth_predictions,
                                                     depth_labels)
    # The following two lines have the same effect:
    total_loss = classification_loss + sum_of_squares_loss
    total_loss2 = slim.losses.get_total_loss(add_regularization_losses=False)

    assert slim.losses.get_losses() == [classification_loss,
                                        sum_of_squares_loss]
    assert len(slim.losses.get_regularization_losses()) == 2
    with_reg = slim.losses.get_total_loss()
    with tf1.Session() as sess:
      sess.run(tf1.global_variables_initializer())
      (scene_p, depth_p, weights, total, total2, with_reg) = sess.run([
          scene_predictions, depth_predictions,
          slim.get_variables_by_name('weights'), total_loss, total_loss2,
          with_reg])
  expected = (np_softmax_cross_entropy(scene_p, scene_v)
              + float(np.mean((depth_p - depth_v) ** 2)))
  np.testing.assert_allclose(total, expected, rtol=1e-5)
  np.testing.assert_allclose(total2, expected, rtol=1e-5)
  reg = sum(0.01 * np.sum(w ** 2) / 2 for w in weights)
  assert reg > 1e-3
  np.testing.assert_allclose(with_reg, expected + reg, rtol=1e-5)


def test_custom_loss_with_add_loss_and_regularization():
  images_v, scene_v, depth_v, pose_v = _multi_task_data(2)

  def my_custom_loss_function(predictions, labels):
    return tf.reduce_mean(tf.abs(predictions - labels))

  with tf.Graph().as_default():
    # Load the images and labels.
    images, scene_labels, depth_labels, pose_labels = map(
        tf.constant, (images_v, scene_v, depth_v, pose_v))
    # Create the model.
    scene_predictions, depth_predictions, pose_predictions = (
        create_multi_task_model(images, with_pose=True))
    # Define the loss functions and get the total loss.
    classification_loss = slim.losses.softmax_cross_entropy(
        scene_predictions, scene_labels)
    sum_of_squares_loss = slim.losses.sum_of_squares(depth_predictions,
                                                     depth_labels)
    pose_loss = my_custom_loss_function(pose_predictions, pose_labels)
    # Letting TF-Slim know about the additional loss.
    slim.losses.add_loss(pose_loss)
    # The following two ways to compute the total loss are equivalent:
    regularization_loss = tf.add_n(
        slim.losses.get_regularization_losses())
    total_loss1 = (classification_loss + sum_of_squares_loss + pose_loss
                   + regularization_loss)
    # (Regularization Loss is included in the total loss by default).
    total_loss2 = slim.losses.get_total_loss()

    assert slim.losses.get_losses() == [classification_loss,
                                        sum_of_squares_loss, pose_loss]
    assert len(slim.losses.get_regularization_losses()) == 3
    assert total_loss2.op.name == 'total_loss'
    with tf1.Session() as sess:
      sess.run(tf1.global_variables_initializer())
      outputs = sess.run([scene_predictions, depth_predictions,
                          pose_predictions,
                          slim.get_variables_by_name('weights'),
                          total_loss1, total_loss2])
  scene_p, depth_p, pose_p, weights, total1, total2 = outputs
  expected = (np_softmax_cross_entropy(scene_p, scene_v)
              + float(np.mean((depth_p - depth_v) ** 2))
              + float(np.mean(np.abs(pose_p - pose_v)))
              + sum(0.01 * np.sum(w ** 2) / 2 for w in weights))
  np.testing.assert_allclose(total1, expected, rtol=1e-5)
  np.testing.assert_allclose(total2, expected, rtol=1e-5)


# -------------------------------------------------------------- Training Loop

RNG = np.random.RandomState(3)
X = RNG.randn(8, 3).astype(np.float32)
Y = X @ np.array([[1.0], [-2.0], [0.5]], np.float32) + 0.25
W0 = np.array([[0.3], [0.1], [-0.2]], np.float32)
LEARNING_RATE = 0.1


def np_train(steps):
  """Plain gradient descent on mean((x w + b - y)^2) from (W0, 0).

  Returns:
    (w, b, losses): the parameters after `steps` updates and the loss of
    each step, computed before its update.
  """
  w, b = W0.astype(np.float64), 0.0
  losses = []
  for _ in range(steps):
    residual = X @ w + b - Y
    losses.append(float(np.mean(residual ** 2)))
    w = w - LEARNING_RATE * 2.0 / len(X) * X.T @ residual
    b = b - LEARNING_RATE * 2.0 * float(np.mean(residual))
  return w, b, losses


def build_regression():
  predictions = slim.fully_connected(
      tf.constant(X), 1, activation_fn=None,
      weights_initializer=tf1.constant_initializer(W0), scope='linear')
  slim.losses.sum_of_squares(predictions, tf.constant(Y))


def test_create_train_op_and_train_then_resume(tmp_path):
  logdir = str(tmp_path / 'train')
  init_fn_calls = []

  def train(number_of_steps):
    g = tf.Graph()
    with g.as_default():
      # Create the model and specify the losses...
      build_regression()
      total_loss = slim.losses.get_total_loss()
      optimizer = tf1.train.GradientDescentOptimizer(LEARNING_RATE)
      # create_train_op ensures that each time we ask for the loss, the
      # update_ops are run and the gradients being computed are applied too.
      train_op = slim.learning.create_train_op(total_loss, optimizer)
      return slim.learning.train(
          train_op,
          logdir,
          number_of_steps=number_of_steps,
          save_summaries_secs=300,
          save_interval_secs=600,
          init_fn=init_fn_calls.append)

  final_loss = train(3)
  w, b, losses = np_train(3)
  assert len(init_fn_calls) == 1  # fresh start
  np.testing.assert_allclose(final_loss, losses[-1], rtol=1e-5)
  # save_interval_secs=600 is never reached: one checkpoint, at the end.
  assert checkpoint_steps(logdir) == [3]
  values = checkpoint_values(tf1.train.latest_checkpoint(logdir))
  assert sorted(values) == ['global_step', 'linear/biases', 'linear/weights']
  assert values['global_step'] == 3
  np.testing.assert_allclose(values['linear/weights'], w, rtol=1e-5)
  np.testing.assert_allclose(values['linear/biases'], [b], rtol=1e-5)
  assert glob.glob(os.path.join(logdir, 'events.out.tfevents.*'))

  # Resuming: the checkpoint is restored (init_fn is not called again) and
  # training goes on to global step 5.
  final_loss = train(5)
  w, b, losses = np_train(5)
  assert len(init_fn_calls) == 1
  np.testing.assert_allclose(final_loss, losses[-1], rtol=1e-5)
  assert checkpoint_steps(logdir) == [3, 5]
  values = checkpoint_values(tf1.train.latest_checkpoint(logdir))
  assert values['global_step'] == 5
  np.testing.assert_allclose(values['linear/weights'], w, rtol=1e-5)
  np.testing.assert_allclose(values['linear/biases'], [b], rtol=1e-5)

  # Already at number_of_steps: nothing more is trained.
  assert train(5) is None
  assert checkpoint_steps(logdir) == [3, 5]


def test_total_loss_summary_matches_numpy(tmp_path):
  logdir = str(tmp_path / 'train')
  with tf.Graph().as_default():
    build_regression()
    total_loss = slim.losses.get_total_loss()
    tf1.summary.scalar('losses/total_loss', total_loss)
    train_op = slim.learning.create_train_op(
        total_loss, tf1.train.GradientDescentOptimizer(LEARNING_RATE))
    slim.learning.train(train_op, logdir, number_of_steps=4,
                        save_summaries_secs=1e-9)
  scalars = read_scalars(logdir, 'losses/total_loss')
  assert scalars
  for step, value in scalars.items():
    # A summary at global step s sees the parameters after s updates.
    expected = np_train(step + 1)[2][-1]
    np.testing.assert_allclose(value, expected, rtol=1e-5)


def _narrow_vgg_batch(num_classes, seed=0):
  rng = np.random.RandomState(seed)
  images = rng.rand(2, 32, 32, 3).astype(np.float32)
  labels = one_hot(rng.randint(0, num_classes, 2), num_classes)
  return tf.constant(images), tf.constant(labels)


def test_working_example_training_vgg16(tmp_path):
  train_log_dir = str(tmp_path / 'vgg_train')
  if not tf.io.gfile.exists(train_log_dir):
    tf.io.gfile.makedirs(train_log_dir)
  with tf.Graph().as_default():
    # Set up the data loading:
    images, labels = _narrow_vgg_batch(NARROW[-1])
    # Define the model: the README's VGG16, narrow (32 x 32 inputs).
    predictions = tf.squeeze(vgg16(images, NARROW), [1, 2])
    # Specify the loss function:
    slim.losses.softmax_cross_entropy(predictions, labels)
    total_loss = slim.losses.get_total_loss()
    tf1.summary.scalar('losses/total_loss', total_loss)
    # Specify the optimization scheme:
    optimizer = tf1.train.GradientDescentOptimizer(learning_rate=.001)
    # create_train_op that ensures that when we evaluate it to get the loss,
    # the update_ops are done and the gradient updates are computed.
    train_tensor = slim.learning.create_train_op(total_loss, optimizer)
    # Actually runs training (for 2 steps rather than forever).
    final_loss = slim.learning.train(train_tensor, train_log_dir,
                                     number_of_steps=2)
  assert np.isfinite(final_loss) and final_loss > 0
  values = checkpoint_values(tf1.train.latest_checkpoint(train_log_dir))
  assert values.pop('global_step') == 2
  expected = dict(expected_vgg16_variables(3, NARROW))
  assert {k: list(v.shape) for k, v in values.items()} == expected
  assert read_scalars(train_log_dir, 'losses/total_loss')


# ---------------------------------------------------------------- Fine-Tuning

def _save_v1_v2(path):
  with tf.Graph().as_default():
    # Create some variables.
    v1 = tf1.Variable([1.0, 2.0], name='v1')
    v2 = tf1.Variable([[3.0], [4.0]], name='nested/v2')
    saver = tf1.train.Saver()
    with tf1.Session() as sess:
      sess.run(tf1.global_variables_initializer())
      return saver.save(sess, path), sess.run([v1, v2])


def test_saver_restores_all_or_some_variables(tmp_path):
  model_path, (v1_saved, v2_saved) = _save_v1_v2(str(tmp_path / 'model.ckpt'))
  with tf.Graph().as_default():
    v1 = tf1.Variable(tf.zeros([2]), name='v1')
    v2 = tf1.Variable(tf.zeros([2, 1]), name='nested/v2')
    # Add ops to restore all the variables.
    restorer = tf1.train.Saver()
    with tf1.Session() as sess:
      # Restore variables from disk.
      restorer.restore(sess, model_path)
      np.testing.assert_array_equal(sess.run(v1), v1_saved)
      np.testing.assert_array_equal(sess.run(v2), v2_saved)
    # Add ops to restore some variables.
    restorer = tf1.train.Saver([v1])
    with tf1.Session() as sess:
      sess.run(tf1.global_variables_initializer())
      restorer.restore(sess, model_path)
      np.testing.assert_array_equal(sess.run(v1), v1_saved)
      np.testing.assert_array_equal(sess.run(v2), np.zeros([2, 1]))


def test_partial_restore_five_equivalent_selections(tmp_path):
  model_path, (_, v2_saved) = _save_v1_v2(str(tmp_path / 'model.ckpt'))
  with tf.Graph().as_default():
    # Create some variables.
    v1 = slim.variable(name='v1', shape=[2],
                       initializer=tf1.constant_initializer(-1.0))
    v2 = slim.variable(name='nested/v2', shape=[2, 1],
                       initializer=tf1.constant_initializer(-1.0))
    assert (v1.op.name, v2.op.name) == ('v1', 'nested/v2')
    # Get list of variables to restore (which contains only 'v2'). These are
    # all equivalent methods:
    selections = [
        slim.get_variables_by_name('v2'),
        slim.get_variables_by_suffix('2'),
        slim.get_variables(scope='nested'),
        slim.get_variables_to_restore(include=['nested']),
        slim.get_variables_to_restore(exclude=['v1']),
    ]
    for variables_to_restore in selections:
      assert variables_to_restore == [v2]
    # Create the saver which will be used to restore the variables.
    restorer = tf1.train.Saver(variables_to_restore)
    with tf1.Session() as sess:
      sess.run(tf1.global_variables_initializer())
      # Restore variables from disk.
      restorer.restore(sess, model_path)
      v1_value, v2_value = sess.run([v1, v2])
  np.testing.assert_array_equal(v2_value, v2_saved)
  np.testing.assert_array_equal(v1_value, [-1.0, -1.0])  # not restored


def _save_conv1(path, scope, weights_name='weights', biases_name='biases'):
  """Saves a 3x3x2x4 conv1 under `scope`; returns (path, weights, biases)."""
  rng = np.random.RandomState(7)
  weights = rng.randn(3, 3, 2, 4).astype(np.float32)
  biases = rng.randn(4).astype(np.float32)
  with tf.Graph().as_default():
    with tf1.variable_scope(scope or ''):
      slim.model_variable(weights_name, initializer=weights)
      slim.model_variable(biases_name, initializer=biases)
    saver = tf1.train.Saver()
    with tf1.Session() as sess:
      sess.run(tf1.global_variables_initializer())
      return saver.save(sess, path), weights, biases


def _restore_conv1(model_path, name_in_checkpoint, use_slim):
  """Builds conv1 at the top level; restores it through a name map."""
  with tf.Graph().as_default():
    slim.conv2d(tf.zeros([1, 5, 5, 2]), 4, [3, 3], scope='conv1')
    variables_to_restore = slim.get_model_variables()
    variables_to_restore = {name_in_checkpoint(var): var
                            for var in variables_to_restore}
    if use_slim:
      init_fn = slim.assign_from_checkpoint_fn(model_path,
                                               variables_to_restore)
    else:
      restorer = tf1.train.Saver(variables_to_restore)
      init_fn = lambda sess: restorer.restore(sess, model_path)
    with tf1.Session() as sess:
      # Restore variables from disk.
      init_fn(sess)
      return sess.run(slim.get_model_variables())


@pytest.mark.parametrize('use_slim', [False, True])
def test_restore_with_checkpoint_name_prefix(tmp_path, use_slim):
  model_path, weights, biases = _save_conv1(str(tmp_path / 'model.ckpt'),
                                            'vgg16/conv1')

  # Assuming that 'conv1/weights' should be restored from
  # 'vgg16/conv1/weights'
  def name_in_checkpoint(var):
    return 'vgg16/' + var.op.name

  restored = _restore_conv1(model_path, name_in_checkpoint, use_slim)
  np.testing.assert_array_equal(restored[0], weights)
  np.testing.assert_array_equal(restored[1], biases)


@pytest.mark.parametrize('use_slim', [False, True])
def test_restore_with_renamed_parameters(tmp_path, use_slim):
  model_path, weights, biases = _save_conv1(
      str(tmp_path / 'model.ckpt'), 'conv1', 'params1', 'params2')

  # Assuming that 'conv1/weights' and 'conv1/bias' should be restored from
  # 'conv1/params1' and 'conv1/params2'
  def name_in_checkpoint_as_written(var):
    if 'weights' in var.op.name:
      return var.op.name.replace('weights', 'params1')
    if 'bias' in var.op.name:
      return var.op.name.replace('bias', 'params2')

  # As written, the README's function maps 'conv1/biases' to
  # 'conv1/params2es', which the checkpoint does not hold.
  with pytest.raises((ValueError, tf.errors.NotFoundError),
                     match='params2es'):
    _restore_conv1(model_path, name_in_checkpoint_as_written, use_slim)

  def name_in_checkpoint(var):
    if 'weights' in var.op.name:
      return var.op.name.replace('weights', 'params1')
    if 'biases' in var.op.name:
      return var.op.name.replace('biases', 'params2')

  restored = _restore_conv1(model_path, name_in_checkpoint, use_slim)
  np.testing.assert_array_equal(restored[0], weights)
  np.testing.assert_array_equal(restored[1], biases)


def _pretrain_narrow_vgg(logdir):
  """'Pre-trained on ImageNet': 2 steps of the narrow VGG16, 7 classes."""
  with tf.Graph().as_default():
    images, labels = _narrow_vgg_batch(NARROW[-1], seed=1)
    predictions = tf.squeeze(vgg16(images, NARROW), [1, 2])
    slim.losses.softmax_cross_entropy(predictions, labels)
    train_op = slim.learning.create_train_op(
        slim.losses.get_total_loss(),
        tf1.train.GradientDescentOptimizer(0.01))
    slim.learning.train(train_op, logdir, number_of_steps=2)
  return tf1.train.latest_checkpoint(logdir)


def test_fine_tune_on_a_different_task(tmp_path):
  model_path = _pretrain_narrow_vgg(str(tmp_path / 'imagenet'))
  pretrained = checkpoint_values(model_path)
  log_dir = str(tmp_path / 'my_pascal_model_dir')
  pascal_depths = NARROW[:-1] + (3,)  # 3 classes instead of 7

  def build():
    # Load the Pascal VOC data
    images, labels = _narrow_vgg_batch(3, seed=2)
    # Create the model
    predictions = tf.squeeze(vgg16(images, pascal_depths), [1, 2])
    slim.losses.softmax_cross_entropy(predictions, labels)
    # Only the classifier layers train, so the restored layers keep their
    # values in the fine-tuned checkpoint.
    train_op = slim.learning.create_train_op(
        slim.losses.get_total_loss(),
        tf1.train.GradientDescentOptimizer(0.01),
        variables_to_train=slim.get_variables('fc8'))
    # Restore only the convolutional layers:
    variables_to_restore = slim.get_variables_to_restore(
        exclude=['fc6', 'fc7', 'fc8'])
    return train_op, variables_to_restore

  with tf.Graph().as_default():
    train_op, variables_to_restore = build()
    restored_names = sorted(v.op.name for v in variables_to_restore)
    assert restored_names == sorted(
        [n for n, _ in expected_vgg16_variables(3, pascal_depths)
         if n.startswith('conv')] + ['global_step'])
    init_fn = slim.assign_from_checkpoint_fn(model_path, variables_to_restore)
    with tf1.Session() as sess:
      sess.run(tf1.global_variables_initializer())
      init_fn(sess)
      values = {v.op.name: sess.run(v) for v in tf1.global_variables()}
  for name in restored_names:
    np.testing.assert_array_equal(values[name], pretrained[name])
  # fc6 and fc7 have the pre-trained shapes but were not restored.
  assert values['fc7/weights'].shape == pretrained['fc7/weights'].shape
  assert not np.array_equal(values['fc7/weights'], pretrained['fc7/weights'])
  assert values['fc8/weights'].shape == (16, 3)

  # Restoring fc8 too fails with a message naming it.
  with tf.Graph().as_default():
    build()
    with pytest.raises(ValueError, match='fc8/weights'):
      slim.assign_from_checkpoint_fn(model_path,
                                     slim.get_variables_to_restore())

  # Start training.
  with tf.Graph().as_default():
    train_op, variables_to_restore = build()
    init_fn = slim.assign_from_checkpoint_fn(model_path, variables_to_restore)
    # The pre-trained global step (2) is restored too: one more step.
    slim.learning.train(train_op, log_dir, init_fn=init_fn, number_of_steps=3)
  fine_tuned = checkpoint_values(tf1.train.latest_checkpoint(log_dir))
  assert fine_tuned['global_step'] == 3
  for name in restored_names:
    if name != 'global_step':
      np.testing.assert_array_equal(fine_tuned[name], pretrained[name])
  assert fine_tuned['fc8/weights'].shape == (16, 3)
