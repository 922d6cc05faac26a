"""EfficientNetV2: fused-MBConv early stages, MBConv with squeeze-excite later.

Tan & Le, "EfficientNetV2: Smaller Models and Faster Training",
https://arxiv.org/abs/2104.00298

Computes the function of keras.applications.EfficientNetV2B0 ... L built with
the published weights (`weights='imagenet', classifier_activation=None`):
the network takes RGB pixels in [0, 255] and rescales them itself, with the
constants of Keras' built-in preprocessing (ImageNet mean/std for B0-B3,
[-1, 1] for S/M/L). tools/keras_maps/efficientnet_v2.py maps Keras' layer
names to the variables here.

Each variant is a stage table (`STAGES`) and a width/depth scaling
(`VARIANTS`), expanded to the blocks Keras builds: stage i's block j is
scope and end point 'block<i><a, b, ...>'. A block is

  * fused MBConv: a k x k expansion conv (stride s) then a 1x1 projection;
    without expansion, the k x k conv alone is the projection;
  * MBConv: 1x1 expansion, k x k depthwise conv (stride s), squeeze-excite,
    1x1 projection;

with a shortcut (and stochastic depth in training) when it keeps the
resolution and the width.

    with slim.arg_scope(efficientnet_v2_arg_scope()):
      logits, end_points = efficientnet_v2_s(images, num_classes=1000)
"""
import collections
import math

import numpy as np
import tensorflow as tf

import slim
from nets import classifier_heads
from nets import zoo

tf1 = tf.compat.v1

__all__ = ['Stage', 'STAGES', 'Variant', 'VARIANTS', 'block_plan',
           'efficientnet_v2_base', 'efficientnet_v2',
           'efficientnet_v2_b0', 'efficientnet_v2_b1', 'efficientnet_v2_b2',
           'efficientnet_v2_b3', 'efficientnet_v2_s', 'efficientnet_v2_m',
           'efficientnet_v2_l', 'efficientnet_v2_arg_scope']

# One stage of identical blocks, before width/depth scaling. `fused`: fused
# MBConv (k x k expansion) instead of MBConv (1x1 expansion + depthwise);
# `se_ratio`: the squeeze width as a fraction of the block's input width,
# 0 for none.
Stage = collections.namedtuple(
    'Stage', ['fused', 'repeats', 'in_depth', 'out_depth', 'expand_ratio',
              'stride', 'se_ratio', 'kernel'])

_B_STAGES = (  # B0-B3, scaled by VARIANTS.
    Stage(True, 1, 32, 16, 1, 1, 0, 3),
    Stage(True, 2, 16, 32, 4, 2, 0, 3),
    Stage(True, 2, 32, 48, 4, 2, 0, 3),
    Stage(False, 3, 48, 96, 4, 2, 0.25, 3),
    Stage(False, 5, 96, 112, 6, 1, 0.25, 3),
    Stage(False, 8, 112, 192, 6, 2, 0.25, 3),
)

STAGES = {
    'b': _B_STAGES,
    's': (
        Stage(True, 2, 24, 24, 1, 1, 0, 3),
        Stage(True, 4, 24, 48, 4, 2, 0, 3),
        Stage(True, 4, 48, 64, 4, 2, 0, 3),
        Stage(False, 6, 64, 128, 4, 2, 0.25, 3),
        Stage(False, 9, 128, 160, 6, 1, 0.25, 3),
        Stage(False, 15, 160, 256, 6, 2, 0.25, 3),
    ),
    'm': (
        Stage(True, 3, 24, 24, 1, 1, 0, 3),
        Stage(True, 5, 24, 48, 4, 2, 0, 3),
        Stage(True, 5, 48, 80, 4, 2, 0, 3),
        Stage(False, 7, 80, 160, 4, 2, 0.25, 3),
        Stage(False, 14, 160, 176, 6, 1, 0.25, 3),
        Stage(False, 18, 176, 304, 6, 2, 0.25, 3),
        Stage(False, 5, 304, 512, 6, 1, 0.25, 3),
    ),
    'l': (
        Stage(True, 4, 32, 32, 1, 1, 0, 3),
        Stage(True, 7, 32, 64, 4, 2, 0, 3),
        Stage(True, 7, 64, 96, 4, 2, 0, 3),
        Stage(False, 10, 96, 192, 4, 2, 0.25, 3),
        Stage(False, 19, 192, 224, 6, 1, 0.25, 3),
        Stage(False, 25, 224, 384, 6, 2, 0.25, 3),
        Stage(False, 7, 384, 640, 6, 1, 0.25, 3),
    ),
}

