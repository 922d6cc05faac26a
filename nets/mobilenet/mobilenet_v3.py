"""MobileNet V3 and MobileNet-EdgeTPU: conv-def tables for the generic builder.

Howard et al., "Searching for MobileNetV3", https://arxiv.org/abs/1905.02244
MobileNet-EdgeTPU: https://ai.googleblog.com/2019/08/efficientnet-edgetpu

Each variant is a table (V3_LARGE, V3_SMALL, their minimalistic forms
without squeeze-excite, hard-swish or 5x5 kernels, and V3_EDGETPU with
"fused" k x k expansions instead of depthwise convolutions in its early
blocks) built by `mobilenet.mobilenet_base` through `conv_blocks`.
"""
import copy
import functools

import numpy as np
import tensorflow as tf

import slim
from nets import zoo
from nets.mobilenet import conv_blocks as ops
from nets.mobilenet import mobilenet as lib

tf1 = tf.compat.v1

op = lib.op
expand_input = ops.expand_input_by_factor

__all__ = ['training_scope', 'mobilenet', 'mobilenet_base', 'V3_LARGE',
           'V3_SMALL', 'V3_LARGE_MINIMALISTIC', 'V3_SMALL_MINIMALISTIC',
           'V3_EDGETPU', 'large', 'small', 'large_minimalistic',
           'small_minimalistic', 'edge_tpu', 'edge_tpu_075',
           'V3_LARGE_DETECTION', 'V3_SMALL_DETECTION', 'hard_swish',
           'reduce_to_1x1', 'mbv3_op', 'mbv3_op_se', 'mbv3_fused',
           'wrapped_partial']

# Squeeze-excite as MobileNet v3 uses it: a quarter-width squeeze with relu
# and a hard-sigmoid gate. The original writes 1/6 as 0.16667 here.
squeeze_excite = functools.partial(
    ops.squeeze_excite, squeeze_factor=4,
    inner_activation_fn=tf.nn.relu,
    gating_fn=lambda x: tf.nn.relu6(x + 3) * 0.16667)

# The same, as an `expansion_transform` of expanded_conv.
_se4 = lambda expansion_tensor, input_tensor: squeeze_excite(expansion_tensor)


def hard_swish(x):
  """x * relu6(x + 3) / 6, in a 'hard_swish' name scope."""
  with tf1.name_scope('hard_swish'):
    return x * tf.nn.relu6(x + np.float32(3)) * np.float32(1. / 6.)


def reduce_to_1x1(input_tensor, default_size=7, **kwargs):
  """Average-pools a square feature map to 1x1 (a 7x7 kernel if not square).

  Args:
    input_tensor: a [batch, height, width, channels] tensor.
    default_size: the kernel when the spatial size is unknown or not square.
    **kwargs: passed to `slim.avg_pool2d` (stride, padding, ...); `rate`
      is ignored.

  Returns:
    The pooled tensor.
  """
  # mobilenet_base passes an atrous `rate` past `output_stride`; it means
  # nothing to a pool that covers the map (the original failed here).
  kwargs.pop('rate', None)
  h, w = input_tensor.shape.as_list()[1:3]
  if h is not None and w == h:
    k = [h, h]
  else:
    k = [default_size, default_size]
  return slim.avg_pool2d(input_tensor, kernel_size=k, **kwargs)


def mbv3_op(ef, n, k, s=1, act=tf.nn.relu, se=None, **kwargs):
  """A MobileNet v3 inverted-residual block.

  Args:
    ef: the expansion factor (expansion = input channels * ef, rounded).
    n: the output channels.
    k: the depthwise kernel size.
    s: the stride.
    act: the inner activation (expansion and depthwise).
    se: the expansion transform (squeeze-excite), or None.
    **kwargs: more `expanded_conv` arguments.

  Returns:
    A spec entry.
  """
  return op(ops.expanded_conv,
            expansion_size=expand_input(ef),
            kernel_size=(k, k),
            stride=s,
            num_outputs=n,
            inner_activation_fn=act,
            expansion_transform=se,
            **kwargs)


