"""EfficientNet B0-B7: MBConv blocks with squeeze-excite, scaled together.

Tan & Le, "EfficientNet: Rethinking Model Scaling for Convolutional Neural
Networks", ICML 2019, https://arxiv.org/abs/1905.11946

The function of `keras.applications.EfficientNetB0` ... `B7` built with
`weights='imagenet'`, so that the published Keras weights, imported by
`tools/import_keras_weights.py`, give the Keras logits. The network takes
pixels in [0, 255] (Keras' `preprocess_input` is the identity) and
normalises them itself with ImageNet's mean and standard deviation: Keras'
`Rescaling(1/255)`, its `Normalization` layer (whose published variance is
the standard deviation) and the extra `Rescaling` that `weights='imagenet'`
adds, as one constant affine map.

One stage table (`BLOCKS`, B0's) is scaled per variant by a width and a
depth coefficient (`VARIANTS`), as Keras and the paper do. Block `i`'s
`j`-th repeat is scope and end point `block<i><letter j>` ('block1a',
'block2b', ...), Keras' names; within it `expand_conv`, `dwconv`,
`se_reduce`, `se_expand`, `project_conv` and `drop_path`. Strided layers pad
as Keras' `correct_pad` does and convolve 'VALID', so odd and even inputs
give the Keras shapes.

    with slim.arg_scope(efficientnet_arg_scope()):
      logits, end_points = efficientnet_b0(images, num_classes=1000,
                                           is_training=False)

Stochastic depth ("drop connect"): the block with index b of n drops its
residual branch with rate `drop_connect_rate * b / n` in training (Keras'
schedule, 0.2 published), through `slim.drop_path`.
"""
import collections
import math

import tensorflow as tf

import slim
from nets import classifier_heads
from nets import zoo

tf1 = tf.compat.v1

__all__ = ['BlockArgs', 'BLOCKS', 'VARIANTS', 'efficientnet_base',
           'efficientnet', 'efficientnet_arg_scope', 'efficientnet_b0',
           'efficientnet_b1', 'efficientnet_b2', 'efficientnet_b3',
           'efficientnet_b4', 'efficientnet_b5', 'efficientnet_b6',
           'efficientnet_b7']

# One stage of MBConv blocks, at B0's width and depth.
BlockArgs = collections.namedtuple(
    'BlockArgs', ['kernel_size', 'repeats', 'filters_in', 'filters_out',
                  'expand_ratio', 'strides', 'se_ratio'])

BLOCKS = (
    BlockArgs(3, 1, 32, 16, 1, 1, 0.25),    # 112 x 112 x 16
    BlockArgs(3, 2, 16, 24, 6, 2, 0.25),    # 56 x 56 x 24
    BlockArgs(5, 2, 24, 40, 6, 2, 0.25),    # 28 x 28 x 40
    BlockArgs(3, 3, 40, 80, 6, 2, 0.25),    # 14 x 14 x 80
    BlockArgs(5, 3, 80, 112, 6, 1, 0.25),   # 14 x 14 x 112
    BlockArgs(5, 4, 112, 192, 6, 2, 0.25),  # 7 x 7 x 192
    BlockArgs(3, 1, 192, 320, 6, 1, 0.25),  # 7 x 7 x 320
)

# The compound scaling of each member.
Variant = collections.namedtuple(
    'Variant', ['width_coefficient', 'depth_coefficient', 'default_size',
                'dropout_rate'])

VARIANTS = {
    'efficientnet_b0': Variant(1.0, 1.0, 224, 0.2),
    'efficientnet_b1': Variant(1.0, 1.1, 240, 0.2),
    'efficientnet_b2': Variant(1.1, 1.2, 260, 0.3),
    'efficientnet_b3': Variant(1.2, 1.4, 300, 0.3),
    'efficientnet_b4': Variant(1.4, 1.8, 380, 0.4),
    'efficientnet_b5': Variant(1.6, 2.2, 456, 0.4),
    'efficientnet_b6': Variant(1.8, 2.6, 528, 0.5),
    'efficientnet_b7': Variant(2.0, 3.1, 600, 0.5),
}

DEPTH_DIVISOR = 8
STEM_FILTERS = 32
TOP_FILTERS = 1280
# ImageNet's channel statistics, of pixels scaled to [0, 1].
IMAGENET_MEAN_RGB = (0.485, 0.456, 0.406)
IMAGENET_STDDEV_RGB = (0.229, 0.224, 0.225)


