"""MobileNet V1: depthwise-separable convolutions, checkpoint-compatible.

Howard et al., "MobileNets: Efficient Convolutional Neural Networks for
Mobile Vision Applications", https://arxiv.org/abs/1704.04861

The body is a table of `Conv` / `DepthSepConv` layers (MOBILENETV1_CONV_DEFS);
layer i is end point 'Conv2d_<i>' (a full conv) or 'Conv2d_<i>_depthwise'
followed by 'Conv2d_<i>_pointwise'. `depth_multiplier` thins every layer to
max(int(depth * depth_multiplier), min_depth) channels.

    with slim.arg_scope(mobilenet_v1_arg_scope()):
      logits, end_points = mobilenet_v1(images, num_classes=1001)
"""
import collections

import tensorflow as tf

import slim
from nets import classifier_heads
from nets import zoo

tf1 = tf.compat.v1

__all__ = ['Conv', 'DepthSepConv', 'MOBILENETV1_CONV_DEFS',
           'mobilenet_v1_base', 'mobilenet_v1', 'mobilenet_v1_075',
           'mobilenet_v1_050', 'mobilenet_v1_025', 'mobilenet_v1_arg_scope',
           'wrapped_partial']

# Conv: a full convolution; DepthSepConv: a depthwise then a 1x1 pointwise.
Conv = collections.namedtuple('Conv', ['kernel', 'stride', 'depth'])
DepthSepConv = collections.namedtuple('DepthSepConv',
                                      ['kernel', 'stride', 'depth'])

# The MobileNet body; output sizes for a 224 x 224 input.
MOBILENETV1_CONV_DEFS = [
    Conv(kernel=[3, 3], stride=2, depth=32),            # 112 x 112 x 32
    DepthSepConv(kernel=[3, 3], stride=1, depth=64),    # 112 x 112 x 64
    DepthSepConv(kernel=[3, 3], stride=2, depth=128),   # 56 x 56 x 128
    DepthSepConv(kernel=[3, 3], stride=1, depth=128),
    DepthSepConv(kernel=[3, 3], stride=2, depth=256),   # 28 x 28 x 256
    DepthSepConv(kernel=[3, 3], stride=1, depth=256),
    DepthSepConv(kernel=[3, 3], stride=2, depth=512),   # 14 x 14 x 512
    DepthSepConv(kernel=[3, 3], stride=1, depth=512),
    DepthSepConv(kernel=[3, 3], stride=1, depth=512),
    DepthSepConv(kernel=[3, 3], stride=1, depth=512),
    DepthSepConv(kernel=[3, 3], stride=1, depth=512),
    DepthSepConv(kernel=[3, 3], stride=1, depth=512),
    DepthSepConv(kernel=[3, 3], stride=2, depth=1024),  # 7 x 7 x 1024
    DepthSepConv(kernel=[3, 3], stride=1, depth=1024),
]

_OUTPUT_STRIDES = (8, 16, 32)

def _end_point_names(conv_defs):
  """The end points `conv_defs` makes, in order."""
  names = []
  for i, conv_def in enumerate(conv_defs):
    if isinstance(conv_def, DepthSepConv):
      names += ['Conv2d_%d_depthwise' % i, 'Conv2d_%d_pointwise' % i]
    else:
      names.append('Conv2d_%d' % i)
  return names


