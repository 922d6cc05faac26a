"""Quantization-aware training: a rewrite of a built graph, as
`tf.contrib.quantize` did.

    logits, _ = network_fn(images)        # any network: nothing per net
    loss = ...
    slim.quantize.create_training_graph(quant_delay=2000)
    train_op = optimizer.minimize(loss)   # gradients after the rewrite

and, for evaluation or export, `create_eval_graph()` after the network.

The rewrite pattern-matches the graph, knowing no network:

1. Batch norm folding. A `Conv2D`, `DepthwiseConv2dNative` or `MatMul` layer
   whose weights are a variable, followed by a fused batch norm, is rebuilt
   as `<layer>/Conv2D_Fold` (`depthwise_Fold`, `MatMul_Fold`) on weights
   scaled by gamma / sqrt(var + eps) (`<layer>/mul_fold`) plus the bias
   beta - gamma * mean / sqrt(var + eps) (`<layer>/add_fold`). In training
   the weights are folded with the moving variance and the output corrected
   by sigma_moving / sigma_batch, so the output is the batch-normalized one
   and the weights are those inference will use; the moving averages keep
   updating. Folding adds no variable.
2. Fake quantization (8 bits, `FakeQuantWithMinMaxVars`, not narrow range)
   of each layer's weights (`<layer>/weights_quant`, range = the last
   batch's min/max) and of its output after the activation (Relu, Relu6,
   Identity; or the biased output of a layer without one) as
   `<layer>/act_quant` (moving-average min/max, decay 0.999). A layer output
   feeding a residual Add is quantized as `<layer>/conv_quant`, and the Add
   (or the activation after it) as `<parent>/add_quant`
   (`<parent>/act_quant`). Biases stay float. The inner depthwise op of a
   separable convolution is left to its pointwise layer.
3. Post-activation bypasses. An Add / AddV2 that reads a quantized
   activation and another tensor, with no Relu or Relu6 after it, is
   quantized on its output as `<add scope>/post_activation_bypass_quant`
   (the add op's name without its last component), its range tracked as
   `add_quant`'s (moving average, initial [-6, 6], delayed by quant_delay).
   MobileNet v2's inverted residual `MobilenetV2/expanded_conv_2/add`
   (block input + `project`'s Identity activation) gives
   `MobilenetV2/expanded_conv_2/post_activation_bypass_quant/min`. This is
   contrib's `post_activation_bypass` of `_FindLayersToQuantize` and
   `Quantize()` as recalled from its source, not checked against it (no
   copy at hand). Contrib matched one such add per layer; this rewrite
   quantizes each one.

Range variables are float32 scalars `<layer>/<kind>_quant/min` and `max` in the
layer's variable scope (its weights' scope, e.g.
`MobilenetV1/Conv2d_0/act_quant/min`), in GLOBAL_VARIABLES,
MOVING_AVERAGE_VARIABLES and RANGES (`range_variables()`), initial range
[-6, 6] ([0, 6] for activations): the names of the published `*_quant` slim
checkpoints (a post-activation bypass's in the variable scope matching the
add's op scope). In training graphs the moving averages are zero-debiased as
TensorFlow's `assign_moving_average` did for contrib (`min/biased`,
`min/local_step`); eval graphs only read `min` and `max`. Ranges always contain
0. With `quant_delay=K > 0` a `<name>/delayed_quant` cond on `global_step >= K`
passes the float tensor before step K (the ranges still update).

Unlike contrib, the batch statistics of a folded layer are computed from its
float output with `tf.nn.moments`, so gradients flow through them as through
the batch norm itself: before the delay, training is the float training.

A batch norm that follows no foldable layer (ResNet V2's pre-activation, a
batch norm after a concatenation) stays float, as in contrib, and is logged.
A layer the rewrite cannot handle (a 3-D or transposed convolution with
variable weights, a channels-first batch norm, a batch norm whose moving
statistics are not found) raises `UnsupportedLayerError`, one line naming
the layer.
"""
import dataclasses

