"""Inception V2 (BN-Inception) classification network, checkpoint-compatible.

Ioffe and Szegedy, "Batch Normalization: Accelerating Deep Network Training
by Reducing Internal Covariate Shift", http://arxiv.org/abs/1502.03167
"""
import tensorflow as tf

import slim
from nets import classifier_heads
from nets import inception_utils
from nets.inception_utils import build_stages, conv, max_pool, trunc_normal

tf1 = tf.compat.v1

__all__ = ['inception_v2_base', 'inception_v2', 'inception_v2_arg_scope']

# The original's name for the helper, kept for code that imported it.
_reduced_kernel_size_for_small_input = (
    inception_utils.reduced_kernel_size_for_small_input)


def inception_module(net, depths, pool, scope, concat_dim=3):
  """The BN-Inception module: four branches concatenated on channels.

  Branch_0: 1x1 | Branch_1: 1x1 > 3x3 | Branch_2: 1x1 > 3x3 > 3x3 |
  Branch_3: 3x3 pool (stride 1) > 1x1.

  Args:
    net: the input feature map.
    depths: the six widths (Branch_0 1x1, Branch_1 1x1, Branch_1 3x3,
      Branch_2 1x1, Branch_2 both 3x3s, Branch_3 1x1).
    pool: 'avg' or 'max', the pooling of Branch_3.
    scope: the module's scope (its end point name).
    concat_dim: the channel axis (3 for NHWC, 1 for NCHW).

  Returns:
    The concatenation of the four branches.
  """
  d0, d1a, d1b, d2a, d2b, d3 = depths
  with tf1.variable_scope(scope):
    with tf1.variable_scope('Branch_0'):
      branch_0 = slim.conv2d(net, d0, [1, 1], scope='Conv2d_0a_1x1')
    with tf1.variable_scope('Branch_1'):
      branch_1 = slim.conv2d(net, d1a, [1, 1],
                             weights_initializer=trunc_normal(0.09),
                             scope='Conv2d_0a_1x1')
      branch_1 = slim.conv2d(branch_1, d1b, [3, 3], scope='Conv2d_0b_3x3')
    with tf1.variable_scope('Branch_2'):
      branch_2 = slim.conv2d(net, d2a, [1, 1],
                             weights_initializer=trunc_normal(0.09),
                             scope='Conv2d_0a_1x1')
      branch_2 = slim.conv2d(branch_2, d2b, [3, 3], scope='Conv2d_0b_3x3')
      branch_2 = slim.conv2d(branch_2, d2b, [3, 3], scope='Conv2d_0c_3x3')
    with tf1.variable_scope('Branch_3'):
      if pool == 'avg':
        branch_3 = slim.avg_pool2d(net, [3, 3], scope='AvgPool_0a_3x3')
      else:
        branch_3 = slim.max_pool2d(net, [3, 3], scope='MaxPool_0a_3x3')
      branch_3 = slim.conv2d(branch_3, d3, [1, 1],
                             weights_initializer=trunc_normal(0.1),
                             scope='Conv2d_0b_1x1')
    return tf.concat(axis=concat_dim,
                     values=[branch_0, branch_1, branch_2, branch_3])


def reduction_module(net, depths, scope, concat_dim=3):
  """The BN-Inception grid reduction: stride-2 branches concatenated.

  Branch_0: 1x1 > 3x3/2 | Branch_1: 1x1 > 3x3 > 3x3/2 | Branch_2: 3x3/2 max
  pool. All 'SAME' padded.

  Args:
    net: the input feature map.
    depths: the five widths (Branch_0 1x1, Branch_0 3x3, Branch_1 1x1,
      Branch_1 both 3x3s).
    scope: the module's scope (its end point name).
    concat_dim: the channel axis (3 for NHWC, 1 for NCHW).

  Returns:
    The concatenation, at half the input's resolution.
  """
  d0a, d0b, d1a, d1b = depths
  with tf1.variable_scope(scope):
    with tf1.variable_scope('Branch_0'):
      branch_0 = slim.conv2d(net, d0a, [1, 1],
                             weights_initializer=trunc_normal(0.09),
                             scope='Conv2d_0a_1x1')
      branch_0 = slim.conv2d(branch_0, d0b, [3, 3], stride=2,
                             scope='Conv2d_1a_3x3')
    with tf1.variable_scope('Branch_1'):
      branch_1 = slim.conv2d(net, d1a, [1, 1],
                             weights_initializer=trunc_normal(0.09),
                             scope='Conv2d_0a_1x1')
      branch_1 = slim.conv2d(branch_1, d1b, [3, 3], scope='Conv2d_0b_3x3')
      branch_1 = slim.conv2d(branch_1, d1b, [3, 3], stride=2,
                             scope='Conv2d_1a_3x3')
    with tf1.variable_scope('Branch_2'):
      branch_2 = slim.max_pool2d(net, [3, 3], stride=2, scope='MaxPool_1a_3x3')
    return tf.concat(axis=concat_dim, values=[branch_0, branch_1, branch_2])