def mobilenet_v1_base(inputs,
                      final_endpoint='Conv2d_13_pointwise',
                      min_depth=8,
                      depth_multiplier=1.0,
                      conv_defs=None,
                      output_stride=None,
                      use_explicit_padding=False,
                      scope=None):
  """The MobileNet V1 body, up to `final_endpoint`.

  Args:
    inputs: a [batch, height, width, channels] tensor.
    final_endpoint: the end point to build up to: 'Conv2d_0',
      'Conv2d_<i>_depthwise' or 'Conv2d_<i>_pointwise' (i in 1..13 for the
      default table).
    min_depth: the smallest channel count a thinned layer keeps (only
      matters when depth_multiplier < 1).
    depth_multiplier: float multiplier of every layer's depth; > 0.
    conv_defs: a list of Conv / DepthSepConv; defaults to
      MOBILENETV1_CONV_DEFS.
    output_stride: the largest ratio of input to output spatial size, one
      of 8, 16, 32 or None; past it the depthwise convolutions are atrous.
    use_explicit_padding: pad explicitly (independently of the input size)
      and convolve with VALID padding.
    scope: optional variable scope (default 'MobilenetV1').

  Returns:
    (net, end_points): the output of `final_endpoint` and a dict of all
    end points built.

  Raises:
    ValueError: for depth_multiplier <= 0, an output_stride other than
      None, 8, 16 or 32, an unknown `final_endpoint`, or an entry of
      conv_defs that is neither Conv nor DepthSepConv.
  """
  depth = zoo.depth_fn(depth_multiplier, min_depth)

  if conv_defs is None:
    conv_defs = MOBILENETV1_CONV_DEFS
  for i, conv_def in enumerate(conv_defs):
    if not isinstance(conv_def, (Conv, DepthSepConv)):
      raise ValueError(f'conv_defs[{i}] must be a Conv or a DepthSepConv. '
                       f'Received: {conv_def!r}.')
  zoo.check_final_endpoint(final_endpoint, _end_point_names(conv_defs),
                           'mobilenet_v1_base')
  if output_stride is not None and output_stride not in _OUTPUT_STRIDES:
    raise ValueError(f'output_stride must be one of {_OUTPUT_STRIDES} or '
                     f'None. Received: {output_stride!r}.')

  end_points = zoo.EndPoints(final_endpoint=final_endpoint)
  padding = 'VALID' if use_explicit_padding else 'SAME'
  with tf1.variable_scope(scope, 'MobilenetV1', [inputs]), \
       slim.arg_scope([slim.conv2d, slim.separable_conv2d], padding=padding):
    schedule = zoo.AtrousSchedule(output_stride)
    net = inputs
    for i, conv_def in enumerate(conv_defs):
      end_point_base = 'Conv2d_%d' % i
      layer_stride, layer_rate = schedule.step(conv_def.stride)

      if isinstance(conv_def, Conv):
        if use_explicit_padding:
          net = zoo.fixed_padding(net, conv_def.kernel)
        # As in the original, a full conv keeps its own stride (only the
        # first layer is a Conv, long before any output_stride applies).
        net = slim.conv2d(net, depth(conv_def.depth), conv_def.kernel,
                          stride=conv_def.stride, scope=end_point_base)
        if end_points.add(end_point_base, net):
          return net, end_points
      else:
        end_point = end_point_base + '_depthwise'
        if use_explicit_padding:
          net = zoo.fixed_padding(net, conv_def.kernel, layer_rate)
        # num_outputs=None: the depthwise convolution alone.
        net = slim.separable_conv2d(net, None, conv_def.kernel,
                                    depth_multiplier=1,
                                    stride=layer_stride,
                                    rate=layer_rate,
                                    scope=end_point)
        if end_points.add(end_point, net):
          return net, end_points

        end_point = end_point_base + '_pointwise'
        net = slim.conv2d(net, depth(conv_def.depth), [1, 1], stride=1,
                          scope=end_point)
        if end_points.add(end_point, net):
          return net, end_points
  raise AssertionError('unreachable: final_endpoint was validated')