from absl import logging
import tensorflow as tf

from slim import variables

tf1 = tf.compat.v1

__all__ = ['RANGES', 'UnsupportedLayerError', 'create_eval_graph',
           'create_training_graph', 'fold_batch_norms', 'range_variables']

NUM_BITS = 8
EMA_DECAY = 0.999
INIT_MIN = -6.0
INIT_MAX = 6.0
# The collection of the range variables (`<scope>/<kind>_quant/{min,max}`)
# that the rewrite creates: what a quantization-aware checkpoint holds
# besides the model's variables.
RANGES = 'quantization_ranges'

_LAYER_TYPES = ('Conv2D', 'DepthwiseConv2dNative', 'MatMul')
# Layers with variable weights that contrib.quantize did not handle.
_UNSUPPORTED_LAYER_TYPES = ('Conv3D', 'Conv2DBackpropInput',
                            'Conv3DBackpropInputV2',
                            'DepthwiseConv2dNativeBackpropInput')
_BATCH_NORM_TYPES = ('FusedBatchNorm', 'FusedBatchNormV3')
_ACTIVATION_TYPES = ('Relu', 'Relu6', 'Identity')
_ADD_TYPES = ('Add', 'AddV2')
# Activations TFLite fuses into the add before them.
_RELU_TYPES = ('Relu', 'Relu6')
# Reshape: a convolution computed as a matmul reads its 4-D weights through
# one (slim.layers.conv, a kernel covering its whole input).
_READ_TYPES = ('Identity', 'ReadVariableOp', 'Reshape')
_VARIABLE_TYPES = ('VarHandleOp', 'VariableV2', 'Variable')
# tf.raw_ops argument names of each layer op's (input, weights).
_LAYER_ARGS = {'Conv2D': ('input', 'filter'),
               'DepthwiseConv2dNative': ('input', 'filter'),
               'MatMul': ('a', 'b')}
_LAYER_ATTRS = {
    'Conv2D': ('strides', 'use_cudnn_on_gpu', 'padding', 'explicit_paddings',
               'data_format', 'dilations'),
    'DepthwiseConv2dNative': ('strides', 'padding', 'explicit_paddings',
                              'data_format', 'dilations'),
    'MatMul': ('transpose_a', 'transpose_b'),
}


class UnsupportedLayerError(ValueError):
  """A layer of the graph that the rewrite cannot quantize; one line."""


@dataclasses.dataclass
class _Layer:
  """A layer to quantize.

  Attributes:
    op: the op reading the weights (the folded one after folding).
    output: its output after the bias (`add_fold`, BiasAdd), or its own.
    var_scope: the variable scope of its weights, where range variables go.
    var_device: the device of its weights variable.
  """
  op: tf1.Operation
  output: tf.Tensor
  var_scope: str
  var_device: str

  @property
  def op_scope(self):
    return _scope_of(self.op.name)


def _scope_of(name):
  return name.rpartition('/')[0]


def _variable_op(tensor):
  """The variable op (VarHandleOp, VariableV2) `tensor` reads, or None."""
  op = tensor.op
  while op.type in _READ_TYPES and op.inputs:
    op = op.inputs[0].op
  return op if op.type in _VARIABLE_TYPES else None


def _weights_variable_op(layer_op):
  if layer_op.type not in _LAYER_TYPES or len(layer_op.inputs) < 2:
    return None
  return _variable_op(layer_op.inputs[1])


def _reroute(old, new, consumers):
  """Makes `consumers` read `new` wherever they read `old`.

  TensorFlow has no public API to edit an edge of a built graph;
  `Operation._update_input` is what contrib's graph_editor used for this.
  It is the only private call of the rewrite, kept here.
  """
  for op in consumers:
    for index, tensor in enumerate(op.inputs):
      if tensor.name == old.name:
        op._update_input(index, new)  # pylint: disable=protected-access


def _consumers(tensor, types):
  return [op for op in tensor.consumers() if op.type in types]


# ------------------------------------------------------------------ folding


