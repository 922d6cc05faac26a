"""S3D-G: separable 3-D Inception-v1 with feature gating, checkpoint-exact.

Xie et al., "Rethinking Spatiotemporal Feature Learning For Video
Understanding", https://arxiv.org/abs/1712.04851.

`s3dg_base` is also I3D's base network (`nets.i3d` calls it with full 3-D
convs and no gating): the Inception-v1 stage table is written once, below.
Inputs are videos [batch, time, height, width, 3].
"""
import functools

import tensorflow as tf

import slim
from nets import i3d_utils
from nets import zoo
from nets.inception_utils import GOOGLENET_WIDTHS as _W

tf1 = tf.compat.v1

__all__ = ['s3dg_arg_scope', 'self_gating', 's3dg_base', 's3dg']

conv3d_spatiotemporal = i3d_utils.conv3d_spatiotemporal
inception_block_v1_3d = i3d_utils.inception_block_v1_3d


def video_arg_scope(weight_decay, batch_norm_decay, batch_norm_epsilon,
                    use_renorm, separable_conv3d):
  """The arg_scope I3D and S3D-G share; they differ by `separable_conv3d`."""
  batch_norm_params = {
      'decay': batch_norm_decay,
      'epsilon': batch_norm_epsilon,
      # Turns off fused batch norm.
      'fused': False,
      'renorm': use_renorm,
      # The moving statistics also go to the 'moving_vars' collection.
      'variables_collections': {
          'beta': None,
          'gamma': None,
          'moving_mean': ['moving_vars'],
          'moving_variance': ['moving_vars'],
      }
  }
  with slim.arg_scope([slim.conv3d, conv3d_spatiotemporal],
                      weights_regularizer=slim.l2_regularizer(weight_decay),
                      activation_fn=tf.nn.relu,
                      normalizer_fn=slim.batch_norm,
                      normalizer_params=batch_norm_params):
    with slim.arg_scope([conv3d_spatiotemporal],
                        separable=separable_conv3d) as sc:
      return sc


def s3dg_arg_scope(weight_decay=1e-7, batch_norm_decay=0.999,
                   batch_norm_epsilon=0.001):
  """Defines the default arg scope for S3D-G.

  Args:
    weight_decay: the L2 weight decay of the conv weights.
    batch_norm_decay: decay of the batch-norm moving averages.
    batch_norm_epsilon: added to the variance to avoid dividing by zero.

  Returns:
    An `arg_scope` to use for S3D-G (separable 3-D convolutions).
  """
  return video_arg_scope(weight_decay, batch_norm_decay, batch_norm_epsilon,
                         use_renorm=False, separable_conv3d=True)


def self_gating(input_tensor, scope, data_format='NDHWC'):
  """Feature gating as used in S3D-G.

  The input is averaged over time and space, a 1x1x1 conv
  ('<scope>/self_gating/transformer_W', no biases) and a sigmoid give one
  weight per channel, and the input is scaled by it.

  Args:
    input_tensor: a 5-D tensor.
    scope: the scope of the gated layer.
    data_format: 'NDHWC' or 'NCDHW'.

  Returns:
    The gated tensor, shaped like `input_tensor`.
  """
  index_c = data_format.index('C')
  index_d = data_format.index('D')
  index_h = data_format.index('H')
  index_w = data_format.index('W')
  input_shape = input_tensor.get_shape().as_list()
  t = input_shape[index_d]
  h = input_shape[index_h]
  w = input_shape[index_w]
  num_channels = input_shape[index_c]

  if None in (t, h, w):
    # Unknown sizes: the same average, without a static pooling window.
    spatiotemporal_average = tf.reduce_mean(
        input_tensor=input_tensor, axis=[index_d, index_h, index_w],
        keepdims=True)
  else:
    # The original pooled with [t, w, h], which is the same window on the
    # square inputs it was used with; [t, h, w] also works for others.
    spatiotemporal_average = slim.avg_pool3d(
        input_tensor, [t, h, w], stride=1, data_format=data_format,
        scope=scope + '/self_gating/avg_pool3d')

  weights = slim.conv3d(
      spatiotemporal_average, num_channels, [1, 1, 1], activation_fn=None,
      normalizer_fn=None, biases_initializer=None,
      data_format=data_format, weights_initializer=zoo.trunc_normal(0.01),
      scope=scope + '/self_gating/transformer_W')

  if None in (t, h, w):
    weights = tf.nn.sigmoid(weights)  # broadcast by the multiply
  else:
    tile_multiples = [1, 1, 1, 1, 1]
    tile_multiples[index_d] = t
    tile_multiples[index_h] = h
    tile_multiples[index_w] = w
    weights = tf.nn.sigmoid(tf.tile(weights, tile_multiples))
  return tf.multiply(weights, input_tensor)


