"""Classifier heads that several networks share, with each net's own names.

* `conv_logits`: average pool (fixed window or global), dropout and a 1x1
  convolution to logits: the 'Logits' scope of Inception v1-v3 and
  MobileNet v1.
* `fc_conv_network_scope`: the variable scope of AlexNet v2, OverFeat and
  VGG, whose layers record their outputs as end points.
* `fc_conv_classifier`: the fully connected layers fc6 / fc7 / fc8 written
  as convolutions, of those three networks.
* `fc_conv_arg_scope`: the arg_scope those three share.
* `reduced_kernel_size_for_small_input` shrinks a pooling kernel to fit the
  feature map (the original's `_reduced_kernel_size_for_small_input`).

Every scope and end-point name is a parameter: the checkpoints fix them and
they differ between the networks.
"""
import contextlib

import tensorflow as tf

import slim
from nets import zoo

tf1 = tf.compat.v1

__all__ = ['conv_logits', 'fc_conv_network_scope', 'fc_conv_classifier',
           'fc_conv_arg_scope', 'reduced_kernel_size_for_small_input']


def reduced_kernel_size_for_small_input(input_tensor, kernel_size):
  """Shrinks `kernel_size` to the spatial size of `input_tensor` if smaller.

  Used by the classification heads so that inputs smaller than the default
  image size still pool to 1 x 1. If the spatial size is unknown, the
  kernel is returned unchanged (and the pooling needs a large enough input).

  Args:
    input_tensor: a [batch, height, width, channels] tensor.
    kernel_size: [kernel_height, kernel_width].

  Returns:
    [min(height, kernel_height), min(width, kernel_width)].
  """
  shape = input_tensor.get_shape().as_list()
  if shape[1] is None or shape[2] is None:
    return kernel_size
  return [min(shape[1], kernel_size[0]), min(shape[2], kernel_size[1])]


def conv_logits(net,
                end_points,
                num_classes,
                kernel_size,
                global_pool=False,
                dropout_keep_prob=0.8,
                spatial_squeeze=True,
                global_pool_name='global_pool',
                pool_scope='AvgPool_1a_{}x{}',
                pool_end_point='AvgPool_1a',
                shrink_kernel=True,
                pool_kwargs=None,
                dropout_scope='Dropout_1b',
                logits_scope='Conv2d_1c_1x1',
                pre_logits=True):
  """Pool > dropout > 1x1 conv logits, built in the current variable scope.

  The networks call it inside their 'Logits' scope and add 'Predictions'
  themselves (Inception v1 inside that scope, the others after it).

  Args:
    net: the base network's [batch, height, width, channels] output.
    end_points: the dict to record the end points in: 'global_pool' or
      `pool_end_point`, then 'PreLogits' (if `pre_logits`) and 'Logits'.
    num_classes: the number of classes; 0 or None returns the pooled
      features.
    kernel_size: the fixed pooling window that reduces a default-sized
      input to 1 x 1.
    global_pool: average over the whole feature map (op `global_pool_name`)
      instead of the fixed window.
    dropout_keep_prob: the fraction of activations kept before the logits.
    spatial_squeeze: squeeze the logits to [batch, num_classes] (op
      'SpatialSqueeze').
    global_pool_name: the name of the global average op.
    pool_scope: the fixed pool's scope, formatted with the kernel size.
    pool_end_point: the fixed pool's end point.
    shrink_kernel: shrink the window to fit smaller feature maps.
    pool_kwargs: more `slim.avg_pool2d` arguments of the fixed pool;
      None for `padding='VALID'`.
    dropout_scope: the dropout's scope.
    logits_scope: the 1x1 convolution's scope.
    pre_logits: record the dropout output as end point 'PreLogits'.

  Returns:
    The logits, or the pooled features when `num_classes` is 0 or None.
  """
  if global_pool:
    net = tf.reduce_mean(input_tensor=net, axis=[1, 2], keepdims=True,
                         name=global_pool_name)
    end_points['global_pool'] = net
  else:
    if shrink_kernel:
      kernel_size = reduced_kernel_size_for_small_input(net, kernel_size)
    if pool_kwargs is None:
      pool_kwargs = {'padding': 'VALID'}
    net = slim.avg_pool2d(net, kernel_size,
                          scope=pool_scope.format(*kernel_size), **pool_kwargs)
    end_points[pool_end_point] = net
  if not num_classes:
    return net
  net = slim.dropout(net, keep_prob=dropout_keep_prob, scope=dropout_scope)
  if pre_logits:
    end_points['PreLogits'] = net
  logits = slim.conv2d(net, num_classes, [1, 1], activation_fn=None,
                       normalizer_fn=None, scope=logits_scope)
  if spatial_squeeze:
    logits = tf.squeeze(logits, [1, 2], name='SpatialSqueeze')
  end_points['Logits'] = logits
  return logits