@dataclasses.dataclass
class _BatchNormMatch:
  bn: tf1.Operation
  layer_op: tf1.Operation
  bias: tf.Tensor             # a BiasAdd's bias between layer and bn, or None
  batch_to_space: tf1.Operation  # an atrous BatchToSpaceND, or None
  output: tf.Tensor           # the tensor the folded output replaces


def _match_batch_norm(bn):
  """The layer a fused batch norm follows, or None if it follows none."""
  x = bn.inputs[0]
  reshaped = x.op.type == 'Reshape'  # A fully connected layer's 2-D input.
  if reshaped:
    x = x.op.inputs[0]
  bias = None
  if x.op.type == 'BiasAdd' and _variable_op(x.op.inputs[1]) is not None:
    bias, x = x.op.inputs[1], x.op.inputs[0]
  batch_to_space = None
  if x.op.type == 'BatchToSpaceND':
    batch_to_space, x = x.op, x.op.inputs[0]
  layer_op = x.op
  if _weights_variable_op(layer_op) is None:
    return None
  if reshaped != (layer_op.type == 'MatMul'):
    return None
  output = bn.outputs[0]
  if reshaped:
    back = _consumers(output, ('Reshape',))
    if len(back) != 1 or len(output.consumers()) != 1:
      return None
    output = back[0].outputs[0]
  if bn.get_attr('data_format') not in (b'NHWC', 'NHWC'):
    raise UnsupportedLayerError(
        f'layer {_scope_of(_weights_variable_op(layer_op).name)} has a '
        f'channels-first batch norm ({bn.name}); only NHWC batch norms can '
        'be folded.')
  return _BatchNormMatch(bn, layer_op, bias, batch_to_space, output)


def _moving_variance(bn):
  """The read of the moving variance a training batch norm updates.

  Found through its update op (`moving - (moving - batch) * (1 - decay)`),
  which reads the moving value before updating it.
  """
  for op in _consumers(bn.outputs[2], ('Sub',)):
    if _variable_op(op.inputs[0]) is not None:
      return op.inputs[0]
  raise UnsupportedLayerError(
      f'batch norm {_scope_of(bn.name)}: the moving variance it updates was '
      'not found, so it cannot be folded.')


def _clone_layer(layer_op, inputs, weights):
  """`layer_op` again on new weights, named `<op>_Fold`."""
  args = _LAYER_ARGS[layer_op.type]
  attrs = {}
  for name in _LAYER_ATTRS[layer_op.type]:
    if name in layer_op.node_def.attr:
      value = layer_op.get_attr(name)
      attrs[name] = value.decode() if isinstance(value, bytes) else value
  return getattr(tf.raw_ops, layer_op.type)(
      **{args[0]: inputs, args[1]: weights}, **attrs,
      name=layer_op.name.rpartition('/')[2] + '_Fold')


