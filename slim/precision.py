"""Mixed precision: float32 variables, bfloat16 or float16 arithmetic.

The standard recipe, as one graph-level seam rather than per-network code:

* Variables stay float32, so checkpoints are the same at every precision
  and the optimizer updates float32 weights.
* Inside `compute_precision(tf.bfloat16)`, a layer that asks
  `slim.variables` for a variable of the compute dtype (it asks for its
  input's dtype) gets the float32 variable read through a cast: the
  read-time cast, whose gradient casts back to float32.
* Batch norm keeps float32 scale, offset and statistics (the fused kernel
  takes low-precision activations with float32 parameters); softmax and
  the losses compute in float32 (`to_float32`).
* The caller casts the input images to the compute dtype.

float16 also needs loss scaling, or small gradients underflow:
`DynamicLossScale` multiplies the loss by a scale, divides the gradients
by it, skips an update whose gradients are not finite (halving the scale),
and doubles the scale after a run of finite steps.
"""
import re

import tensorflow as tf

from slim import variables
# The compute-dtype state lives in slim.precision_scope (slim.variables
# reads it too); it stays public here.
from slim.precision_scope import LOW_PRECISIONS as _LOW
from slim.precision_scope import PRECISIONS
from slim.precision_scope import compute_dtype
from slim.precision_scope import compute_precision

tf1 = tf.compat.v1

__all__ = ['PRECISIONS', 'compute_precision', 'compute_dtype', 'to_float32',
           'in_float32', 'bfloat16_in_float32', 'cpu_supports_bfloat16',
           'DynamicLossScale', 'LossScaleOptimizer']


def to_float32(tensor):
  """`tensor` as float32 if it is bfloat16/float16 (softmax, losses)."""
  if tensor.dtype.base_dtype in _LOW:
    return tf.cast(tensor, tf.float32)
  return tensor


def in_float32(op_fn, tensor, *args, **kwargs):
  """`op_fn(tensor, ...)` computed in float32, returned in tensor's dtype.

  For an op with no low-precision kernel on the CPU (tf.nn.lrn): a float32
  tensor goes straight through, so float32 graphs are unchanged.
  """
  dtype = tensor.dtype.base_dtype
  if dtype not in _LOW:
    return op_fn(tensor, *args, **kwargs)
  return tf.cast(op_fn(tf.cast(tensor, tf.float32), *args, **kwargs), dtype)


def bfloat16_in_float32(op_fn, *tensors, **kwargs):
  """`op_fn(*tensors, **kwargs)` computed in float32 when they are bfloat16.

  For ops whose bfloat16 CPU kernels are slower than their float32 ones,
  or wrong (the 3-D convolution's filter gradient, see slim.layers.conv):
  the depthwise convolution's gradients take 5-7x longer in bfloat16 than
  in float32 (MobileNet v2, batch 16, AVX512-BF16, TF 2.21: 1.04 s of a
  2.4 s training step), and its forward pass gains nothing. The tensors
  are cast up, the result cast back down, so the layers around still
  compute in bfloat16. float16 (for GPUs) and float32 go straight through,
  so float32 graphs are unchanged.
  """
  if tensors[0].dtype.base_dtype != tf.bfloat16:
    return op_fn(*tensors, **kwargs)
  up = [tf.cast(t, tf.float32) for t in tensors]
  return tf.cast(op_fn(*up, **kwargs), tf.bfloat16)


def cpu_supports_bfloat16(cpuinfo_path='/proc/cpuinfo'):
  """Whether this CPU computes bfloat16 natively (AVX512-BF16 or AMX-BF16).

  Without either, TensorFlow emulates bfloat16 and runs slower than
  float32. Unknown (no /proc/cpuinfo) counts as supported.
  """
  try:
    with open(cpuinfo_path) as f:
      text = f.read()
  except OSError:
    return True
  flags = set(re.findall(r'\b(avx512_bf16|amx_bf16)\b', text))
  return bool(flags)


class DynamicLossScale:
  """Dynamic loss scaling for float16 training (graph mode).

  Args:
    initial_scale: the first scale (2**15, as Keras and the TF1 optimizer
      used).
    growth_steps: double the scale after this many finite steps in a row.
    name: scope of its two variables (`<name>/scale`, `<name>/good_steps`).
  """

  def __init__(self, initial_scale=2.0**15, growth_steps=2000,
               name='loss_scale'):
    self._growth_steps = growth_steps
    with tf1.variable_scope(name):
      self.scale = variables.global_variable(
          tf.constant(initial_scale, tf.float32), name='scale')
      self.good_steps = variables.global_variable(
          tf.constant(0, tf.int64), name='good_steps')

  def scale_loss(self, loss):
    return loss * self.scale

  def unscale(self, grads_and_vars):
    """Divides each gradient by the scale (float32)."""
    inverse = 1.0 / self.scale
    return [(None if g is None else tf.cast(g, tf.float32) * inverse, v)
            for g, v in grads_and_vars]

  def apply(self, apply_fn, grads_and_vars, global_step=None):
    """Runs `apply_fn(grads_and_vars)` if every gradient is finite.

    Either way the scale is updated and the global step advances (a
    skipped update is still a step, as in Keras' LossScaleOptimizer).

    Returns:
      The update op.
    """
    grads = [g for g, _ in grads_and_vars if g is not None]
    finite = tf.reduce_all([tf.reduce_all(tf.math.is_finite(g))
                            for g in grads])

    def update():
      with tf.control_dependencies([apply_fn(grads_and_vars)]):
        good = self.good_steps.assign_add(1)
      grow = tf.equal(good, self._growth_steps)
      return tf.group(
          tf.cond(grow, lambda: self.scale.assign(self.scale * 2.0),
                  lambda: tf.identity(self.scale)),
          tf.cond(grow, lambda: self.good_steps.assign(0),
                  lambda: tf.identity(self.good_steps)))

    def skip():
      return tf.group(self.scale.assign(tf.maximum(self.scale / 2.0, 1.0)),
                      self.good_steps.assign(0))

    update_op = tf.cond(finite, update, skip)
    if global_step is None:
      return update_op
    with tf.control_dependencies([update_op]):
      return global_step.assign_add(1).op


class LossScaleOptimizer:
  """Wraps a tf.compat.v1 optimizer with dynamic loss scaling.

  `compute_gradients` scales the loss and unscales the gradients;
  `apply_gradients` applies them only when all are finite (see
  `DynamicLossScale.apply`). Everything else (slots, name) is the wrapped
  optimizer's, so model_deploy and SyncReplicasOptimizer take it as is.
  """

  def __init__(self, optimizer, loss_scale=None):
    self._optimizer = optimizer
    self.loss_scale = loss_scale or DynamicLossScale()

  def compute_gradients(self, loss, var_list=None, **kwargs):
    grads_and_vars = self._optimizer.compute_gradients(
        self.loss_scale.scale_loss(loss), var_list=var_list, **kwargs)
    return self.loss_scale.unscale(grads_and_vars)

  def apply_gradients(self, grads_and_vars, global_step=None, name=None):
    return self.loss_scale.apply(
        lambda gv: self._optimizer.apply_gradients(gv, name=name),
        list(grads_and_vars), global_step)

  def __getattr__(self, name):
    return getattr(self._optimizer, name)