# The Inception-v1 stages in 3-D: (end point, layer, arguments). Mixed
# arguments are the six branch widths of `inception_block_v1_3d`, from the
# GoogLeNet table. Shapes (time x height x width x channels) are for a
# 64 x 224 x 224 input.
_STAGES = (
    ('Conv2d_1a_7x7', 'stem', 64),                            # 32x112x112x64
    ('MaxPool_2a_3x3', 'pool', ([1, 3, 3], [1, 2, 2])),      # 32x56x56x64
    ('Conv2d_2b_1x1', 'conv1x1', 64),                        # 32x56x56x64
    ('Conv2d_2c_3x3', 'conv3x3', 192),                       # 32x56x56x192
    ('MaxPool_3a_3x3', 'pool', ([1, 3, 3], [1, 2, 2])),      # 32x28x28x192
    ('Mixed_3b', 'mixed', _W['Mixed_3b']),                   # 32x28x28x256
    ('Mixed_3c', 'mixed', _W['Mixed_3c']),                   # 32x28x28x480
    ('MaxPool_4a_3x3', 'pool', ([3, 3, 3], [2, 2, 2])),      # 16x14x14x480
    ('Mixed_4b', 'mixed', _W['Mixed_4b']),                   # 16x14x14x512
    ('Mixed_4c', 'mixed', _W['Mixed_4c']),                   # 16x14x14x512
    ('Mixed_4d', 'mixed', _W['Mixed_4d']),                   # 16x14x14x512
    ('Mixed_4e', 'mixed', _W['Mixed_4e']),                   # 16x14x14x528
    ('Mixed_4f', 'mixed', _W['Mixed_4f']),                   # 16x14x14x832
    ('MaxPool_5a_2x2', 'pool', ([2, 2, 2], [2, 2, 2])),      # 8x7x7x832
    ('Mixed_5b', 'mixed', _W['Mixed_5b']),                   # 8x7x7x832
    ('Mixed_5c', 'mixed', _W['Mixed_5c']),                   # 8x7x7x1024
)
END_POINTS = tuple(name for name, _, _ in _STAGES)
# Where temporal convolutions and gating may start (the original only
# switched them on at these stages).
SWITCH_POINTS = tuple(name for name, layer, _ in _STAGES
                      if layer in ('conv3x3', 'mixed'))


def _check_choice(value, valid, argument):
  if value not in valid:
    raise ValueError(f'{argument} must be one of {", ".join(map(str, valid))}; '
                     f'received {value!r}.')


