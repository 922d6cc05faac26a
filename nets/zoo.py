"""What every network family shares: the small rules of the model zoo.

* `EndPoints` records end points in build order and says when
  `final_endpoint` is reached; `check_final_endpoint` validates the name
  before anything is built.
* `depth_fn` is the `depth_multiplier` / `min_depth` channel rule.
* `trunc_normal` is the original's truncated-normal initializer.
* `fixed_padding` pads for a kernel independently of the input size (the
  explicit padding of ResNet's strided convs and of TFLite-friendly
  MobileNets).
* `AtrousSchedule` is the output-stride bookkeeping: layers stride until
  `output_stride` is reached, then keep stride 1 and dilate instead.
* `wrapped_partial` is `functools.partial` keeping the function's name,
  docstring and attributes (the original's width variants).

No variables are created here.
"""
import functools

import tensorflow as tf

tf1 = tf.compat.v1

__all__ = ['EndPoints', 'check_final_endpoint', 'depth_fn', 'trunc_normal',
           'fixed_padding', 'AtrousSchedule', 'wrapped_partial']


class EndPoints(dict):
  """A dict of end points that knows the one to stop at.

      end_points = zoo.EndPoints(final_endpoint=final_endpoint)
      net = slim.conv2d(net, 64, [3, 3], scope='Conv2d_1a_3x3')
      if end_points.add('Conv2d_1a_3x3', net):
        return net, end_points
  """

  def __init__(self, *args, final_endpoint=None, **kwargs):
    # Constructible like a dict: `Session.run` rebuilds fetched dicts as
    # `type(fetches)(items)`.
    super().__init__(*args, **kwargs)
    self.final_endpoint = final_endpoint

  def add(self, name, net):
    """Records `net` as `name`; returns True if `name` is the final one."""
    self[name] = net
    return name == self.final_endpoint


def check_final_endpoint(final_endpoint, valid, network):
  """Raises unless `final_endpoint` is one of `valid`.

  Args:
    final_endpoint: the requested end point.
    valid: the end points the network can stop at, in build order.
    network: the network's name, for the message.

  Raises:
    ValueError: naming the received value and the valid ones.
  """
  if final_endpoint not in valid:
    raise ValueError(f'{network}: unknown final_endpoint {final_endpoint!r}. '
                     f'Valid values: {", ".join(valid)}.')


def depth_fn(depth_multiplier, min_depth):
  """Returns depth(d) = max(int(d * depth_multiplier), min_depth).

  Args:
    depth_multiplier: float multiplier for the number of channels of every
      convolution; must be greater than zero.
    min_depth: the smallest number of channels a thinned layer keeps.

  Returns:
    The function mapping a nominal channel count to the thinned one.

  Raises:
    ValueError: if depth_multiplier <= 0.
  """
  if depth_multiplier <= 0:
    raise ValueError('depth_multiplier must be greater than zero. '
                     f'Received: {depth_multiplier!r}.')
  return lambda d: max(int(d * depth_multiplier), min_depth)


def trunc_normal(stddev):
  """Truncated normal initializer of mean 0 (the original's `trunc_normal`)."""
  return tf1.truncated_normal_initializer(0.0, stddev)


def fixed_padding(inputs, kernel_size, rate=1):
  """Pads height and width so that a VALID conv behaves like a SAME one.

  The input is zero-padded by (k_eff - 1) // 2 at the start and the rest at
  the end, where k_eff = k + (k - 1)(rate - 1). The padding depends on the
  kernel only, not on the input size (unlike 'SAME' with a stride), which
  is what the ResNet checkpoints expect and what converts predictably to
  TFLite.

  Args:
    inputs: a [batch, height, width, channels] tensor.
    kernel_size: an int, or the kernel [height, width]; as in the original,
      the first entry is used for both dimensions.
    rate: the dilation rate of the convolution that follows.

  Returns:
    The padded tensor, [batch, height + pad, width + pad, channels].
  """
  k = kernel_size if isinstance(kernel_size, int) else kernel_size[0]
  pad_total = k + (k - 1) * (rate - 1) - 1
  pad_beg = pad_total // 2
  pad_end = pad_total - pad_beg
  return tf.pad(tensor=inputs,
                paddings=[[0, 0], [pad_beg, pad_end], [pad_beg, pad_end],
                          [0, 0]])


class AtrousSchedule:
  """Output-stride bookkeeping for networks that can trade stride for rate.

  Layers apply their own stride while the product of the strides so far is
  below `output_stride`. Once it is reached, every later layer keeps
  stride 1 and is dilated by the product of the strides it skipped before
  it, so the network's variables are unchanged and its output denser.

      schedule = zoo.AtrousSchedule(output_stride)
      for layer in layers:
        stride, rate = schedule.step(layer.stride)
        net = conv(net, stride=stride, rate=rate)

  Attributes:
    output_stride: the target ratio of input to output size, or None (the
      layers' own strides throughout).
    stride: the product of the strides applied so far.
    rate: the rate the next layer gets once the target is reached.
  """

  def __init__(self, output_stride=None):
    self.output_stride = output_stride
    self.stride = 1
    self.rate = 1

  @property
  def reached(self):
    """Whether the layers so far already reach `output_stride`."""
    return self.output_stride is not None and self.stride == self.output_stride

  def step(self, stride):
    """Returns (stride, rate) of a layer that would stride by `stride`."""
    if self.reached:
      rate = self.rate
      self.rate *= stride
      return 1, rate
    self.stride *= stride
    return stride, 1


def wrapped_partial(func, *args, new_defaults=None, **kwargs):
  """`functools.partial(func, ...)` with `func`'s name, docstring, attributes.

  Every keyword it fixes is a default: a caller may still pass it.

  Args:
    func: the function.
    *args: leading positional arguments to fix.
    new_defaults: a dict of more keyword defaults (the original MobileNet
      v3 spelling; the same as passing them as `**kwargs`).
    **kwargs: keyword defaults.

  Returns:
    The partial.
  """
  partial_func = functools.partial(func, *args,
                                   **dict(new_defaults or {}, **kwargs))
  functools.update_wrapper(partial_func, func)
  return partial_func
