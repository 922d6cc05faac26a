"""Inception V3 classification network, checkpoint-compatible.

Szegedy et al., "Rethinking the Inception Architecture for Computer Vision",
http://arxiv.org/abs/1512.00567

The eleven Mixed blocks are built by five block functions (35 x 35, 17 x 17
and 8 x 8 Inception blocks and the two grid reductions), parameterised by
width; the checkpoint's irregular scope names are passed in explicitly.
"""
import tensorflow as tf

import slim
from nets import classifier_heads
from nets import inception_utils
from nets.inception_utils import build_stages, conv, max_pool, trunc_normal

tf1 = tf.compat.v1

__all__ = ['inception_v3_base', 'inception_v3', 'inception_v3_arg_scope']

# The original's name for the helper, kept for code that imported it.
_reduced_kernel_size_for_small_input = (
    inception_utils.reduced_kernel_size_for_small_input)


def inception_block_35(net, depth, pool_depth, scope,
                       branch_1_convs=('Conv2d_0a_1x1', 'Conv2d_0b_5x5')):
  """35 x 35 block (Mixed_5b-5d): 1x1 | 1x1>5x5 | 1x1>3x3>3x3 | avg>1x1.

  Args:
    net: a [batch, 35, 35, channels] tensor (at the default size).
    depth: the depth_multiplier rule, depth(d) -> channels.
    pool_depth: nominal width of Branch_3's 1x1 convolution.
    scope: the block's scope (its end point name).
    branch_1_convs: scopes of Branch_1's 1x1 and 5x5 convolutions.

  Returns:
    A tensor with depth(64 + 64 + 96 + pool_depth) channels.
  """
  with tf1.variable_scope(scope):
    with tf1.variable_scope('Branch_0'):
      branch_0 = slim.conv2d(net, depth(64), [1, 1], scope='Conv2d_0a_1x1')
    with tf1.variable_scope('Branch_1'):
      branch_1 = slim.conv2d(net, depth(48), [1, 1], scope=branch_1_convs[0])
      branch_1 = slim.conv2d(branch_1, depth(64), [5, 5],
                             scope=branch_1_convs[1])
    with tf1.variable_scope('Branch_2'):
      branch_2 = slim.conv2d(net, depth(64), [1, 1], scope='Conv2d_0a_1x1')
      branch_2 = slim.conv2d(branch_2, depth(96), [3, 3],
                             scope='Conv2d_0b_3x3')
      branch_2 = slim.conv2d(branch_2, depth(96), [3, 3],
                             scope='Conv2d_0c_3x3')
    with tf1.variable_scope('Branch_3'):
      branch_3 = slim.avg_pool2d(net, [3, 3], scope='AvgPool_0a_3x3')
      branch_3 = slim.conv2d(branch_3, depth(pool_depth), [1, 1],
                             scope='Conv2d_0b_1x1')
    return tf.concat(axis=3, values=[branch_0, branch_1, branch_2, branch_3])


def reduction_block_35(net, depth, scope):
  """35 x 35 -> 17 x 17 reduction (Mixed_6a): 3x3/2 | 1x1>3x3>3x3/2 | max/2.

  Args:
    net: a [batch, 35, 35, channels] tensor (at the default size).
    depth: the depth_multiplier rule.
    scope: the block's scope.

  Returns:
    A tensor at half resolution ('VALID' stride-2 layers).
  """
  with tf1.variable_scope(scope):
    # The checkpoint names both 3x3 stride-2 convolutions 'Conv2d_1a_1x1'.
    with tf1.variable_scope('Branch_0'):
      branch_0 = slim.conv2d(net, depth(384), [3, 3], stride=2,
                             padding='VALID', scope='Conv2d_1a_1x1')
    with tf1.variable_scope('Branch_1'):
      branch_1 = slim.conv2d(net, depth(64), [1, 1], scope='Conv2d_0a_1x1')
      branch_1 = slim.conv2d(branch_1, depth(96), [3, 3],
                             scope='Conv2d_0b_3x3')
      branch_1 = slim.conv2d(branch_1, depth(96), [3, 3], stride=2,
                             padding='VALID', scope='Conv2d_1a_1x1')
    with tf1.variable_scope('Branch_2'):
      branch_2 = slim.max_pool2d(net, [3, 3], stride=2, padding='VALID',
                                 scope='MaxPool_1a_3x3')
    return tf.concat(axis=3, values=[branch_0, branch_1, branch_2])