def round_filters(filters, width_coefficient, divisor=DEPTH_DIVISOR):
  """Keras' channel rule: scale, round to a multiple of `divisor`, and never
  lose more than 10% to the rounding."""
  filters *= width_coefficient
  new_filters = max(divisor, int(filters + divisor / 2) // divisor * divisor)
  if new_filters < 0.9 * filters:
    new_filters += divisor
  return int(new_filters)


def round_repeats(repeats, depth_coefficient):
  """Keras' depth rule: the scaled repeat count, rounded up."""
  return int(math.ceil(depth_coefficient * repeats))


# One MBConv block as built: its scope and the arguments of `mbconv_block`.
_Block = collections.namedtuple(
    '_Block', ['name', 'kernel_size', 'filters_in', 'filters_out',
               'expand_ratio', 'strides', 'se_ratio', 'drop_rate'])


def expand_blocks(width_coefficient, depth_coefficient, drop_connect_rate,
                  blocks=BLOCKS):
  """The stage table expanded to one `_Block` per MBConv block, in order.

  The first block of a stage takes its stride and input width; the
  repeats are stride 1 at the output width. Block b of n drops its branch
  at `drop_connect_rate * b / n`.
  """
  total = sum(round_repeats(args.repeats, depth_coefficient)
              for args in blocks)
  expanded = []
  for i, args in enumerate(blocks):
    filters_in = round_filters(args.filters_in, width_coefficient)
    filters_out = round_filters(args.filters_out, width_coefficient)
    for j in range(round_repeats(args.repeats, depth_coefficient)):
      expanded.append(_Block(
          name=f'block{i + 1}{chr(ord("a") + j)}',
          kernel_size=args.kernel_size,
          filters_in=filters_in if j == 0 else filters_out,
          filters_out=filters_out,
          expand_ratio=args.expand_ratio,
          strides=args.strides if j == 0 else 1,
          se_ratio=args.se_ratio,
          drop_rate=drop_connect_rate * len(expanded) / total))
  return expanded


def correct_pad(inputs, kernel_size):
  """Zero-pads for a strided 'VALID' convolution as Keras' `correct_pad`:
  kernel_size // 2 after, one less before on an even (or unknown) side."""
  pads = []
  for size in inputs.get_shape().as_list()[1:3]:
    adjust = 1 if size is None else 1 - size % 2
    pads.append([kernel_size // 2 - adjust, kernel_size // 2])
  return tf.pad(inputs, [[0, 0]] + pads + [[0, 0]])


def normalize_pixels(images):
  """[0, 255] pixels -> (pixels / 255 - mean) / stddev, per RGB channel.

  Keras computes it as Rescaling(1/255), Normalization with variance set to
  the stddev, and Rescaling(1/sqrt(stddev)); the product is this map.
  """
  scale = [1.0 / (255.0 * s) for s in IMAGENET_STDDEV_RGB]
  offset = [-m / s for m, s in zip(IMAGENET_MEAN_RGB, IMAGENET_STDDEV_RGB)]
  with tf1.name_scope('normalize_pixels'):
    return (images * tf.constant(scale, images.dtype)
            + tf.constant(offset, images.dtype))


def squeeze_excite(net, filters_se, scope='se'):
  """Squeeze-and-excite: channel gates from the global mean, two 1x1 convs
  with biases (swish, then sigmoid), multiplied into `net`."""
  with tf1.name_scope(scope):
    squeezed = tf.reduce_mean(net, [1, 2], keepdims=True, name='squeeze')
  with slim.arg_scope([slim.conv2d], normalizer_fn=None,
                      biases_initializer=tf1.zeros_initializer()):
    gates = slim.conv2d(squeezed, filters_se, [1, 1], scope='se_reduce')
    gates = slim.conv2d(gates, int(net.get_shape()[-1]), [1, 1],
                        activation_fn=tf.sigmoid, scope='se_expand')
  return tf.multiply(net, gates, name='se_excite')


def mbconv_block(inputs, block, is_training):
  """One inverted-residual block: [1x1 expand] > depthwise > SE > 1x1
  project (linear) [> drop path + identity shortcut].

  Args:
    inputs: [batch, height, width, block.filters_in].
    block: a `_Block`.
    is_training: whether the drop path is active.

  Returns:
    [batch, height / strides, width / strides, block.filters_out].
  """
  with tf1.variable_scope(block.name):
    net = inputs
    filters = block.filters_in * block.expand_ratio
    if block.expand_ratio != 1:
      net = slim.conv2d(net, filters, [1, 1], scope='expand_conv')
    if block.strides == 2:
      net = correct_pad(net, block.kernel_size)
      padding = 'VALID'
    else:
      padding = 'SAME'
    net = slim.separable_conv2d(net, None, block.kernel_size,
                                depth_multiplier=1, stride=block.strides,
                                padding=padding, scope='dwconv')
    if 0 < block.se_ratio <= 1:
      net = squeeze_excite(net, max(1, int(block.filters_in * block.se_ratio)))
    net = slim.conv2d(net, block.filters_out, [1, 1], activation_fn=None,
                      scope='project_conv')
    if block.strides == 1 and block.filters_in == block.filters_out:
      if block.drop_rate > 0:
        net = slim.drop_path(net, block.drop_rate, is_training=is_training,
                             scope='drop_path')
      net = tf.add(net, inputs, name='add')
    return net


def _end_point_names(blocks):
  return ['stem'] + [block.name for block in blocks] + ['top']


def efficientnet_base(inputs,
                      width_coefficient=1.0,
                      depth_coefficient=1.0,
                      drop_connect_rate=0.2,
                      is_training=False,
                      final_endpoint='top',
                      blocks=BLOCKS,
                      scope=None):
  """The EfficientNet body: normalisation, stem, MBConv blocks, top conv.

  Args:
    inputs: [batch, height, width, 3] pixels in [0, 255].
    width_coefficient: scales every layer's channels (`round_filters`).
    depth_coefficient: scales every stage's repeats (`round_repeats`).
    drop_connect_rate: the drop-path rate of the last block (training only).
    is_training: whether the drop paths are active.
    final_endpoint: 'stem', a block ('block1a' ... ) or 'top'.
    blocks: the stage table; B0's by default.
    scope: optional variable scope (default 'efficientnet').

  Returns:
    (net, end_points): the output of `final_endpoint` and the end points
    built ('stem', 'block1a', ..., 'top').

  Raises:
    ValueError: for an unknown `final_endpoint`.
  """
  expanded = expand_blocks(width_coefficient, depth_coefficient,
                           drop_connect_rate, blocks)
  zoo.check_final_endpoint(final_endpoint, _end_point_names(expanded),
                           'efficientnet_base')
  with tf1.variable_scope(scope, 'efficientnet', [inputs]):
    return _body(inputs, expanded, width_coefficient, is_training,
                 final_endpoint)


def _body(inputs, expanded, width_coefficient, is_training,
          final_endpoint='top'):
  """`efficientnet_base` in the current variable scope."""
  end_points = zoo.EndPoints(final_endpoint=final_endpoint)
  net = normalize_pixels(inputs)
  with tf1.variable_scope('stem'):
    net = slim.conv2d(correct_pad(net, 3),
                      round_filters(STEM_FILTERS, width_coefficient), [3, 3],
                      stride=2, padding='VALID', scope='conv')
  if end_points.add('stem', net):
    return net, end_points
  for block in expanded:
    net = mbconv_block(net, block, is_training)
    if end_points.add(block.name, net):
      return net, end_points
  with tf1.variable_scope('top'):
    net = slim.conv2d(net, round_filters(TOP_FILTERS, width_coefficient),
                      [1, 1], scope='conv')
  end_points.add('top', net)
  return net, end_points


def efficientnet(inputs,
                 num_classes=1000,
                 is_training=True,
                 width_coefficient=1.0,
                 depth_coefficient=1.0,
                 dropout_rate=0.2,
                 drop_connect_rate=0.2,
                 default_size=224,
                 prediction_fn=slim.softmax,
                 spatial_squeeze=True,
                 global_pool=True,
                 reuse=None,
                 scope='efficientnet'):
  """An EfficientNet classifier (one member is a width/depth pair).

  Args:
    inputs: [batch, height, width, 3] pixels in [0, 255].
    num_classes: number of classes; 0 or None returns the pooled features
      (end point 'global_pool', or 'AvgPool_1a' without global_pool).
    is_training: build the training graph (batch norm, dropout, drop path).
    width_coefficient: scales every layer's channels.
    depth_coefficient: scales every stage's repeats.
    dropout_rate: the dropout before the logits (training only).
    drop_connect_rate: the drop-path rate of the last block (training only).
    default_size: the input size the member is built for; without
      global_pool the head pools over its final feature map
      (default_size / 32, shrunk to smaller maps).
    prediction_fn: turns logits into 'Predictions'.
    spatial_squeeze: squeeze the logits to [batch, num_classes].
    global_pool: average over the whole feature map (Keras'
      GlobalAveragePooling2D, any input size); False pools a fixed window.
    reuse: whether to reuse the network's variables.
    scope: the variable scope.

  Returns:
    (logits, end_points): logits [batch, num_classes] (op
    '<scope>/Logits/SpatialSqueeze'), or the pooled features; end points
    'stem', 'block1a' ... , 'top', 'global_pool', 'PreLogits', 'Logits',
    'Predictions'.

  Raises:
    ValueError: if `inputs` is not of rank 4.
  """
  input_shape = inputs.get_shape().as_list()
  if len(input_shape) != 4:
    raise ValueError('inputs must be of rank 4 [batch, height, width, '
                     f'channels]. Received shape: {input_shape}.')
  with tf1.variable_scope(scope, 'efficientnet', [inputs], reuse=reuse), \
       slim.arg_scope([slim.batch_norm, slim.dropout],
                      is_training=is_training):
    net, end_points = _body(
        inputs, expand_blocks(width_coefficient, depth_coefficient,
                              drop_connect_rate),
        width_coefficient, is_training)
    with tf1.variable_scope('Logits'), \
         slim.arg_scope([slim.conv2d], weights_initializer=_DENSE_INIT):
      pool_size = [default_size // 32] * 2
      net = classifier_heads.conv_logits(
          net, end_points, num_classes, pool_size, global_pool=global_pool,
          dropout_keep_prob=1.0 - dropout_rate,
          spatial_squeeze=spatial_squeeze, pool_scope='AvgPool_1a',
          dropout_scope='Dropout', logits_scope='Conv2d_1c_1x1')
    if num_classes and prediction_fn:
      end_points['Predictions'] = prediction_fn(net, scope='Predictions')
  return net, end_points


# Keras' initialiser of the classifier (a Dense layer there).
_DENSE_INIT = tf1.variance_scaling_initializer(
    scale=1.0 / 3.0, mode='fan_out', distribution='uniform')


def _member(name):
  """The network function of member `name` ('efficientnet_b0')."""
  variant = VARIANTS[name]
  member = zoo.wrapped_partial(
      efficientnet, width_coefficient=variant.width_coefficient,
      depth_coefficient=variant.depth_coefficient,
      dropout_rate=variant.dropout_rate, default_size=variant.default_size,
      scope=name)
  member.default_image_size = variant.default_size
  return member


efficientnet_b0 = _member('efficientnet_b0')
efficientnet_b1 = _member('efficientnet_b1')
efficientnet_b2 = _member('efficientnet_b2')
efficientnet_b3 = _member('efficientnet_b3')
efficientnet_b4 = _member('efficientnet_b4')
efficientnet_b5 = _member('efficientnet_b5')
efficientnet_b6 = _member('efficientnet_b6')
efficientnet_b7 = _member('efficientnet_b7')


def swish(x):
  """x * sigmoid(x), Keras' 'swish' (TensorFlow's silu)."""
  return tf.nn.silu(x)


def efficientnet_arg_scope(weight_decay=1e-5,
                           batch_norm_decay=0.99,
                           batch_norm_epsilon=1e-3,
                           activation_fn=swish):
  """The EfficientNet arg_scope: Keras' initialisers and batch norm.

  Convolutions are followed by batch norm (so have no bias) and swish
  (the SE convolutions and the logits override that); their weights start
  as Keras' VarianceScaling(2.0, fan_out, truncated normal). The network
  gives its logits Keras' Dense initialiser itself.

  Args:
    weight_decay: L2 weight decay of the conv and depthwise weights (the
      paper's 1e-5; Keras trains without).
    batch_norm_decay: the moving-average decay (Keras' momentum 0.99).
    batch_norm_epsilon: Keras' 1e-3.
    activation_fn: the activation after each batch norm.

  Returns:
    An arg_scope dict to re-enter with `slim.arg_scope(...)`.
  """
  conv_init = tf1.variance_scaling_initializer(
      scale=2.0, mode='fan_out', distribution='truncated_normal')
  regularizer = slim.l2_regularizer(weight_decay)
  with slim.arg_scope([slim.conv2d, slim.separable_conv2d],
                      weights_initializer=conv_init,
                      weights_regularizer=regularizer,
                      activation_fn=activation_fn,
                      normalizer_fn=slim.batch_norm), \
       slim.arg_scope([slim.batch_norm], center=True, scale=True,
                      decay=batch_norm_decay,
                      epsilon=batch_norm_epsilon) as sc:
    return sc