# `stages`: a STAGES key; `width`, `depth`: the channel and repeat
# multipliers; `input_scaling`: 'imagenet' ((x / 255 - mean) / std, the B
# variants) or 'signed' (x / 128 - 1).
Variant = collections.namedtuple(
    'Variant', ['stages', 'width', 'depth', 'image_size', 'input_scaling'])

VARIANTS = {
    'b0': Variant('b', 1.0, 1.0, 224, 'imagenet'),
    'b1': Variant('b', 1.0, 1.1, 240, 'imagenet'),
    'b2': Variant('b', 1.1, 1.2, 260, 'imagenet'),
    'b3': Variant('b', 1.2, 1.4, 300, 'imagenet'),
    's': Variant('s', 1.0, 1.0, 384, 'signed'),
    'm': Variant('m', 1.0, 1.0, 480, 'signed'),
    'l': Variant('l', 1.0, 1.0, 480, 'signed'),
}

_IMAGENET_MEAN = (0.485, 0.456, 0.406)
_IMAGENET_STD = (0.229, 0.224, 0.225)
_DEPTH_DIVISOR = 8
_TOP_DEPTH = 1280

# One block as built: its scope, input/output widths (Keras' arithmetic,
# which sizes the expansion and the squeeze from `in_depth`), stride and
# the drop-path rate of its shortcut.
Block = collections.namedtuple(
    'Block', ['name', 'fused', 'in_depth', 'out_depth', 'expand_ratio',
              'stride', 'se_ratio', 'kernel', 'drop_rate'])


def _round_depth(depth, width):
  """Keras' `round_filters`: scaled, to the nearest multiple of 8."""
  depth *= width
  rounded = int(depth + _DEPTH_DIVISOR / 2) // _DEPTH_DIVISOR * _DEPTH_DIVISOR
  return int(max(_DEPTH_DIVISOR, rounded))


def block_plan(variant, drop_path_rate=0.2):
  """The blocks of `variant`, in order.

  Stochastic depth follows Keras' schedule: block b (counting from 0 over
  the whole network) drops its branch at rate drop_path_rate * b / n, where
  n is the number of blocks of the unscaled table. Keras counts n before
  the depth multiplier, so B1-B3's last blocks exceed drop_path_rate; kept,
  since it is the schedule Keras trains with.

  Args:
    variant: a VARIANTS key.
    drop_path_rate: the rate the schedule grows towards.

  Returns:
    A list of Block.
  """
  spec = VARIANTS[variant]
  stages = STAGES[spec.stages]
  unscaled_count = float(sum(stage.repeats for stage in stages))
  blocks = []
  for i, stage in enumerate(stages):
    in_depth = _round_depth(stage.in_depth, spec.width)
    out_depth = _round_depth(stage.out_depth, spec.width)
    for j in range(int(math.ceil(spec.depth * stage.repeats))):
      blocks.append(Block(
          name=f'block{i + 1}{chr(ord("a") + j)}', fused=stage.fused,
          in_depth=in_depth if j == 0 else out_depth, out_depth=out_depth,
          expand_ratio=stage.expand_ratio, stride=stage.stride if j == 0 else 1,
          se_ratio=stage.se_ratio, kernel=stage.kernel,
          drop_rate=drop_path_rate * len(blocks) / unscaled_count))
  return blocks


def _stem_depth(variant):
  spec = VARIANTS[variant]
  return _round_depth(STAGES[spec.stages][0].in_depth, spec.width)


def _top_depth(variant):
  return _round_depth(_TOP_DEPTH, VARIANTS[variant].width)


def _end_point_names(variant):
  return (['stem'] + [block.name for block in block_plan(variant)] +
          ['top'])


def _scale_input(images, input_scaling):
  """Pixels in [0, 255] -> the range the published weights expect (Keras'
  Rescaling and Normalization layers, as constants)."""
  with tf1.name_scope('input_scaling'):
    dtype = images.dtype
    if input_scaling == 'signed':
      return images * tf.constant(1. / 128., dtype) - tf.constant(1., dtype)
    mean = np.array(_IMAGENET_MEAN, np.float32)
    std = np.array(_IMAGENET_STD, np.float32)
    net = images * tf.constant(1. / 255., dtype)
    return (net - tf.constant(mean, dtype)) / tf.constant(std, dtype)