def mobilenet_v1(inputs,
                 num_classes=1000,
                 dropout_keep_prob=0.999,
                 is_training=True,
                 min_depth=8,
                 depth_multiplier=1.0,
                 conv_defs=None,
                 prediction_fn=slim.softmax,
                 spatial_squeeze=True,
                 reuse=None,
                 scope='MobilenetV1',
                 global_pool=False):
  """The MobileNet V1 classifier.

  Args:
    inputs: a [batch, height, width, channels] tensor.
    num_classes: number of classes; 0 or None returns the pooled features
      (end point 'AvgPool_1a', or 'global_pool' with global_pool=True).
    dropout_keep_prob: the fraction of activations kept before the logits.
    is_training: build the training graph (batch norm, dropout).
    min_depth: the smallest channel count of a thinned layer.
    depth_multiplier: float multiplier of every layer's depth; > 0.
    conv_defs: a list of Conv / DepthSepConv; defaults to
      MOBILENETV1_CONV_DEFS.
    prediction_fn: turns logits into 'Predictions'.
    spatial_squeeze: squeeze the logits to [batch, num_classes].
    reuse: whether to reuse the network's variables.
    scope: the variable scope.
    global_pool: average over the whole feature map (any input size)
      instead of the fixed 7 x 7 'AvgPool_1a'.

  Returns:
    (logits, end_points); logits are 'MobilenetV1/Logits/SpatialSqueeze'
    (or the pooled features when num_classes is 0 or None).

  Raises:
    ValueError: if `inputs` is not of rank 4.
  """
  input_shape = inputs.get_shape().as_list()
  if len(input_shape) != 4:
    raise ValueError('inputs must be of rank 4 [batch, height, width, '
                     f'channels]. Received shape: {input_shape}.')

  with tf1.variable_scope(scope, 'MobilenetV1', [inputs],
                          reuse=reuse) as scope, \
       slim.arg_scope([slim.batch_norm, slim.dropout],
                      is_training=is_training):
    net, end_points = mobilenet_v1_base(inputs, scope=scope,
                                        min_depth=min_depth,
                                        depth_multiplier=depth_multiplier,
                                        conv_defs=conv_defs)
    with tf1.variable_scope('Logits'):
      # A fixed 7 x 7 pool (smaller for small inputs) named 'AvgPool_1a'
      # whatever its size, and no 'PreLogits'.
      net = classifier_heads.conv_logits(
          net, end_points, num_classes, [7, 7], global_pool=global_pool,
          dropout_keep_prob=dropout_keep_prob,
          spatial_squeeze=spatial_squeeze, pool_scope='AvgPool_1a',
          pre_logits=False)
    if num_classes and prediction_fn:
      end_points['Predictions'] = prediction_fn(net, scope='Predictions')
  return net, end_points


mobilenet_v1.default_image_size = 224


wrapped_partial = zoo.wrapped_partial  # The original's name, kept.
mobilenet_v1_075 = wrapped_partial(mobilenet_v1, depth_multiplier=0.75)
mobilenet_v1_050 = wrapped_partial(mobilenet_v1, depth_multiplier=0.50)
mobilenet_v1_025 = wrapped_partial(mobilenet_v1, depth_multiplier=0.25)


# The original's name for the helper, kept for code that imported it.
_reduced_kernel_size_for_small_input = (
    classifier_heads.reduced_kernel_size_for_small_input)


def mobilenet_v1_arg_scope(
    is_training=True,
    weight_decay=0.00004,
    stddev=0.09,
    regularize_depthwise=False,
    batch_norm_decay=0.9997,
    batch_norm_epsilon=0.001,
    batch_norm_updates_collections=tf1.GraphKeys.UPDATE_OPS,
    normalizer_fn=slim.batch_norm):
  """The MobileNet V1 arg_scope.

  Args:
    is_training: batch-norm mode; None leaves it to the network.
    weight_decay: L2 weight decay of the conv weights.
    stddev: stddev of the truncated-normal weight initializer.
    regularize_depthwise: also regularize the depthwise weights.
    batch_norm_decay: the batch-norm moving-average decay.
    batch_norm_epsilon: the batch-norm epsilon.
    batch_norm_updates_collections: where batch norm puts its update ops.
    normalizer_fn: the normalizer of every conv layer.

  Returns:
    An arg_scope dict to re-enter with `slim.arg_scope(...)`.
  """
  batch_norm_params = {
      'center': True,
      'scale': True,
      'decay': batch_norm_decay,
      'epsilon': batch_norm_epsilon,
      'updates_collections': batch_norm_updates_collections,
  }
  if is_training is not None:
    batch_norm_params['is_training'] = is_training

  weights_init = zoo.trunc_normal(stddev)
  regularizer = slim.l2_regularizer(weight_decay)
  depthwise_regularizer = regularizer if regularize_depthwise else None
  with slim.arg_scope([slim.conv2d, slim.separable_conv2d],
                      weights_initializer=weights_init,
                      activation_fn=tf.nn.relu6,
                      normalizer_fn=normalizer_fn), \
       slim.arg_scope([slim.batch_norm], **batch_norm_params), \
       slim.arg_scope([slim.conv2d], weights_regularizer=regularizer), \
       slim.arg_scope([slim.separable_conv2d],
                      weights_regularizer=depthwise_regularizer) as sc:
    return sc