def _root_block(depth, use_separable_conv):
  """The layers before Mixed_3b; shapes for a 224 x 224 input."""
  if use_separable_conv:
    # depthwise_multiplier here is different from depth_multiplier.
    # depthwise_multiplier determines the output channels of the initial
    # depthwise conv (see docs for tf.nn.separable_conv2d), while
    # depth_multiplier controls the # channels of the subsequent 1x1
    # convolution. Must have
    #   in_channels * depthwise_multipler <= out_channels
    # so that the separable convolution is not overparameterized.
    depthwise_multiplier = min(int(depth(64) / 3), 8)
    conv_1a = lambda net, scope: slim.separable_conv2d(
        net, depth(64), [7, 7], depth_multiplier=depthwise_multiplier,
        stride=2, padding='SAME', weights_initializer=trunc_normal(1.0),
        scope=scope)
  else:
    # Use a normal convolution instead of a separable convolution.
    conv_1a = conv(depth(64), [7, 7], stride=2,
                   weights_initializer=trunc_normal(1.0))
  return [
      # 224 x 224 x 3
      ('Conv2d_1a_7x7', conv_1a),
      # 112 x 112 x 64
      ('MaxPool_2a_3x3', max_pool([3, 3], stride=2)),
      # 56 x 56 x 64
      ('Conv2d_2b_1x1', conv(depth(64), [1, 1],
                             weights_initializer=trunc_normal(0.1))),
      # 56 x 56 x 64
      ('Conv2d_2c_3x3', conv(depth(192), [3, 3])),
      # 56 x 56 x 192
      ('MaxPool_3a_3x3', max_pool([3, 3], stride=2)),
  ]


def _modules(depth, concat_dim):
  """Mixed_3b ... Mixed_5c; shapes for a 224 x 224 input."""

  def module(widths, pool='avg'):
    return lambda net, scope: inception_module(
        net, [depth(w) for w in widths], pool, scope, concat_dim)

  def reduction(widths):
    return lambda net, scope: reduction_module(
        net, [depth(w) for w in widths], scope, concat_dim)

  return [
      # 28 x 28 x 192
      ('Mixed_3b', module([64, 64, 64, 64, 96, 32])),
      # 28 x 28 x 256
      ('Mixed_3c', module([64, 64, 96, 64, 96, 64])),
      # 28 x 28 x 320
      ('Mixed_4a', reduction([128, 160, 64, 96])),
      # 14 x 14 x 576
      ('Mixed_4b', module([224, 64, 96, 96, 128, 128])),
      ('Mixed_4c', module([192, 96, 128, 96, 128, 128])),
      ('Mixed_4d', module([160, 128, 160, 128, 160, 96])),
      ('Mixed_4e', module([96, 128, 192, 160, 192, 96])),
      # 14 x 14 x 576
      ('Mixed_5a', reduction([128, 192, 192, 256])),
      # 7 x 7 x 1024
      ('Mixed_5b', module([352, 192, 320, 160, 224, 128])),
      ('Mixed_5c', module([352, 192, 320, 192, 224, 128], pool='max')),
      # 7 x 7 x 1024
  ]