def inception_block_17(net, depth, width_7x7, scope):
  """17 x 17 block (Mixed_6b-6e) with factorized 7x7 convolutions.

  1x1 | 1x1>1x7>7x1 | 1x1>7x1>1x7>7x1>1x7 | avg>1x1.

  Args:
    net: a [batch, 17, 17, channels] tensor (at the default size).
    depth: the depth_multiplier rule.
    width_7x7: nominal width of the inner 7x1 / 1x7 convolutions.
    scope: the block's scope.

  Returns:
    A tensor with depth(192) * 4 channels.
  """
  w = depth(width_7x7)
  with tf1.variable_scope(scope):
    with tf1.variable_scope('Branch_0'):
      branch_0 = slim.conv2d(net, depth(192), [1, 1], scope='Conv2d_0a_1x1')
    with tf1.variable_scope('Branch_1'):
      branch_1 = slim.conv2d(net, w, [1, 1], scope='Conv2d_0a_1x1')
      branch_1 = slim.conv2d(branch_1, w, [1, 7], scope='Conv2d_0b_1x7')
      branch_1 = slim.conv2d(branch_1, depth(192), [7, 1],
                             scope='Conv2d_0c_7x1')
    with tf1.variable_scope('Branch_2'):
      branch_2 = slim.conv2d(net, w, [1, 1], scope='Conv2d_0a_1x1')
      branch_2 = slim.conv2d(branch_2, w, [7, 1], scope='Conv2d_0b_7x1')
      branch_2 = slim.conv2d(branch_2, w, [1, 7], scope='Conv2d_0c_1x7')
      branch_2 = slim.conv2d(branch_2, w, [7, 1], scope='Conv2d_0d_7x1')
      branch_2 = slim.conv2d(branch_2, depth(192), [1, 7],
                             scope='Conv2d_0e_1x7')
    with tf1.variable_scope('Branch_3'):
      branch_3 = slim.avg_pool2d(net, [3, 3], scope='AvgPool_0a_3x3')
      branch_3 = slim.conv2d(branch_3, depth(192), [1, 1],
                             scope='Conv2d_0b_1x1')
    return tf.concat(axis=3, values=[branch_0, branch_1, branch_2, branch_3])


def reduction_block_17(net, depth, scope):
  """17 x 17 -> 8 x 8 reduction (Mixed_7a).

  1x1>3x3/2 | 1x1>1x7>7x1>3x3/2 | max/2, stride-2 layers 'VALID'.

  Args:
    net: a [batch, 17, 17, channels] tensor (at the default size).
    depth: the depth_multiplier rule.
    scope: the block's scope.

  Returns:
    A tensor at half resolution.
  """
  with tf1.variable_scope(scope):
    with tf1.variable_scope('Branch_0'):
      branch_0 = slim.conv2d(net, depth(192), [1, 1], scope='Conv2d_0a_1x1')
      branch_0 = slim.conv2d(branch_0, depth(320), [3, 3], stride=2,
                             padding='VALID', scope='Conv2d_1a_3x3')
    with tf1.variable_scope('Branch_1'):
      branch_1 = slim.conv2d(net, depth(192), [1, 1], scope='Conv2d_0a_1x1')
      branch_1 = slim.conv2d(branch_1, depth(192), [1, 7],
                             scope='Conv2d_0b_1x7')
      branch_1 = slim.conv2d(branch_1, depth(192), [7, 1],
                             scope='Conv2d_0c_7x1')
      branch_1 = slim.conv2d(branch_1, depth(192), [3, 3], stride=2,
                             padding='VALID', scope='Conv2d_1a_3x3')
    with tf1.variable_scope('Branch_2'):
      branch_2 = slim.max_pool2d(net, [3, 3], stride=2, padding='VALID',
                                 scope='MaxPool_1a_3x3')
    return tf.concat(axis=3, values=[branch_0, branch_1, branch_2])