def _end_points_collection(sc):
  """The collection the layers of variable scope `sc` record outputs in."""
  return sc.original_name_scope + '_end_points'


@contextlib.contextmanager
def fc_conv_network_scope(scope, default_name, inputs, reuse=None):
  """The variable scope of AlexNet v2, OverFeat and VGG, collecting outputs.

  Every conv, fully connected and max pool built inside records its output
  in the scope's end-points collection under its own name ('<scope>/conv1',
  ...); `fc_conv_classifier` reads them back as the end points.

  Args:
    scope: the variable scope.
    default_name: the scope's name when `scope` is None.
    inputs: the network's input.
    reuse: whether to reuse the variables (needs `scope`).

  Yields:
    The variable scope, for `fc_conv_classifier`.
  """
  with tf1.variable_scope(scope, default_name, [inputs], reuse=reuse) as sc:
    with slim.arg_scope([slim.conv2d, slim.fully_connected, slim.max_pool2d],
                        outputs_collections=_end_points_collection(sc)):
      yield sc


def fc_conv_classifier(net,
                       sc,
                       fc6_depth,
                       fc6_kernel_size,
                       num_classes,
                       is_training,
                       dropout_keep_prob,
                       spatial_squeeze,
                       global_pool,
                       fc6_padding='VALID',
                       fc_weights_stddev=None):
  """fc6 > dropout6 > fc7 [> global pool] [> dropout7 > fc8], as convolutions.

  Builds inside `fc_conv_network_scope`, under the caller's arg_scope.

  Args:
    net: the last pool's output.
    sc: the variable scope `fc_conv_network_scope` yielded; the end points
      are read from its collection after fc7, and fc8's end point is
      '<scope>/fc8'.
    fc6_depth: fc6's output channels.
    fc6_kernel_size: fc6's kernel, the default input's pool5 size.
    num_classes: the number of classes; 0 or None returns the fc7 features.
    is_training: whether dropout is active.
    dropout_keep_prob: the probability of keeping an fc6/fc7 activation.
    spatial_squeeze: squeeze the logits to [batch, num_classes] (op
      'fc8/squeezed').
    global_pool: average fc7 over height and width (end point and op
      'global_pool').
    fc6_padding: fc6's padding.
    fc_weights_stddev: None keeps the arg_scope's initializers. Else fc6 to
      fc8 weights start truncated normal of this stddev, fc6 and fc7 biases
      at 0.1 and fc8's at 0, as AlexNet v2 and OverFeat were trained.

  Returns:
    (net, end_points): the logits (or the features) and the dict of end
    points.
  """
  fc_init = fc8_init = {}
  if fc_weights_stddev is not None:
    fc_init = {'weights_initializer': zoo.trunc_normal(fc_weights_stddev),
               'biases_initializer': tf.constant_initializer(0.1)}
    fc8_init = dict(fc_init, biases_initializer=tf.zeros_initializer())
  net = slim.conv2d(net, fc6_depth, fc6_kernel_size, padding=fc6_padding,
                    scope='fc6', **fc_init)
  net = slim.dropout(net, dropout_keep_prob, is_training=is_training,
                     scope='dropout6')
  net = slim.conv2d(net, 4096, [1, 1], scope='fc7', **fc_init)
  end_points = slim.utils.convert_collection_to_dict(
      _end_points_collection(sc))
  if global_pool:
    net = tf.reduce_mean(net, [1, 2], keepdims=True, name='global_pool')
    end_points['global_pool'] = net
  if num_classes:
    net = slim.dropout(net, dropout_keep_prob, is_training=is_training,
                       scope='dropout7')
    net = slim.conv2d(net, num_classes, [1, 1], activation_fn=None,
                      normalizer_fn=None, scope='fc8', **fc8_init)
    if spatial_squeeze:
      net = tf.squeeze(net, [1, 2], name='fc8/squeezed')
    end_points[sc.name + '/fc8'] = net
  return net, end_points


def fc_conv_arg_scope(weight_decay, biases_initializer,
                      max_pool_padding=None):
  """ReLU, L2 weight decay, the given biases and 'SAME' convolutions.

  Args:
    weight_decay: the L2 weight decay.
    biases_initializer: the conv and fully connected biases' initializer.
    max_pool_padding: the max pools' padding; None leaves it unset.

  Returns:
    An arg_scope.
  """
  with slim.arg_scope([slim.conv2d, slim.fully_connected],
                      activation_fn=tf.nn.relu,
                      weights_regularizer=slim.l2_regularizer(weight_decay),
                      biases_initializer=biases_initializer):
    with slim.arg_scope([slim.conv2d], padding='SAME') as arg_sc:
      if max_pool_padding is None:
        return arg_sc
      with slim.arg_scope([slim.max_pool2d],
                          padding=max_pool_padding) as arg_sc:
        return arg_sc
