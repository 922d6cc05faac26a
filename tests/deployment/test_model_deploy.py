"""model_deploy: placement, clones sharing variables, loss and gradient
aggregation, against hand-computed values."""
import numpy as np
import pytest
import tensorflow as tf

import slim
from deployment import model_deploy

tf1 = tf.compat.v1


def test_config_devices_without_gpu():
  config = model_deploy.DeploymentConfig(num_clones=2)
  # No GPU on this machine: clones go to the CPU even without clone_on_cpu
  # (the original pinned them to GPU:0 and failed).
  assert config.clone_device(0) == '/device:CPU:0'
  assert config.clone_scope(0) == 'clone_0'
  assert config.clone_scope(1) == 'clone_1'
  assert model_deploy.DeploymentConfig().clone_scope(0) == ''
  assert config.variables_device() == '/device:CPU:0'
  assert config.optimizer_device() == '/device:CPU:0'
  assert config.inputs_device() == '/device:CPU:0'
  assert config.caching_device() is None
  with pytest.raises(ValueError, match='clone_index'):
    config.clone_device(2)


def test_config_with_parameter_servers():
  config = model_deploy.DeploymentConfig(num_clones=1, num_ps_tasks=2,
                                         clone_on_cpu=True)
  # The worker device names its task (the original's '/job:worker' put
  # every worker's ops on task 0).
  assert config.clone_device(0) == '/job:worker/task:0/device:CPU:0'
  assert config.inputs_device() == '/job:worker/task:0/device:CPU:0'
  other = model_deploy.DeploymentConfig(num_ps_tasks=1, replica_id=1,
                                        num_replicas=2)
  assert other.optimizer_device() == '/job:worker/task:1/device:CPU:0'
  chooser = config.variables_device()
  with tf.Graph().as_default():
    with tf1.device(chooser):
      a = slim.variable('a', [1])
      b = slim.variable('b', [1])
      c = slim.variable('c', [1])
  assert [v.device for v in (a, b, c)] == [
      '/job:ps/task:0/device:CPU:0', '/job:ps/task:1/device:CPU:0',
      '/job:ps/task:0/device:CPU:0']


@pytest.mark.parametrize('kwargs, match', [
    (dict(num_clones=0), 'num_clones'),
    (dict(num_replicas=2), 'num_ps_tasks'),
    (dict(replica_id=1), 'replica_id'),
])
def test_config_errors(kwargs, match):
  with pytest.raises(ValueError, match=match):
    model_deploy.DeploymentConfig(**kwargs)


def _model_fn(inputs, targets):
  """A linear model with an L2-regularized weight and a squared loss."""
  w = slim.model_variable('w', [2, 1],
                          initializer=tf1.constant_initializer([[1.0], [2.0]]),
                          regularizer=slim.l2_regularizer(0.5))
  predictions = tf.matmul(inputs, w)
  slim.losses.mean_squared_error(predictions, targets)
  return predictions


def test_deploy_two_clones_averages_losses_and_sums_gradients():
  x = np.array([[1.0, 0.0], [0.0, 1.0]], np.float32)
  y = np.array([[0.0], [0.0]], np.float32)
  w = np.array([[1.0], [2.0]], np.float32)
  with tf.Graph().as_default():
    config = model_deploy.DeploymentConfig(num_clones=2, clone_on_cpu=True)
    with tf1.device(config.variables_device()):
      global_step = slim.create_global_step()
    optimizer = tf1.train.GradientDescentOptimizer(0.1)
    model = model_deploy.deploy(config, _model_fn, [x, y],
                                optimizer=optimizer)
    assert len(model.clones) == 2
    assert [c.scope for c in model.clones] == ['clone_0/', 'clone_1/']
    assert len(slim.get_model_variables()) == 1  # shared by the clones
    with tf1.Session() as sess:
      sess.run(tf1.global_variables_initializer())
      total_loss = sess.run(model.train_op)
      new_w = sess.run(slim.get_model_variables()[0])
      assert sess.run(global_step) == 1
  mse = np.mean((x @ w - y) ** 2)
  regularization = 0.5 * np.sum(w ** 2) / 2
  # Each clone's loss is scaled by 1/2; regularization is counted once.
  np.testing.assert_allclose(total_loss, mse + regularization, rtol=1e-6)
  # Gradient: sum over clones of d(mse/2)/dw, plus the regularizer's once.
  grad_mse = 2 * x.T @ (x @ w - y) / len(x)
  np.testing.assert_allclose(new_w, w - 0.1 * (grad_mse + 0.5 * w),
                             rtol=1e-6)


def test_deploy_without_optimizer_gives_total_loss_only():
  x = np.ones([2, 2], np.float32)
  y = np.zeros([2, 1], np.float32)
  with tf.Graph().as_default():
    model = model_deploy.deploy(model_deploy.DeploymentConfig(), _model_fn,
                                [x, y])
    assert model.train_op is None
    with tf1.Session() as sess:
      sess.run(tf1.global_variables_initializer())
      np.testing.assert_allclose(sess.run(model.total_loss),
                                 9.0 + 0.5 * 5 / 2, rtol=1e-6)


def test_optimize_clones_without_losses_is_an_error():
  with tf.Graph().as_default():
    clones = model_deploy.create_clones(
        model_deploy.DeploymentConfig(),
        lambda: slim.model_variable('v', [1]))
    with pytest.raises(ValueError, match='no losses'):
      model_deploy.optimize_clones(
          clones, tf1.train.GradientDescentOptimizer(0.1),
          regularization_losses=[])