def mbv3_fused(ef, n, k, s=1, **kwargs):
  """A "fused" block: a k x k (strided) expansion, no depthwise, projection.

  Args:
    ef: the expansion factor.
    n: the output channels.
    k: the expansion's kernel size.
    s: the stride.
    **kwargs: more `expanded_conv` arguments.

  Returns:
    A spec entry.
  """
  expansion_fn = functools.partial(slim.conv2d, kernel_size=k, stride=s)
  return op(ops.expanded_conv,
            expansion_size=expand_input(ef),
            kernel_size=(k, k),
            stride=s,
            num_outputs=n,
            expansion_fn=expansion_fn,
            depthwise_location=None,
            **kwargs)


mbv3_op_se = functools.partial(mbv3_op, se=_se4)


DEFAULTS = {
    (ops.expanded_conv,): dict(normalizer_fn=slim.batch_norm, residual=True),
    (slim.conv2d, slim.fully_connected, slim.separable_conv2d): {
        'normalizer_fn': slim.batch_norm,
        'activation_fn': tf.nn.relu,
    },
    (slim.batch_norm,): {'center': True, 'scale': True},
}


def _head(last_conv, embedding, **conv_args):
  """The last 1x1 conv, the pool to 1x1 and the (unnormalized) embedding."""
  return [
      op(slim.conv2d, stride=1, kernel_size=[1, 1], num_outputs=last_conv,
         **conv_args),
      op(reduce_to_1x1, default_size=7, stride=1, padding='VALID'),
      op(slim.conv2d, stride=1, kernel_size=[1, 1], num_outputs=embedding,
         normalizer_fn=None, **conv_args),
  ]


# Shapes for a 224 x 224 input in the comments.
V3_LARGE = dict(
    defaults=dict(DEFAULTS),
    spec=([
        op(slim.conv2d, stride=2, num_outputs=16, kernel_size=(3, 3),
           activation_fn=hard_swish),
        # 112 x 112 x 16
        mbv3_op(ef=1, n=16, k=3),
        mbv3_op(ef=4, n=24, k=3, s=2),
        mbv3_op(ef=3, n=24, k=3, s=1),
        # 56 x 56 x 24
        mbv3_op_se(ef=3, n=40, k=5, s=2),
        mbv3_op_se(ef=3, n=40, k=5, s=1),
        mbv3_op_se(ef=3, n=40, k=5, s=1),
        # 28 x 28 x 40
        mbv3_op(ef=6, n=80, k=3, s=2, act=hard_swish),
        mbv3_op(ef=2.5, n=80, k=3, s=1, act=hard_swish),
        mbv3_op(ef=184 / 80., n=80, k=3, s=1, act=hard_swish),
        mbv3_op(ef=184 / 80., n=80, k=3, s=1, act=hard_swish),
        mbv3_op_se(ef=6, n=112, k=3, s=1, act=hard_swish),
        mbv3_op_se(ef=6, n=112, k=3, s=1, act=hard_swish),
        # 14 x 14 x 112
        mbv3_op_se(ef=6, n=160, k=5, s=2, act=hard_swish),
        mbv3_op_se(ef=6, n=160, k=5, s=1, act=hard_swish),
        mbv3_op_se(ef=6, n=160, k=5, s=1, act=hard_swish),
        # 7 x 7 x 160
    ] + _head(960, 1280, activation_fn=hard_swish)))

V3_LARGE_MINIMALISTIC = dict(
    defaults=dict(DEFAULTS),
    spec=([
        op(slim.conv2d, stride=2, num_outputs=16, kernel_size=(3, 3)),
        mbv3_op(ef=1, n=16, k=3),
        mbv3_op(ef=4, n=24, k=3, s=2),
        mbv3_op(ef=3, n=24, k=3, s=1),
        mbv3_op(ef=3, n=40, k=3, s=2),
        mbv3_op(ef=3, n=40, k=3, s=1),
        mbv3_op(ef=3, n=40, k=3, s=1),
        mbv3_op(ef=6, n=80, k=3, s=2),
        mbv3_op(ef=2.5, n=80, k=3, s=1),
        mbv3_op(ef=184 / 80., n=80, k=3, s=1),
        mbv3_op(ef=184 / 80., n=80, k=3, s=1),
        mbv3_op(ef=6, n=112, k=3, s=1),
        mbv3_op(ef=6, n=112, k=3, s=1),
        mbv3_op(ef=6, n=160, k=3, s=2),
        mbv3_op(ef=6, n=160, k=3, s=1),
        mbv3_op(ef=6, n=160, k=3, s=1),
    ] + _head(960, 1280)))