def inception_v2_base(inputs,
                      final_endpoint='Mixed_5c',
                      min_depth=16,
                      depth_multiplier=1.0,
                      use_separable_conv=True,
                      data_format='NHWC',
                      include_root_block=True,
                      scope=None):
  """Inception v2 (6a2).

  Constructs an Inception v2 network from inputs to the given final endpoint.
  This method can construct the network up to the layer inception(5b) as
  described in http://arxiv.org/abs/1502.03167.

  Args:
    inputs: a tensor of shape [batch_size, height, width, channels].
    final_endpoint: specifies the endpoint to construct the network up to. It
      can be one of ['Conv2d_1a_7x7', 'MaxPool_2a_3x3', 'Conv2d_2b_1x1',
      'Conv2d_2c_3x3', 'MaxPool_3a_3x3', 'Mixed_3b', 'Mixed_3c', 'Mixed_4a',
      'Mixed_4b', 'Mixed_4c', 'Mixed_4d', 'Mixed_4e', 'Mixed_5a', 'Mixed_5b',
      'Mixed_5c'].
    min_depth: minimum depth value (number of channels) for all convolution
      ops. Enforced when depth_multiplier < 1, and not an active constraint
      when depth_multiplier >= 1.
    depth_multiplier: float multiplier for the depth (number of channels) for
      all convolution ops. The value must be greater than zero. Typical usage
      will be to set this value in (0, 1) to reduce the number of parameters
      or computation cost of the model.
    use_separable_conv: use a separable convolution for the first layer
      Conv2d_1a_7x7. If this is False, use a normal convolution instead.
    data_format: data format of the activations ('NHWC' or 'NCHW').
    include_root_block: if False, the layers before Mixed_3b are skipped and
      `inputs` feeds Mixed_3b directly.
    scope: optional variable_scope.

  Returns:
    (net, end_points): the output of `final_endpoint` (Mixed_5c's
    7 x 7 x 1024 at 224 x 224 by default) and every end point up to it.

  Raises:
    ValueError: if final_endpoint is not set to one of the predefined values,
      depth_multiplier <= 0, data_format is unknown, or NCHW is asked for
      together with use_separable_conv.
  """
  depth = inception_utils.depth_fn(depth_multiplier, min_depth)
  if data_format not in ('NHWC', 'NCHW'):
    raise ValueError("data_format must be 'NHWC' or 'NCHW'. "
                     f'Received: {data_format!r}.')
  if data_format == 'NCHW' and use_separable_conv and include_root_block:
    raise ValueError(
        "data_format='NCHW' needs use_separable_conv=False: the separable "
        'convolution of Conv2d_1a_7x7 only supports NHWC.')
  concat_dim = 3 if data_format == 'NHWC' else 1
  stages = _modules(depth, concat_dim)
  if include_root_block:
    stages = _root_block(depth, use_separable_conv) + stages
  with tf1.variable_scope(scope, 'InceptionV2', [inputs]):
    with slim.arg_scope([slim.conv2d, slim.max_pool2d, slim.avg_pool2d],
                        stride=1, padding='SAME', data_format=data_format):
      return build_stages(inputs, stages, final_endpoint, 'inception_v2')


def inception_v2(inputs,
                 num_classes=1000,
                 is_training=True,
                 dropout_keep_prob=0.8,
                 min_depth=16,
                 depth_multiplier=1.0,
                 prediction_fn=slim.softmax,
                 spatial_squeeze=True,
                 reuse=None,
                 scope='InceptionV2',
                 global_pool=False,
                 use_separable_conv=True):
  """Inception v2 model for classification.

  Constructs an Inception v2 network for classification as described in
  http://arxiv.org/abs/1502.03167.

  The default image size used to train this network is 224x224.

  Args:
    inputs, num_classes, is_training, dropout_keep_prob, prediction_fn,
      spatial_squeeze, reuse, scope, global_pool: as
      `inception_v1.inception_v1`, where they are documented once.
    min_depth, depth_multiplier: see `inception_v2_base`.
    use_separable_conv: see `inception_v2_base` (the original did not expose
      it here; the default reproduces the original).

  Returns:
    (net, end_points), as `inception_v1.inception_v1`.

  Raises:
    ValueError: if depth_multiplier <= 0.
  """
  inception_utils.depth_fn(depth_multiplier, min_depth)  # Validates early.

  # Final pooling and prediction
  with tf1.variable_scope(scope, 'InceptionV2', [inputs],
                          reuse=reuse) as scope:
    with slim.arg_scope([slim.batch_norm, slim.dropout],
                        is_training=is_training):
      net, end_points = inception_v2_base(
          inputs, scope=scope, min_depth=min_depth,
          depth_multiplier=depth_multiplier,
          use_separable_conv=use_separable_conv)
      with tf1.variable_scope('Logits'):
        # 7 x 7 x 1024 -> 1 x 1 x 1024 -> num_classes
        net = classifier_heads.conv_logits(
            net, end_points, num_classes, [7, 7], global_pool=global_pool,
            dropout_keep_prob=dropout_keep_prob,
            spatial_squeeze=spatial_squeeze)
      if num_classes:
        end_points['Predictions'] = prediction_fn(net, scope='Predictions')
  return net, end_points


inception_v2.default_image_size = 224

inception_v2_arg_scope = inception_utils.inception_arg_scope