def _fold(graph, match):
  """Rebuilds one layer with its batch norm folded in; returns a _Layer."""
  bn, layer_op = match.bn, match.layer_op
  weights_var = _weights_variable_op(layer_op)
  scope = _scope_of(layer_op.name)
  training = bn.get_attr('is_training')
  moving_variance = _moving_variance(bn) if training else None
  replaced = list(match.output.consumers())
  epsilon = bn.get_attr('epsilon')
  gamma, beta = bn.inputs[1], bn.inputs[2]
  weights = layer_op.inputs[1]
  depthwise_shape = (weights.shape.as_list()[2:]
                     if layer_op.type == 'DepthwiseConv2dNative' else None)
  with graph.name_scope(scope + '/' if scope else None), \
      graph.device(layer_op.device):
    with tf1.name_scope('BatchNorm_Fold'):
      if training:
        mean, variance = _batch_moments(bn)
      else:
        mean, variance = bn.inputs[3], bn.inputs[4]
      multiplier = gamma * tf.math.rsqrt(variance + epsilon)
      if match.bias is not None:
        mean = mean - match.bias
      bias = tf.subtract(beta, mean * multiplier, name='bias')
      correction = None
      if training:
        # Weights folded with the moving variance (those of inference),
        # the output scaled back to the batch variance.
        correction = tf.divide(tf.math.rsqrt(moving_variance + epsilon),
                               tf.math.rsqrt(variance + epsilon),
                               name='correction_scale')
      weights_multiplier = multiplier
      if depthwise_shape:
        weights_multiplier = tf.reshape(multiplier, depthwise_shape,
                                        name='scale_reshape')
    if correction is not None:
      weights_correction = correction
      if depthwise_shape:
        weights_correction = tf.reshape(correction, depthwise_shape,
                                        name='correction_reshape')
      weights = tf.multiply(weights_correction, weights,
                            name='correction_mult')
    weights = tf.multiply(weights, weights_multiplier, name='mul_fold')
    folded = _clone_layer(layer_op, layer_op.inputs[0], weights)
    output = folded
    if match.batch_to_space is not None:
      b2s = match.batch_to_space
      output = tf.batch_to_space(output, b2s.inputs[1], b2s.inputs[2])
    if correction is not None:
      output = tf.multiply(tf.math.reciprocal(correction), output,
                           name='post_conv_mul')
    output = tf.add(output, bias, name='add_fold')
  _reroute(match.output, output, replaced)
  return _Layer(folded.op, output, _scope_of(weights_var.name),
                weights_var.device)