def s3dg_base(inputs,
              first_temporal_kernel_size=3,
              temporal_conv_startat='Conv2d_2c_3x3',
              gating_startat='Conv2d_2c_3x3',
              final_endpoint='Mixed_5c',
              min_depth=16,
              depth_multiplier=1.0,
              data_format='NDHWC',
              scope='InceptionV1'):
  """Defines the I3D / S3D-G base architecture.

  Args:
    inputs: a [batch, time, height, width, channels] tensor (or NCDHW).
    first_temporal_kernel_size: the temporal kernel of the first conv, one
      of 1, 3, 5, 7.
    temporal_conv_startat: the first stage with temporal (3xkxk)
      convolutions, one of `SWITCH_POINTS`; earlier ones are 1xkxk. None
      for none.
    gating_startat: the first stage with self gating, one of
      `SWITCH_POINTS`, or None for no gating.
    final_endpoint: the end point to build up to, one of `END_POINTS`.
    min_depth: the smallest number of channels a thinned layer keeps.
    depth_multiplier: multiplies the number of channels of every conv;
      must be greater than zero.
    data_format: 'NDHWC' or 'NCDHW'.
    scope: the variable scope.

  Returns:
    (net, end_points): the output of `final_endpoint` and a dict from end
    point names to tensors.

  Raises:
    ValueError: for a bad `final_endpoint`, `first_temporal_kernel_size`,
      `temporal_conv_startat`, `gating_startat`, `depth_multiplier` or
      `data_format`, before anything is built.
  """
  _check_choice(data_format, ('NDHWC', 'NCDHW'), 'data_format')
  zoo.check_final_endpoint(final_endpoint, END_POINTS, 's3dg_base')
  _check_choice(first_temporal_kernel_size, (1, 3, 5, 7),
                'first_temporal_kernel_size')
  _check_choice(temporal_conv_startat, SWITCH_POINTS + (None,),
                'temporal_conv_startat')
  _check_choice(gating_startat, SWITCH_POINTS + (None,), 'gating_startat')
  depth = zoo.depth_fn(depth_multiplier, min_depth)
  gating_fn = functools.partial(self_gating, data_format=data_format)

  end_points = zoo.EndPoints(final_endpoint=final_endpoint)
  t = 1
  use_gating = False
  with tf1.variable_scope(scope, 'InceptionV1', [inputs]):
    with slim.arg_scope([slim.conv3d],
                        weights_initializer=zoo.trunc_normal(0.01)):
      with slim.arg_scope([slim.conv3d, slim.max_pool3d,
                           conv3d_spatiotemporal],
                          stride=1, data_format=data_format, padding='SAME'):
        net = inputs
        for end_point, layer, args in _STAGES:
          if end_point == temporal_conv_startat:
            t = 3
          if end_point == gating_startat:
            use_gating = True
          if layer == 'stem':
            # Separable convs are slow as the first layer.
            net = conv3d_spatiotemporal(
                net, depth(args), [first_temporal_kernel_size, 7, 7],
                stride=2, separable=False, scope=end_point)
          elif layer == 'pool':
            kernel_size, stride = args
            net = slim.max_pool3d(net, kernel_size, stride=stride,
                                  scope=end_point)
          elif layer == 'conv1x1':
            net = slim.conv3d(net, depth(args), [1, 1, 1], scope=end_point)
          elif layer == 'conv3x3':
            net = conv3d_spatiotemporal(net, depth(args), [t, 3, 3],
                                        scope=end_point)
            if use_gating:
              net = gating_fn(net, scope=end_point)
          else:
            net = inception_block_v1_3d(
                net, *[depth(d) for d in args], temporal_kernel_size=t,
                self_gating_fn=gating_fn if use_gating else None,
                data_format=data_format, scope=end_point)
          if end_points.add(end_point, net):
            break
  return net, end_points


def s3dg(inputs,
         num_classes=1000,
         first_temporal_kernel_size=3,
         temporal_conv_startat='Conv2d_2c_3x3',
         gating_startat='Conv2d_2c_3x3',
         final_endpoint='Mixed_5c',
         min_depth=16,
         depth_multiplier=1.0,
         dropout_keep_prob=0.8,
         is_training=True,
         prediction_fn=slim.softmax,
         spatial_squeeze=True,
         reuse=None,
         data_format='NDHWC',
         scope='InceptionV1'):
  """Defines the S3D-G architecture.

  The default image size used to train this network is 224x224, with 64
  frames.

  Args:
    inputs: a [batch, time, height, width, channels] tensor (or NCDHW).
    num_classes: the number of classes; 0 or None returns the pooled
      features [batch, 1024] (end point 'global_pool').
    first_temporal_kernel_size: the temporal kernel of the first conv.
    temporal_conv_startat: the first stage with temporal convolutions.
    gating_startat: the first stage with self gating (None: no gating).
    final_endpoint: the end point of the base network to build up to.
    min_depth: the smallest number of channels a thinned layer keeps.
    depth_multiplier: multiplies the number of channels of every conv.
    dropout_keep_prob: dropout keep probability before the logits.
    is_training: whether to build the training graph.
    prediction_fn: computes 'Predictions' from the logits.
    spatial_squeeze: whether to squeeze the 1x1 spatial dimensions.
    reuse: whether to reuse the network and its variables.
    data_format: 'NDHWC' or 'NCDHW'.
    scope: the variable scope.

  Returns:
    (logits, end_points): logits [batch, num_classes] (exported op
    'InceptionV1/Logits/SpatialSqueeze') and a dict of end points.
  """
  _check_choice(data_format, ('NDHWC', 'NCDHW'), 'data_format')
  with tf1.variable_scope(scope, 'InceptionV1', [inputs, num_classes],
                          reuse=reuse) as scope:
    with slim.arg_scope([slim.batch_norm, slim.dropout],
                        is_training=is_training):
      net, end_points = s3dg_base(
          inputs,
          first_temporal_kernel_size=first_temporal_kernel_size,
          temporal_conv_startat=temporal_conv_startat,
          gating_startat=gating_startat,
          final_endpoint=final_endpoint,
          min_depth=min_depth,
          depth_multiplier=depth_multiplier,
          data_format=data_format,
          scope=scope)
      logits = i3d_utils.video_logits_head(
          net, end_points, num_classes, dropout_keep_prob, prediction_fn,
          spatial_squeeze, data_format=data_format)
  return logits, end_points


s3dg.default_image_size = 224
