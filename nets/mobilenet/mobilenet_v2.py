"""MobileNet V2: the V2_DEF table fed to the generic builder.

Sandler et al., "MobileNetV2: Inverted Residuals and Linear Bottlenecks",
https://arxiv.org/abs/1801.04381

    logits, end_points = mobilenet_v2.mobilenet(images, num_classes=1001)
    with slim.arg_scope(mobilenet_v2.training_scope()):
      logits, end_points = mobilenet_v2.mobilenet(images, is_training=True)
"""
import copy

import tensorflow as tf

import slim
from nets import zoo
from nets.mobilenet import conv_blocks as ops
from nets.mobilenet import mobilenet as lib

op = lib.op
expand_input = ops.expand_input_by_factor

__all__ = ['training_scope', 'mobilenet_base', 'mobilenet', 'V2_DEF',
           'mobilenet_v2_140', 'mobilenet_v2_050', 'mobilenet_v2_035',
           'wrapped_partial']

# pyformat: disable
V2_DEF = dict(
    defaults={
        # These batch-norm parameters change the architecture (variables),
        # which is why they live here and not in training_scope.
        (slim.batch_norm,): {'center': True, 'scale': True},
        (slim.conv2d, slim.fully_connected, slim.separable_conv2d): {
            'normalizer_fn': slim.batch_norm, 'activation_fn': tf.nn.relu6
        },
        (ops.expanded_conv,): {
            'expansion_size': expand_input(6),
            'split_expansion': 1,
            'normalizer_fn': slim.batch_norm,
            'residual': True
        },
        (slim.conv2d, slim.separable_conv2d): {'padding': 'SAME'}
    },
    spec=[
        # Shapes for a 224 x 224 input.
        op(slim.conv2d, stride=2, num_outputs=32, kernel_size=[3, 3]),
        # 112 x 112 x 32
        op(ops.expanded_conv,
           expansion_size=expand_input(1, divisible_by=1),
           num_outputs=16),
        # 112 x 112 x 16
        op(ops.expanded_conv, stride=2, num_outputs=24),
        op(ops.expanded_conv, stride=1, num_outputs=24),
        # 56 x 56 x 24
        op(ops.expanded_conv, stride=2, num_outputs=32),
        op(ops.expanded_conv, stride=1, num_outputs=32),
        op(ops.expanded_conv, stride=1, num_outputs=32),
        # 28 x 28 x 32
        op(ops.expanded_conv, stride=2, num_outputs=64),
        op(ops.expanded_conv, stride=1, num_outputs=64),
        op(ops.expanded_conv, stride=1, num_outputs=64),
        op(ops.expanded_conv, stride=1, num_outputs=64),
        # 14 x 14 x 64
        op(ops.expanded_conv, stride=1, num_outputs=96),
        op(ops.expanded_conv, stride=1, num_outputs=96),
        op(ops.expanded_conv, stride=1, num_outputs=96),
        # 14 x 14 x 96
        op(ops.expanded_conv, stride=2, num_outputs=160),
        op(ops.expanded_conv, stride=1, num_outputs=160),
        op(ops.expanded_conv, stride=1, num_outputs=160),
        # 7 x 7 x 160
        op(ops.expanded_conv, stride=1, num_outputs=320),
        # 7 x 7 x 320
        op(slim.conv2d, stride=1, kernel_size=[1, 1], num_outputs=1280)
        # 7 x 7 x 1280
    ],
)
# pyformat: enable


@slim.add_arg_scope
def mobilenet(input_tensor,
              num_classes=1001,
              depth_multiplier=1.0,
              scope='MobilenetV2',
              conv_defs=None,
              finegrain_classification_mode=False,
              min_depth=None,
              divisible_by=None,
              activation_fn=None,
              **kwargs):
  """Creates the MobileNet V2 network.

  Args:
    input_tensor: a [batch, height, width, channels] tensor.
    num_classes: number of classes; 0 or None returns the pooled features.
    depth_multiplier: the width multiplier; channel counts are rounded to
      multiples of `divisible_by` (8) and kept at least `min_depth` (8).
    scope: the variable scope.
    conv_defs: the table to build; defaults to V2_DEF.
    finegrain_classification_mode: keep the last layer (the embedding)
      1280 wide when depth_multiplier < 1; this helps small networks.
    min_depth: the smallest channel count after the multiplier; None keeps
      the arg_scope's (8).
    divisible_by: channel granularity; None keeps the arg_scope's (8).
    activation_fn: replaces the table's activation (relu6) everywhere.
    **kwargs: passed to `mobilenet.mobilenet` (is_training, final_endpoint,
      output_stride, use_explicit_padding, prediction_fn, reuse, base_only,
      ...).

  Returns:
    (logits, end_points).

  Raises:
    ValueError: if the generic `multiplier` is passed instead of
      `depth_multiplier`.
  """
  if conv_defs is None:
    conv_defs = V2_DEF
  if finegrain_classification_mode:
    conv_defs = copy.deepcopy(conv_defs)
    if depth_multiplier < 1:
      conv_defs['spec'][-1].params['num_outputs'] /= depth_multiplier
  if activation_fn:
    conv_defs = copy.deepcopy(conv_defs)
    defaults = conv_defs['defaults']
    conv_defaults = (
        defaults[(slim.conv2d, slim.fully_connected, slim.separable_conv2d)])
    conv_defaults['activation_fn'] = activation_fn

  # Only set what was given, so an outer arg_scope's values stay in force.
  depth_args = {}
  if min_depth is not None:
    depth_args['min_depth'] = min_depth
  if divisible_by is not None:
    depth_args['divisible_by'] = divisible_by

  with slim.arg_scope((lib.depth_multiplier,), **depth_args):
    return lib.mobilenet_with_depth_multiplier(
        'mobilenet_v2', input_tensor, conv_defs, depth_multiplier,
        num_classes=num_classes, scope=scope, **kwargs)


mobilenet.default_image_size = 224


wrapped_partial = zoo.wrapped_partial  # The original's name, kept.


# Width variants. Below 1.0 finegrain_classification_mode keeps the 1280-wide
# embedding layer.
mobilenet_v2_140 = wrapped_partial(mobilenet, depth_multiplier=1.4)
mobilenet_v2_050 = wrapped_partial(mobilenet, depth_multiplier=0.50,
                                   finegrain_classification_mode=True)
mobilenet_v2_035 = wrapped_partial(mobilenet, depth_multiplier=0.35,
                                   finegrain_classification_mode=True)


@slim.add_arg_scope
def mobilenet_base(input_tensor, depth_multiplier=1.0, **kwargs):
  """Creates the base of MobileNet V2 (no pooling and no logits)."""
  return mobilenet(input_tensor, depth_multiplier=depth_multiplier,
                   base_only=True, **kwargs)


def training_scope(**kwargs):
  """The MobileNet training arg_scope (see `mobilenet.training_scope`).

  Args:
    **kwargs: is_training, weight_decay, stddev, dropout_keep_prob,
      bn_decay.

  Returns:
    An arg_scope dict.
  """
  return lib.training_scope(**kwargs)