def inception_block_8(net, depth, scope, branch_1_3x1='Conv2d_0b_3x1'):
  """8 x 8 block (Mixed_7b, 7c) with split 1x3 / 3x1 outputs.

  1x1 | 1x1>(1x3, 3x1) | 1x1>3x3>(1x3, 3x1) | avg>1x1.

  Args:
    net: a [batch, 8, 8, channels] tensor (at the default size).
    depth: the depth_multiplier rule.
    scope: the block's scope.
    branch_1_3x1: scope of Branch_1's 3x1 convolution.

  Returns:
    A tensor with depth(320 + 2 * 384 + 2 * 384 + 192) channels.
  """
  with tf1.variable_scope(scope):
    with tf1.variable_scope('Branch_0'):
      branch_0 = slim.conv2d(net, depth(320), [1, 1], scope='Conv2d_0a_1x1')
    with tf1.variable_scope('Branch_1'):
      branch_1 = slim.conv2d(net, depth(384), [1, 1], scope='Conv2d_0a_1x1')
      branch_1 = tf.concat(axis=3, values=[
          slim.conv2d(branch_1, depth(384), [1, 3], scope='Conv2d_0b_1x3'),
          slim.conv2d(branch_1, depth(384), [3, 1], scope=branch_1_3x1)])
    with tf1.variable_scope('Branch_2'):
      branch_2 = slim.conv2d(net, depth(448), [1, 1], scope='Conv2d_0a_1x1')
      branch_2 = slim.conv2d(branch_2, depth(384), [3, 3],
                             scope='Conv2d_0b_3x3')
      branch_2 = tf.concat(axis=3, values=[
          slim.conv2d(branch_2, depth(384), [1, 3], scope='Conv2d_0c_1x3'),
          slim.conv2d(branch_2, depth(384), [3, 1], scope='Conv2d_0d_3x1')])
    with tf1.variable_scope('Branch_3'):
      branch_3 = slim.avg_pool2d(net, [3, 3], scope='AvgPool_0a_3x3')
      branch_3 = slim.conv2d(branch_3, depth(192), [1, 1],
                             scope='Conv2d_0b_1x1')
    return tf.concat(axis=3, values=[branch_0, branch_1, branch_2, branch_3])


def _block(block_fn, depth, **kwargs):
  return lambda net, scope: block_fn(net, depth, scope=scope, **kwargs)


def _stages(depth):
  """The network as (end point, stage) pairs; shapes for a 299 x 299 input.

  The stem is 'VALID' padded unless stated; the blocks pad 'SAME' (set by the
  caller's arg_scope) except their stride-2 layers.
  """
  return [
      # 299 x 299 x 3
      ('Conv2d_1a_3x3', conv(depth(32), [3, 3], stride=2, padding='VALID')),
      # 149 x 149 x 32
      ('Conv2d_2a_3x3', conv(depth(32), [3, 3], padding='VALID')),
      # 147 x 147 x 32
      ('Conv2d_2b_3x3', conv(depth(64), [3, 3], padding='SAME')),
      # 147 x 147 x 64
      ('MaxPool_3a_3x3', max_pool([3, 3], stride=2, padding='VALID')),
      # 73 x 73 x 64
      ('Conv2d_3b_1x1', conv(depth(80), [1, 1], padding='VALID')),
      # 73 x 73 x 80
      ('Conv2d_4a_3x3', conv(depth(192), [3, 3], padding='VALID')),
      # 71 x 71 x 192
      ('MaxPool_5a_3x3', max_pool([3, 3], stride=2, padding='VALID')),
      # 35 x 35 x 192
      ('Mixed_5b', _block(inception_block_35, depth, pool_depth=32)),
      # 35 x 35 x 256
      # Mixed_5c's Branch_1 is 'Conv2d_0b_1x1', 'Conv_1_0c_5x5' in checkpoints.
      ('Mixed_5c', _block(inception_block_35, depth, pool_depth=64,
                          branch_1_convs=('Conv2d_0b_1x1', 'Conv_1_0c_5x5'))),
      # 35 x 35 x 288
      ('Mixed_5d', _block(inception_block_35, depth, pool_depth=64)),
      # 35 x 35 x 288
      ('Mixed_6a', _block(reduction_block_35, depth)),
      # 17 x 17 x 768
      ('Mixed_6b', _block(inception_block_17, depth, width_7x7=128)),
      ('Mixed_6c', _block(inception_block_17, depth, width_7x7=160)),
      ('Mixed_6d', _block(inception_block_17, depth, width_7x7=160)),
      ('Mixed_6e', _block(inception_block_17, depth, width_7x7=192)),
      # 17 x 17 x 768
      ('Mixed_7a', _block(reduction_block_17, depth)),
      # 8 x 8 x 1280
      ('Mixed_7b', _block(inception_block_8, depth)),
      # 8 x 8 x 2048
      # The checkpoint names Mixed_7c's Branch_1 3x1 conv 'Conv2d_0c_3x1'.
      ('Mixed_7c', _block(inception_block_8, depth,
                          branch_1_3x1='Conv2d_0c_3x1')),
      # 8 x 8 x 2048
  ]