V3_SMALL = dict(
    defaults=dict(DEFAULTS),
    spec=([
        op(slim.conv2d, stride=2, num_outputs=16, kernel_size=(3, 3),
           activation_fn=hard_swish),
        # 112 x 112 x 16
        mbv3_op_se(ef=1, n=16, k=3, s=2),
        # 56 x 56 x 16
        mbv3_op(ef=72. / 16, n=24, k=3, s=2),
        mbv3_op(ef=(88. / 24), n=24, k=3, s=1),
        # 28 x 28 x 24
        mbv3_op_se(ef=4, n=40, k=5, s=2, act=hard_swish),
        mbv3_op_se(ef=6, n=40, k=5, s=1, act=hard_swish),
        mbv3_op_se(ef=6, n=40, k=5, s=1, act=hard_swish),
        mbv3_op_se(ef=3, n=48, k=5, s=1, act=hard_swish),
        mbv3_op_se(ef=3, n=48, k=5, s=1, act=hard_swish),
        # 14 x 14 x 48
        mbv3_op_se(ef=6, n=96, k=5, s=2, act=hard_swish),
        mbv3_op_se(ef=6, n=96, k=5, s=1, act=hard_swish),
        mbv3_op_se(ef=6, n=96, k=5, s=1, act=hard_swish),
        # 7 x 7 x 96
    ] + _head(576, 1024, activation_fn=hard_swish)))

V3_SMALL_MINIMALISTIC = dict(
    defaults=dict(DEFAULTS),
    spec=([
        op(slim.conv2d, stride=2, num_outputs=16, kernel_size=(3, 3)),
        mbv3_op(ef=1, n=16, k=3, s=2),
        mbv3_op(ef=72. / 16, n=24, k=3, s=2),
        mbv3_op(ef=(88. / 24), n=24, k=3, s=1),
        mbv3_op(ef=4, n=40, k=3, s=2),
        mbv3_op(ef=6, n=40, k=3, s=1),
        mbv3_op(ef=6, n=40, k=3, s=1),
        mbv3_op(ef=3, n=48, k=3, s=1),
        mbv3_op(ef=3, n=48, k=3, s=1),
        mbv3_op(ef=6, n=96, k=3, s=2),
        mbv3_op(ef=6, n=96, k=3, s=1),
        mbv3_op(ef=6, n=96, k=3, s=1),
    ] + _head(576, 1024)))

# EdgeTPU-friendly: fused (k x k expansion) blocks instead of depthwise ones
# in the first stages; relu throughout, no squeeze-excite.
V3_EDGETPU = dict(
    defaults=dict(DEFAULTS),
    spec=[
        op(slim.conv2d, num_outputs=32, kernel_size=(3, 3), stride=2),
        # 112 x 112 x 32
        mbv3_fused(k=3, s=1, ef=1, n=16),
        mbv3_fused(k=3, s=2, ef=8, n=32),
        mbv3_fused(k=3, s=1, ef=4, n=32),
        mbv3_fused(k=3, s=1, ef=4, n=32),
        mbv3_fused(k=3, s=1, ef=4, n=32),
        # 56 x 56 x 32
        mbv3_fused(k=3, s=2, ef=8, n=48),
        mbv3_fused(k=3, s=1, ef=4, n=48),
        mbv3_fused(k=3, s=1, ef=4, n=48),
        mbv3_fused(k=3, s=1, ef=4, n=48),
        # 28 x 28 x 48
        mbv3_op(k=3, s=2, ef=8, n=96),
        mbv3_op(k=3, s=1, ef=4, n=96),
        mbv3_op(k=3, s=1, ef=4, n=96),
        mbv3_op(k=3, s=1, ef=4, n=96),
        mbv3_op(k=3, s=1, ef=8, n=96, residual=False),
        mbv3_op(k=3, s=1, ef=4, n=96),
        mbv3_op(k=3, s=1, ef=4, n=96),
        mbv3_op(k=3, s=1, ef=4, n=96),
        # 14 x 14 x 96
        mbv3_op(k=5, s=2, ef=8, n=160),
        mbv3_op(k=5, s=1, ef=4, n=160),
        mbv3_op(k=5, s=1, ef=4, n=160),
        mbv3_op(k=5, s=1, ef=4, n=160),
        mbv3_op(k=3, s=1, ef=8, n=192),
        # 7 x 7 x 192
        op(slim.conv2d, stride=1, num_outputs=1280, kernel_size=(1, 1)),
    ])