def _squeeze_excite(net, squeeze_depth):
  """Rescales channels by a sigmoid gate of their means ('squeeze_excite')."""
  with tf1.variable_scope('squeeze_excite'):
    gate = tf.reduce_mean(net, axis=[1, 2], keepdims=True, name='squeeze')
    gate = slim.conv2d(gate, squeeze_depth, [1, 1], normalizer_fn=None,
                       scope='reduce')
    gate = slim.conv2d(gate, net.shape[-1], [1, 1], normalizer_fn=None,
                       activation_fn=tf.sigmoid, scope='expand')
    return tf.multiply(net, gate, name='excite')


def _block(net, block, is_training):
  """One (fused) MBConv block, in the current variable scope."""
  inputs = net
  expanded = block.in_depth * block.expand_ratio
  if block.fused and block.expand_ratio == 1:
    # The k x k conv is the projection and keeps its activation.
    net = slim.conv2d(net, block.out_depth, block.kernel, stride=block.stride,
                      scope='project_conv')
  else:
    if block.fused:
      net = slim.conv2d(net, expanded, block.kernel, stride=block.stride,
                        scope='expand_conv')
    else:
      if block.expand_ratio != 1:
        net = slim.conv2d(net, expanded, [1, 1], scope='expand_conv')
      net = slim.separable_conv2d(net, None, block.kernel, depth_multiplier=1,
                                  stride=block.stride, scope='depthwise_conv')
    if block.se_ratio > 0:
      net = _squeeze_excite(net, max(1, int(block.in_depth * block.se_ratio)))
    net = slim.conv2d(net, block.out_depth, [1, 1], activation_fn=None,
                      scope='project_conv')
  if block.stride == 1 and block.in_depth == block.out_depth:
    if block.drop_rate > 0:
      net = slim.drop_path(net, block.drop_rate, is_training=is_training,
                           scope='drop_path')
    net = tf.add(net, inputs, name='add')
  return net


def efficientnet_v2_base(inputs,
                         variant,
                         final_endpoint='top',
                         drop_path_rate=0.2,
                         is_training=True,
                         scope=None):
  """The EfficientNetV2 body, from pixels up to `final_endpoint`.

  Args:
    inputs: [batch, height, width, 3] RGB pixels in [0, 255].
    variant: a VARIANTS key ('b0' ... 'b3', 's', 'm', 'l').
    final_endpoint: 'stem', a block ('block1a', ..., see `block_plan`) or
      'top' (the last 1x1 conv, before pooling).
    drop_path_rate: the stochastic-depth rate of the last blocks (Keras'
      `drop_connect_rate`; see `block_plan`); active only in training.
    is_training: whether stochastic depth drops branches.
    scope: optional variable scope (default 'efficientnet_v2').

  Returns:
    (net, end_points): the output of `final_endpoint` and a dict of every
    end point built.

  Raises:
    ValueError: for an unknown variant or final_endpoint.
  """
  _check_variant(variant)
  zoo.check_final_endpoint(final_endpoint, _end_point_names(variant),
                           'efficientnet_v2_base')
  with tf1.variable_scope(scope, 'efficientnet_v2', [inputs]):
    return _body(inputs, variant, final_endpoint, drop_path_rate,
                 is_training)


def _check_variant(variant):
  if variant not in VARIANTS:
    raise ValueError(f'efficientnet_v2: unknown variant {variant!r}. Valid '
                     f'values: {", ".join(VARIANTS)}.')


def _body(inputs, variant, final_endpoint, drop_path_rate, is_training):
  """The body in the current variable scope: (net, end_points)."""
  end_points = zoo.EndPoints(final_endpoint=final_endpoint)
  net = _scale_input(inputs, VARIANTS[variant].input_scaling)
  net = slim.conv2d(net, _stem_depth(variant), [3, 3], stride=2,
                    scope='stem')
  if end_points.add('stem', net):
    return net, end_points
  for block in block_plan(variant, drop_path_rate):
    with tf1.variable_scope(block.name):
      net = _block(net, block, is_training)
    if end_points.add(block.name, net):
      return net, end_points
  net = slim.conv2d(net, _top_depth(variant), [1, 1], scope='top')
  end_points.add('top', net)
  return net, end_points