def inception_v3_base(inputs,
                      final_endpoint='Mixed_7c',
                      min_depth=16,
                      depth_multiplier=1.0,
                      scope=None):
  """Inception model from http://arxiv.org/abs/1512.00567.

  Constructs an Inception v3 network from inputs to the given final endpoint.
  This method can construct the network up to the final inception block
  Mixed_7c.

  Note that the names of the layers in the paper do not correspond to the
  names of the endpoints registered by this function although they build the
  same network.

  Here is a mapping from the old_names to the new names:
  Old name          | New name
  =======================================
  conv0             | Conv2d_1a_3x3
  conv1             | Conv2d_2a_3x3
  conv2             | Conv2d_2b_3x3
  pool1             | MaxPool_3a_3x3
  conv3             | Conv2d_3b_1x1
  conv4             | Conv2d_4a_3x3
  pool2             | MaxPool_5a_3x3
  mixed_35x35x256a  | Mixed_5b
  mixed_35x35x288a  | Mixed_5c
  mixed_35x35x288b  | Mixed_5d
  mixed_17x17x768a  | Mixed_6a
  mixed_17x17x768b  | Mixed_6b
  mixed_17x17x768c  | Mixed_6c
  mixed_17x17x768d  | Mixed_6d
  mixed_17x17x768e  | Mixed_6e
  mixed_8x8x1280a   | Mixed_7a
  mixed_8x8x2048a   | Mixed_7b
  mixed_8x8x2048b   | Mixed_7c

  Args:
    inputs: a tensor of size [batch_size, height, width, channels].
    final_endpoint: specifies the endpoint to construct the network up to. It
      can be one of ['Conv2d_1a_3x3', 'Conv2d_2a_3x3', 'Conv2d_2b_3x3',
      'MaxPool_3a_3x3', 'Conv2d_3b_1x1', 'Conv2d_4a_3x3', 'MaxPool_5a_3x3',
      'Mixed_5b', 'Mixed_5c', 'Mixed_5d', 'Mixed_6a', 'Mixed_6b', 'Mixed_6c',
      'Mixed_6d', 'Mixed_6e', 'Mixed_7a', 'Mixed_7b', 'Mixed_7c'].
    min_depth: minimum depth value (number of channels) for all convolution
      ops. Enforced when depth_multiplier < 1, and not an active constraint
      when depth_multiplier >= 1.
    depth_multiplier: float multiplier for the depth (number of channels) for
      all convolution ops. The value must be greater than zero. Typical usage
      will be to set this value in (0, 1) to reduce the number of parameters
      or computation cost of the model.
    scope: optional variable_scope.

  Returns:
    (net, end_points): the output of `final_endpoint` (Mixed_7c's
    8 x 8 x 2048 at 299 x 299 by default) and every end point up to it.

  Raises:
    ValueError: if final_endpoint is not set to one of the predefined values,
      or depth_multiplier <= 0.
  """
  stages = _stages(inception_utils.depth_fn(depth_multiplier, min_depth))
  with tf1.variable_scope(scope, 'InceptionV3', [inputs]):
    with slim.arg_scope([slim.conv2d, slim.max_pool2d, slim.avg_pool2d],
                        stride=1, padding='SAME'):
      return build_stages(inputs, stages, final_endpoint, 'inception_v3')