@slim.add_arg_scope
def mobilenet(input_tensor,
              num_classes=1001,
              depth_multiplier=1.0,
              scope='MobilenetV3',
              conv_defs=None,
              finegrain_classification_mode=False,
              **kwargs):
  """Creates a MobileNet V3 network (V3_LARGE unless `conv_defs` says else).

  Args:
    input_tensor: a [batch, height, width, channels] tensor.
    num_classes: number of classes; 0 or None returns the pooled features.
    depth_multiplier: the width multiplier (channels rounded to multiples
      of 8, at least 8).
    scope: the variable scope.
    conv_defs: the table to build; defaults to V3_LARGE.
    finegrain_classification_mode: do not apply the multiplier to the last
      layer (the embedding), keeping it wide for small multipliers.
    **kwargs: as `mobilenet_v2.mobilenet`'s, passed to
      `mobilenet.mobilenet`.

  Returns and raises: as `mobilenet_v2.mobilenet`.
  """
  if conv_defs is None:
    conv_defs = V3_LARGE
  if finegrain_classification_mode:
    conv_defs = copy.deepcopy(conv_defs)
    conv_defs['spec'][-1] = conv_defs['spec'][-1]._replace(
        multiplier_func=lambda params, multiplier: params)
  return lib.mobilenet_with_depth_multiplier(
      'mobilenet_v3', input_tensor, conv_defs, depth_multiplier,
      num_classes=num_classes, scope=scope, **kwargs)


mobilenet.default_image_size = 224
training_scope = lib.training_scope


@slim.add_arg_scope
def mobilenet_base(input_tensor, depth_multiplier=1.0, **kwargs):
  """Creates the base of MobileNet V3 (no pooling and no logits)."""
  return mobilenet(input_tensor, depth_multiplier=depth_multiplier,
                   base_only=True, **kwargs)


wrapped_partial = zoo.wrapped_partial  # The original's name, kept.


large = wrapped_partial(mobilenet, conv_defs=V3_LARGE)
small = wrapped_partial(mobilenet, conv_defs=V3_SMALL)
edge_tpu = wrapped_partial(mobilenet,
                           new_defaults={'scope': 'MobilenetEdgeTPU'},
                           conv_defs=V3_EDGETPU)
edge_tpu_075 = wrapped_partial(
    mobilenet,
    new_defaults={'scope': 'MobilenetEdgeTPU'},
    conv_defs=V3_EDGETPU,
    depth_multiplier=0.75,
    finegrain_classification_mode=True)

# Without squeeze-excite, hard-swish or 5x5 depthwise convolutions: friendly
# to a wide range of hardware.
large_minimalistic = wrapped_partial(mobilenet, conv_defs=V3_LARGE_MINIMALISTIC)
small_minimalistic = wrapped_partial(mobilenet, conv_defs=V3_SMALL_MINIMALISTIC)


def _reduce_consecutive_layers(conv_defs, start_id, end_id, multiplier=0.5):
  """A copy of `conv_defs` with layers start_id..end_id scaled by multiplier.

  Args:
    conv_defs: a MobileNet table.
    start_id: the first spec index to scale.
    end_id: the last spec index to scale (inclusive).
    multiplier: the factor for their 'num_outputs'.

  Returns:
    The new table.
  """
  defs = copy.deepcopy(conv_defs)
  for d in defs['spec'][start_id:end_id + 1]:
    d.params.update({
        'num_outputs': int(np.round(d.params['num_outputs'] * multiplier))
    })
  return defs


# The detection backbones halve the last stage.
V3_LARGE_DETECTION = _reduce_consecutive_layers(V3_LARGE, 13, 16)
V3_SMALL_DETECTION = _reduce_consecutive_layers(V3_SMALL, 9, 12)