def efficientnet_v2(inputs,
                    num_classes=1000,
                    is_training=True,
                    variant='s',
                    dropout_keep_prob=0.8,
                    drop_path_rate=0.2,
                    spatial_squeeze=True,
                    prediction_fn=slim.softmax,
                    reuse=None,
                    scope=None):
  """The EfficientNetV2 classifier: body, global average pool, dropout, logits.

  Args:
    inputs: [batch, height, width, 3] RGB pixels in [0, 255], any size
      from 32 up.
    num_classes: number of classes; 0 or None returns the pooled features
      ('global_pool', [batch, 1, 1, channels]).
    is_training: build the training graph (batch-norm statistics, dropout,
      stochastic depth).
    variant: a VARIANTS key.
    dropout_keep_prob: the fraction of pooled features kept before the
      logits (Keras' `dropout_rate` is 1 - this).
    drop_path_rate: see `efficientnet_v2_base`.
    spatial_squeeze: squeeze the logits to [batch, num_classes].
    prediction_fn: turns logits into 'Predictions'.
    reuse: whether to reuse the network's variables.
    scope: the variable scope (default 'efficientnet_v2_<variant>').

  Returns:
    (logits, end_points); logits are '<scope>/Logits/SpatialSqueeze'.

  Raises:
    ValueError: if `inputs` is not of rank 4, or for an unknown variant.
  """
  input_shape = inputs.get_shape().as_list()
  if len(input_shape) != 4:
    raise ValueError('inputs must be of rank 4 [batch, height, width, '
                     f'channels]. Received shape: {input_shape}.')
  _check_variant(variant)
  with tf1.variable_scope(scope, f'efficientnet_v2_{variant}', [inputs],
                          reuse=reuse), \
       slim.arg_scope([slim.batch_norm, slim.dropout],
                      is_training=is_training):
    net, end_points = _body(inputs, variant, 'top', drop_path_rate,
                            is_training)
    # Keras' DENSE_KERNEL_INITIALIZER for the logits.
    with tf1.variable_scope('Logits'), slim.arg_scope(
        [slim.conv2d], weights_initializer=tf1.variance_scaling_initializer(
            scale=1. / 3., mode='fan_out', distribution='uniform')):
      net = classifier_heads.conv_logits(
          net, end_points, num_classes, None, global_pool=True,
          dropout_keep_prob=dropout_keep_prob,
          spatial_squeeze=spatial_squeeze, dropout_scope='Dropout')
    if num_classes and prediction_fn:
      end_points['Predictions'] = prediction_fn(net, scope='Predictions')
  return net, end_points


def _variant_fn(variant):
  """efficientnet_v2 for one variant, with its default image size."""
  network = zoo.wrapped_partial(efficientnet_v2, variant=variant,
                                scope=f'efficientnet_v2_{variant}')
  network.default_image_size = VARIANTS[variant].image_size
  return network


efficientnet_v2.default_image_size = VARIANTS['s'].image_size
efficientnet_v2_b0 = _variant_fn('b0')
efficientnet_v2_b1 = _variant_fn('b1')
efficientnet_v2_b2 = _variant_fn('b2')
efficientnet_v2_b3 = _variant_fn('b3')
efficientnet_v2_s = _variant_fn('s')
efficientnet_v2_m = _variant_fn('m')
efficientnet_v2_l = _variant_fn('l')


def efficientnet_v2_arg_scope(is_training=True,
                              weight_decay=0.00001,
                              batch_norm_decay=0.9,
                              batch_norm_epsilon=0.001,
                              batch_norm_updates_collections=(
                                  tf1.GraphKeys.UPDATE_OPS)):
  """The EfficientNetV2 arg_scope: Keras' initializers, batch norm and swish.

  Args:
    is_training: batch-norm mode; None leaves it to the network.
    weight_decay: L2 weight decay of every conv kernel (depthwise too, as
      the paper's training does).
    batch_norm_decay: the moving-average decay (Keras' momentum, 0.9).
    batch_norm_epsilon: the batch-norm epsilon (Keras' default, 0.001).
    batch_norm_updates_collections: where batch norm puts its update ops.

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
  # Keras' CONV_KERNEL_INITIALIZER (depthwise too).
  conv_init = tf1.variance_scaling_initializer(
      scale=2.0, mode='fan_out', distribution='truncated_normal')
  regularizer = slim.l2_regularizer(weight_decay)
  with slim.arg_scope([slim.conv2d, slim.separable_conv2d],
                      weights_initializer=conv_init,
                      weights_regularizer=regularizer,
                      activation_fn=tf.nn.silu,
                      normalizer_fn=slim.batch_norm,
                      padding='SAME'), \
       slim.arg_scope([slim.batch_norm], **batch_norm_params) as sc:
    return sc