def inception_v3(inputs, num_classes=1000, is_training=True,
                 dropout_keep_prob=0.8, min_depth=16, depth_multiplier=1.0,
                 prediction_fn=slim.softmax, spatial_squeeze=True, reuse=None,
                 create_aux_logits=True, scope='InceptionV3',
                 global_pool=False):
  """Inception model from http://arxiv.org/abs/1512.00567.

  "Rethinking the Inception Architecture for Computer Vision"

  Christian Szegedy, Vincent Vanhoucke, Sergey Ioffe, Jonathon Shlens,
  Zbigniew Wojna.

  With the default arguments this method constructs the exact model defined
  in the paper. However, one can experiment with variations of the inception_v3
  network by changing arguments dropout_keep_prob, min_depth and
  depth_multiplier.

  The default image size used to train this network is 299x299.

  Args:
    inputs, num_classes, is_training, dropout_keep_prob, prediction_fn,
      spatial_squeeze, reuse, scope, global_pool: as
      `inception_v1.inception_v1`, where they are documented once.
    min_depth, depth_multiplier: see `inception_v3_base`.
    create_aux_logits: whether to create the auxiliary logits.

  Returns:
    (net, end_points), as `inception_v1.inception_v1`; end_points
    also holds 'AuxLogits' when they are created.

  Raises:
    ValueError: if 'depth_multiplier' is less than or equal to zero.
  """
  depth = inception_utils.depth_fn(depth_multiplier, min_depth)

  with tf1.variable_scope(scope, 'InceptionV3', [inputs],
                          reuse=reuse) as scope:
    with slim.arg_scope([slim.batch_norm, slim.dropout],
                        is_training=is_training):
      net, end_points = inception_v3_base(
          inputs, scope=scope, min_depth=min_depth,
          depth_multiplier=depth_multiplier)

      # Auxiliary Head logits
      if create_aux_logits and num_classes:
        with slim.arg_scope([slim.conv2d, slim.max_pool2d, slim.avg_pool2d],
                            stride=1, padding='SAME'):
          aux_logits = end_points['Mixed_6e']
          with tf1.variable_scope('AuxLogits'):
            # 17 x 17 x 768
            aux_logits = slim.avg_pool2d(aux_logits, [5, 5], stride=3,
                                         padding='VALID',
                                         scope='AvgPool_1a_5x5')
            # 5 x 5 x 768
            aux_logits = slim.conv2d(aux_logits, depth(128), [1, 1],
                                     scope='Conv2d_1b_1x1')
            # Shape of feature map before the final layer.
            kernel_size = inception_utils.reduced_kernel_size_for_small_input(
                aux_logits, [5, 5])
            aux_logits = slim.conv2d(
                aux_logits, depth(768), kernel_size,
                weights_initializer=trunc_normal(0.01),
                padding='VALID', scope='Conv2d_2a_{}x{}'.format(*kernel_size))
            # 1 x 1 x 768
            aux_logits = slim.conv2d(
                aux_logits, num_classes, [1, 1], activation_fn=None,
                normalizer_fn=None, weights_initializer=trunc_normal(0.001),
                scope='Conv2d_2b_1x1')
            if spatial_squeeze:
              aux_logits = tf.squeeze(aux_logits, [1, 2],
                                      name='SpatialSqueeze')
            end_points['AuxLogits'] = aux_logits

      # Final pooling and prediction
      with tf1.variable_scope('Logits'):
        # 8 x 8 x 2048 -> 1 x 1 x 2048 -> num_classes
        net = classifier_heads.conv_logits(
            net, end_points, num_classes, [8, 8], global_pool=global_pool,
            dropout_keep_prob=dropout_keep_prob,
            spatial_squeeze=spatial_squeeze, global_pool_name='GlobalPool')
      if num_classes:
        end_points['Predictions'] = prediction_fn(net, scope='Predictions')
  return net, end_points


inception_v3.default_image_size = 299

inception_v3_arg_scope = inception_utils.inception_arg_scope