def _batch_moments(bn):
  """Mean and (biased) variance of a training batch norm's input.

  Computed with tf.nn.moments so that gradients flow through them. The
  moving-average updates are given them in place of the fused op's (with
  its unbiased variance), so the fused op no longer runs.
  """
  bn_input = bn.inputs[0]
  mean, variance = tf.nn.moments(bn_input, [0, 1, 2], name='moments')
  count = tf.cast(tf.size(bn_input) // tf.size(mean), variance.dtype)
  unbiased = tf.multiply(variance, count / tf.maximum(count - 1.0, 1.0),
                         name='Bessel_Correction')
  _reroute(bn.outputs[1], mean, list(bn.outputs[1].consumers()))
  _reroute(bn.outputs[2], unbiased, list(bn.outputs[2].consumers()))
  return mean, variance


def _fold_batch_norms(graph, scope=None):
  """Folds every foldable batch norm (in name scope `scope` if not None);
  returns ([_Layer], {replaced op})."""
  layers, replaced, left = [], set(), []
  for bn in [op for op in _operations(graph, scope)
             if op.type in _BATCH_NORM_TYPES]:
    if not bn.outputs[0].consumers():
      continue
    match = _match_batch_norm(bn)
    if match is None:
      left.append(_scope_of(bn.name))
      continue
    layers.append(_fold(graph, match))
    replaced.add(match.layer_op.name)
  if left:
    logging.warning(
        'Quantization leaves %d batch norm(s) that follow no conv or fully '
        'connected layer in float, e.g. %s.', len(left), ', '.join(left[:3]))
  return layers, replaced


def fold_batch_norms(graph=None):
  """Folds each fused batch norm into the conv / fully connected layer before.

  Training batch norms are folded with the batch statistics and the
  moving-variance correction (see the module docstring), inference ones
  with the moving statistics. The graph is rewritten in place.

  Args:
    graph: the graph; default: the default graph.

  Returns:
    The names of the folded layer ops (e.g. `.../Conv2d_0/Conv2D_Fold`).

  Raises:
    UnsupportedLayerError: for a batch norm after a layer that cannot be
      folded (see the module docstring).
  """
  graph = graph or tf1.get_default_graph()
  with graph.as_default():
    layers, _ = _fold_batch_norms(graph)
  return [layer.op.name for layer in layers]


# ------------------------------------------------------------- quantization


def _operations(graph, scope):
  """The graph's ops, those in name scope `scope` if it is not None."""
  if scope is None:
    return graph.get_operations()
  return [op for op in graph.get_operations()
          if op.name.startswith(scope + '/')]


def _check_supported(graph, scope=None):
  """Raises UnsupportedLayerError for the first layer it cannot handle."""
  for op in _operations(graph, scope):
    if op.type in _UNSUPPORTED_LAYER_TYPES and len(op.inputs) > 1:
      weights_var = _variable_op(op.inputs[1])
      if weights_var is not None:
        raise UnsupportedLayerError(
            f'layer {_scope_of(weights_var.name)} is a {op.type}; only '
            'Conv2D, DepthwiseConv2dNative and MatMul layers can be '
            'quantized, as with tf.contrib.quantize.')
    weights_var = _weights_variable_op(op)
    if weights_var is not None:
      for consumer in op.outputs[0].consumers():
        if '/batchnorm/' in consumer.name:
          raise UnsupportedLayerError(
              f'layer {_scope_of(weights_var.name)} has an unfused batch '
              f'norm ({consumer.name}), which cannot be folded.')


def _unfolded_layers(graph, replaced, scope=None):
  """_Layers for the layer ops with variable weights and no batch norm (in
  name scope `scope` if not None)."""
  layers = []
  for op in _operations(graph, scope):
    weights_var = _weights_variable_op(op)
    if weights_var is None or op.name in replaced:
      continue
    output = op.outputs[0]
    if op.type == 'DepthwiseConv2dNative' and _consumers(output, ('Conv2D',)):
      continue  # A separable conv's depthwise half: its pointwise is.
    if op.type == 'MatMul' and [c.type for c in output.consumers()] == [
        'Reshape']:
      # A convolution computed as a matmul (slim.layers.conv): its bias
      # comes after the reshape back to 4-D.
      output = output.consumers()[0].outputs[0]
    bias_adds = _consumers(output, ('BiasAdd',))
    if len(bias_adds) == 1 and len(output.consumers()) == 1:
      output = bias_adds[0].outputs[0]
    layers.append(_Layer(op, output, _scope_of(weights_var.name),
                         weights_var.device))
  return layers


class _Quantizer:
  """Inserts the fake-quant ops of one graph (training or eval)."""

  def __init__(self, graph, is_training, quant_delay):
    self._graph = graph
    self._is_training = is_training
    self._quant_delay = quant_delay if is_training else None
    self._global_step = None
    if self._quant_delay:
      self._global_step = variables.get_or_create_global_step(graph)
    self._done = set()

  def layer(self, layer):
    """Quantizes the weights and output of `layer`."""
    self._insert(layer, layer.op.inputs[1], [layer.op], 'weights_quant',
                 layer.op_scope, layer.var_scope, moving_avg=False,
                 init_min=INIT_MIN)
    output = layer.output
    parent_scope = _scope_of(layer.op_scope)
    parent_var_scope = _scope_of(layer.var_scope)
    activations = _consumers(output, _ACTIVATION_TYPES)
    adds = _consumers(output, _ADD_TYPES)
    if activations:
      self._activation(layer, activations[0].outputs[0], layer.op_scope,
                       layer.var_scope)
    elif adds:
      add = adds[0]
      self._insert(layer, output, [add], 'conv_quant', layer.op_scope,
                   layer.var_scope, moving_avg=True, init_min=INIT_MIN)
      after = _consumers(add.outputs[0], _RELU_TYPES)
      if after:
        self._activation(layer, after[0].outputs[0], parent_scope,
                         parent_var_scope)
      else:
        self._insert_after(layer, add.outputs[0], 'add_quant', parent_scope,
                           parent_var_scope, init_min=INIT_MIN)
    else:
      self._insert_after(layer, output, 'act_quant', layer.op_scope,
                         layer.var_scope, init_min=0.0)

  def _activation(self, layer, activation, op_scope, var_scope):
    """Quantizes `activation` as `act_quant`, then the adds it feeds."""
    bypasses = _post_activation_bypasses(activation)
    self._insert_after(layer, activation, 'act_quant', op_scope, var_scope,
                       init_min=0.0)
    for add in bypasses:
      add_scope = _scope_of(add.name)
      self._insert_after(layer, add.outputs[0], 'post_activation_bypass_quant',
                         add_scope, _matching_var_scope(layer, add_scope),
                         init_min=INIT_MIN)

  def _insert_after(self, layer, tensor, kind, op_scope, var_scope,
                    init_min):
    self._insert(layer, tensor, list(tensor.consumers()), kind, op_scope,
                 var_scope, moving_avg=True, init_min=init_min)

  def _insert(self, layer, tensor, consumers, kind, op_scope, var_scope,
              moving_avg, init_min):
    """Fake-quantizes `tensor` for `consumers` under `<scope>/<kind>`."""
    if tensor.name in self._done:
      return
    self._done.add(tensor.name)
    var_scope = f'{var_scope}/{kind}' if var_scope else kind
    min_var, max_var = self._range_variables(var_scope, layer.var_device,
                                             init_min)
    graph = self._graph
    with graph.name_scope(f'{op_scope}/{kind}/' if op_scope else f'{kind}/'), \
        graph.device(layer.op.device):
      if self._is_training:
        # TFLite needs 0 in [min, max].
        batch_min = tf.minimum(tf.reduce_min(tensor, name='BatchMin'), 0.0)
        batch_max = tf.maximum(tf.reduce_max(tensor, name='BatchMax'), 0.0)
        if moving_avg:
          min_value = self._assign_ema(min_var, batch_min, 'AssignMinEma')
          max_value = self._assign_ema(max_var, batch_max, 'AssignMaxEma')
        else:
          min_value = tf1.assign(min_var, batch_min, name='AssignMinLast')
          max_value = tf1.assign(max_var, batch_max, name='AssignMaxLast')
      else:
        min_value, max_value = min_var.read_value(), max_var.read_value()
      quant = tf.quantization.fake_quant_with_min_max_vars(
          tensor, min_value, max_value, num_bits=NUM_BITS,
          narrow_range=False)
      if self._quant_delay:
        activate = tf.greater_equal(self._global_step, self._quant_delay,
                                    name='activate_quant')
        quantized = quant
        quant = tf1.cond(activate, lambda: quantized, lambda: tensor,
                         name='delayed_quant')
    _reroute(tensor, quant, consumers)

  def _range_variables(self, scope, device, init_min):
    """The `min` and `max` scalars of `scope`, shared by clones."""
    collections = [tf1.GraphKeys.GLOBAL_VARIABLES,
                   tf1.GraphKeys.MOVING_AVERAGE_VARIABLES, RANGES]
    with self._graph.device(None), self._graph.device(device), \
        tf1.variable_scope(scope, reuse=tf1.AUTO_REUSE):
      return tuple(variables.variable(
          name, shape=[], dtype=tf.float32,
          initializer=tf1.constant_initializer(value), trainable=False,
          collections=collections)
                   for name, value in (('min', init_min), ('max', INIT_MAX)))

  def _assign_ema(self, variable, value, name):
    """`variable` = zero-debiased EMA of `value`, as contrib's ranges."""
    with self._graph.device(None), self._graph.device(variable.device), \
        tf1.variable_scope(variable.op.name, reuse=tf1.AUTO_REUSE):
      biased, local_step = (variables.variable(
          var_name, shape=[], dtype=tf.float32,
          initializer=tf1.zeros_initializer(), trainable=False)
                            for var_name in ('biased', 'local_step'))
    with tf1.name_scope(name):
      update_biased = tf1.assign_sub(biased,
                                     (biased - value) * (1.0 - EMA_DECAY))
      update_step = tf1.assign_add(local_step, 1.0)
      return tf1.assign(variable,
                        update_biased / (1.0 - tf.pow(EMA_DECAY, update_step)))


def _post_activation_bypasses(activation):
  """The residual adds after `activation` that contrib quantized.

  An Add / AddV2 reading `activation` and another tensor, not followed by a
  Relu or Relu6 (TFLite fuses that activation into the add; the layer the
  add follows quantizes it). Found before `activation` is quantized.
  """
  return [add for add in _consumers(activation, _ADD_TYPES)
          if any(x.name != activation.name for x in add.inputs)
          and not _consumers(add.outputs[0], _RELU_TYPES)]


def _matching_var_scope(layer, op_scope):
  """The variable scope for range variables of an op in `op_scope`.

  `op_scope` taken relative to the layer's op scope and applied to its
  variable scope: `MobilenetV2/expanded_conv_2` for the add after
  `clone_0/MobilenetV2/expanded_conv_2/project` (variable scope
  `MobilenetV2/expanded_conv_2/project`). Op and variable scopes differ in
  clones and in a network built twice.
  """
  op_parts = op_scope.split('/') if op_scope else []
  layer_parts = layer.op_scope.split('/') if layer.op_scope else []
  var_parts = layer.var_scope.split('/') if layer.var_scope else []
  common = 0
  for mine, theirs in zip(op_parts, layer_parts):
    if mine != theirs:
      break
    common += 1
  up = len(layer_parts) - common
  if up > len(var_parts):
    return op_scope
  return '/'.join(var_parts[:len(var_parts) - up] + op_parts[common:])


def _with_weights_scopes(layers, weights_names):
  """`layers` with the range variables of a layer reading a stand-in for
  its weights (e.g. their moving average) in the weights' own scope.

  Args:
    layers: [_Layer].
    weights_names: {name of the variable read: name of the weights it
      stands for}.
  """
  scopes = {_scope_of(read): _scope_of(weights)
            for read, weights in weights_names.items()}
  return [dataclasses.replace(layer, var_scope=scopes[layer.var_scope])
          if layer.var_scope in scopes else layer for layer in layers]


def _rewrite(graph, is_training, quant_delay, scope=None, weights_names=None):
  graph = graph or tf1.get_default_graph()
  with graph.as_default():
    _check_supported(graph, scope)
    folded, replaced = _fold_batch_norms(graph, scope)
    layers = folded + _unfolded_layers(graph, replaced, scope)
    if weights_names:
      layers = _with_weights_scopes(layers, weights_names)
    quantizer = _Quantizer(graph, is_training, quant_delay)
    for layer in layers:
      quantizer.layer(layer)


def range_variables(graph=None):
  """The fake-quant range variables the rewrite created in `graph` (the
  default graph): a quantization-aware checkpoint holds them."""
  graph = graph or tf1.get_default_graph()
  return graph.get_collection(RANGES)


def create_training_graph(input_graph=None, quant_delay=0):
  """Rewrites a training graph for quantization-aware training, in place.

  Call it after the model (and loss) are built and before the optimizer
  computes gradients, at the top-level variable scope.

  Args:
    input_graph: the graph; default: the default graph.
    quant_delay: the global step from which the quantized values are used
      (the ranges are tracked from the start); 0 quantizes from step 0.

  Raises:
    UnsupportedLayerError: for a layer the rewrite cannot handle.
  """
  if quant_delay is None or quant_delay < 0:
    raise ValueError('create_training_graph: quant_delay must be >= 0; '
                     f'received {quant_delay!r}.')
  _rewrite(input_graph, True, quant_delay)


def create_eval_graph(input_graph=None, scope=None, weights_names=None):
  """Rewrites an inference graph to match a quantization-aware one.

  The batch norms are folded with their moving statistics and the fake-quant
  ops read the trained `min`/`max` variables without updating them.

  Args:
    input_graph: the graph; default: the default graph.
    scope: rewrite only the ops in this name scope (an inference copy of a
      network inside a training graph, e.g. `validation`); None: all.
    weights_names: {variable name: weights name} for a network that reads
      stand-ins of its weights (their moving averages, through a custom
      getter): its range variables are then those of the weights' scope,
      as in a graph on the weights themselves. None: none.

  Raises:
    UnsupportedLayerError: for a layer the rewrite cannot handle.
  """
  _rewrite(input_graph, False, None, scope, weights_names)
