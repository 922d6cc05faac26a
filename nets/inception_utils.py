"""What the Inception family shares: its arg_scope and the stage helpers.

`inception_arg_scope` is the original's, argument for argument. The helpers
below replace the idioms the original repeated inline in every base network:

* `build_stages` runs a network written as a table of `(end point, layer)`
  stages, records every end point and stops at `final_endpoint` (the
  original's three-line `end_points[...] = net; if ...: return` copied 28
  times per network).
* `conv`, `max_pool`, `avg_pool` make stages out of slim layers.
* `depth_fn` and `trunc_normal` come from `nets.zoo`.
* `GOOGLENET_WIDTHS` is the GoogLeNet module table, shared with S3D-G.
* `whole_map_avg_pool`, `flat_logits` and `flat_aux_logits` are the final
  pool, the classifier and the auxiliary classifier of Inception-v4 and
  Inception-ResNet-v2.
* `batch_norm_params` is the batch-norm part of the family's arg_scopes.
* `reduced_kernel_size_for_small_input` shrinks a pooling kernel to fit the
  feature map (the original's `_reduced_kernel_size_for_small_input`; it
  lives in `classifier_heads` with the heads that use it).
"""
import tensorflow as tf

import slim
from nets import zoo
from nets.classifier_heads import reduced_kernel_size_for_small_input
from nets.zoo import depth_fn, trunc_normal  # Re-exported for the family.

tf1 = tf.compat.v1

__all__ = ['inception_arg_scope', 'trunc_normal', 'depth_fn', 'build_stages',
           'conv', 'max_pool', 'avg_pool',
           'reduced_kernel_size_for_small_input', 'whole_map_avg_pool',
           'flat_logits', 'flat_aux_logits', 'batch_norm_params',
           'GOOGLENET_WIDTHS']

# The six branch widths of each GoogLeNet (Inception v1) module: Branch_0
# 1x1, Branch_1 1x1 and 3x3, Branch_2 1x1 and 3x3, Branch_3 1x1 after the
# pool. Inception v1 builds them in 2-D, I3D and S3D-G in 3-D.
GOOGLENET_WIDTHS = {
    'Mixed_3b': (64, 96, 128, 16, 32, 32),
    'Mixed_3c': (128, 128, 192, 32, 96, 64),
    'Mixed_4b': (192, 96, 208, 16, 48, 64),
    'Mixed_4c': (160, 112, 224, 24, 64, 64),
    'Mixed_4d': (128, 128, 256, 24, 64, 64),
    'Mixed_4e': (112, 144, 288, 32, 64, 64),
    'Mixed_4f': (256, 160, 320, 32, 128, 128),
    'Mixed_5b': (256, 160, 320, 32, 128, 128),
    'Mixed_5c': (384, 192, 384, 48, 128, 128),
}


def build_stages(net, stages, final_endpoint, network):
  """Runs `stages` in order, recording end points, up to `final_endpoint`.

  Args:
    net: the input tensor.
    stages: sequence of `(name, fn)` with `fn(net, scope) -> tensor`. `fn` is
      called with `scope=name`; a stage whose name is None records no end
      point (the original built some layers between end points, such as
      Inception-ResNet-v2's repeated residual blocks).
    final_endpoint: the name of the last stage to build.
    network: the network's name, for the error message.

  Returns:
    (net, end_points): the output of `final_endpoint` and a dict from each
    built stage's name to its output.

  Raises:
    ValueError: if `final_endpoint` names no stage. Checked before anything
      is built.
  """
  zoo.check_final_endpoint(
      final_endpoint, [name for name, _ in stages if name is not None],
      network)
  end_points = zoo.EndPoints(final_endpoint=final_endpoint)
  for name, fn in stages:
    net = fn(net, scope=name)
    if name is not None and end_points.add(name, net):
      break
  return net, end_points


def conv(num_outputs, kernel_size, **kwargs):
  """A stage applying slim.conv2d(net, num_outputs, kernel_size, **kwargs)."""
  return lambda net, scope: slim.conv2d(net, num_outputs, kernel_size,
                                        scope=scope, **kwargs)


def max_pool(kernel_size, **kwargs):
  """A stage applying slim.max_pool2d(net, kernel_size, **kwargs)."""
  return lambda net, scope: slim.max_pool2d(net, kernel_size, scope=scope,
                                            **kwargs)


def avg_pool(kernel_size, **kwargs):
  """A stage applying slim.avg_pool2d(net, kernel_size, **kwargs)."""
  return lambda net, scope: slim.avg_pool2d(net, kernel_size, scope=scope,
                                            **kwargs)


def whole_map_avg_pool(net, scope):
  """Averages `net` over its whole feature map, down to 1 x 1.

  Inception-v4's and Inception-ResNet-v2's final pool: a 'VALID'
  `slim.avg_pool2d` named `scope` whose window is the map when its size is
  known statically, else a mean named 'global_pool'.

  Args:
    net: a [batch, height, width, channels] tensor.
    scope: the pool's scope.

  Returns:
    The [batch, 1, 1, channels] average.
  """
  kernel_size = net.get_shape()[1:3]
  if kernel_size.is_fully_defined():
    return slim.avg_pool2d(net, kernel_size.as_list(), padding='VALID',
                           scope=scope)
  return tf.reduce_mean(input_tensor=net, axis=[1, 2], keepdims=True,
                        name='global_pool')


def flat_logits(net, end_points, num_classes, pool_scope, pre_logits):
  """Inception-v4's and Inception-ResNet-v2's classifier, in the current scope.

  Whole-map average pool (end point 'global_pool') > `pre_logits` (end
  point 'PreLogitsFlatten') > fully connected 'Logits' > softmax
  'Predictions'.

  Args:
    net: the base network's output (8 x 8 x 1536 for a 299 input).
    end_points: the dict to record the end points in.
    num_classes: the number of classes; 0 or None returns the pooled
      features.
    pool_scope: the average pool's scope.
    pre_logits: fn(net) -> the flat [batch, channels] features: dropout and
      flatten, which the two networks apply in opposite orders and name
      differently.

  Returns:
    The [batch, num_classes] logits, or the [batch, 1, 1, channels] pooled
    features when `num_classes` is 0 or None.
  """
  net = whole_map_avg_pool(net, pool_scope)
  end_points['global_pool'] = net
  if not num_classes:
    return net
  # 1 x 1 x 1536
  net = pre_logits(net)
  end_points['PreLogitsFlatten'] = net
  # 1536
  logits = slim.fully_connected(net, num_classes, activation_fn=None,
                                scope='Logits')
  end_points['Logits'] = logits
  end_points['Predictions'] = tf.nn.softmax(logits, name='Predictions')
  return logits


def flat_aux_logits(net, num_classes, pool_scope, conv_scope, logits_scope):
  """Inception-v4's and Inception-ResNet-v2's auxiliary classifier.

  In scope 'AuxLogits': 5x5/3 average pool > 1x1 conv to 128
  ('Conv2d_1b_1x1') > a 'VALID' conv to 768 over the remaining map >
  flatten > fully connected logits. The checkpoints name three of its
  layers differently in the two networks.

  Args:
    net: the auxiliary head's input (17 x 17 for a 299 input).
    num_classes: the number of classes.
    pool_scope: the average pool's scope.
    conv_scope: the 768-channel conv's scope.
    logits_scope: the fully connected layer's scope.

  Returns:
    The [batch, num_classes] auxiliary logits.
  """
  with tf1.variable_scope('AuxLogits'):
    net = slim.avg_pool2d(net, [5, 5], stride=3, padding='VALID',
                          scope=pool_scope)
    # 5 x 5
    net = slim.conv2d(net, 128, [1, 1], scope='Conv2d_1b_1x1')
    net = slim.conv2d(net, 768, net.get_shape().as_list()[1:3],
                      padding='VALID', scope=conv_scope)
    # 1 x 1 x 768
    net = slim.flatten(net)
    return slim.fully_connected(net, num_classes, activation_fn=None,
                                scope=logits_scope)


def batch_norm_params(decay, epsilon, updates_collections, scale):
  """The family's `normalizer_params` of slim.batch_norm (fused if possible).

  Args:
    decay: decay of the batch-norm moving averages.
    epsilon: small float added to the variance to avoid dividing by zero.
    updates_collections: collection for the moving-average update ops.
    scale: whether batch norm learns a scale (gamma).

  Returns:
    A dict of slim.batch_norm arguments.
  """
  return {'decay': decay, 'epsilon': epsilon,
          'updates_collections': updates_collections, 'fused': None,
          'scale': scale}


def inception_arg_scope(
    weight_decay=0.00004,
    use_batch_norm=True,
    batch_norm_decay=0.9997,
    batch_norm_epsilon=0.001,
    activation_fn=tf.nn.relu,
    batch_norm_updates_collections=tf1.GraphKeys.UPDATE_OPS,
    batch_norm_scale=False):
  """Defines the default arg scope for Inception models.

  Args:
    weight_decay: the weight decay (L2) for conv2d and fully_connected
      weights.
    use_batch_norm: whether conv2d is followed by batch norm.
    batch_norm_decay: decay of the batch-norm moving averages.
    batch_norm_epsilon: small float added to the variance to avoid dividing
      by zero.
    activation_fn: activation function of conv2d.
    batch_norm_updates_collections: collection for the moving-average
      update ops.
    batch_norm_scale: whether batch norm learns a scale (gamma). The
      published checkpoints have none.

  Returns:
    An `arg_scope` to use for the Inception models.
  """
  if use_batch_norm:
    normalizer_fn = slim.batch_norm
    normalizer_params = batch_norm_params(
        batch_norm_decay, batch_norm_epsilon, batch_norm_updates_collections,
        batch_norm_scale)
  else:
    normalizer_fn = None
    normalizer_params = {}
  with slim.arg_scope([slim.conv2d, slim.fully_connected],
                      weights_regularizer=slim.l2_regularizer(weight_decay)):
    with slim.arg_scope(
        [slim.conv2d],
        weights_initializer=slim.variance_scaling_initializer(),
        activation_fn=activation_fn,
        normalizer_fn=normalizer_fn,
        normalizer_params=normalizer_params) as sc:
      return sc
