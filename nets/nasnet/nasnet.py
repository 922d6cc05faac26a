"""NASNet-A for CIFAR-10 and ImageNet (mobile and large), checkpoint-exact.

Zoph et al., "Learning Transferable Architectures for Scalable Image
Recognition", https://arxiv.org/abs/1707.07012.

The three networks are three short functions (`build_nasnet_cifar`,
`build_nasnet_mobile`, `build_nasnet_large`) that resolve their
hyper-parameter record (`cifar_config`, ...) and call the family's one
builder, `build_cell_network`, with NASNet-A's cells from `nasnet_utils`.
PNASNet (pnasnet.py) calls the same builder with its own cell. Drop path
is active only with `is_training=True` and a config whose
`drop_path_keep_prob` is below 1; its keep probability ramps with
`current_step / total_training_steps` (the graph's global step when
`current_step` is None).

Every public builder (the three here and pnasnet's two) takes the same
arguments and returns the same pair:

  images: a [batch, height, width, 3] tensor at the network's size (other
    sizes work too).
  num_classes: the number of classes (1001 for the ImageNet checkpoints,
    10 for CIFAR-10).
  is_training: whether to build the training graph.
  final_endpoint: None, or the end point to stop at ('Stem', 'Cell_<i>',
    'global_pool', 'Logits', 'Predictions').
  config: None for the network's own hyper-parameter record (named in its
    docstring), a `NasNetConfig`, or a dict of hyper-parameters overriding
    it.
  current_step: the step for drop path, or None for the global step.
  Returns: (logits, end_points), as `build_cell_network`.
"""
import copy
import dataclasses

import tensorflow as tf

import slim
from nets import zoo
from nets.nasnet import nasnet_utils

tf1 = tf.compat.v1

__all__ = [
    'NasNetConfig', 'cifar_config', 'large_imagenet_config',
    'mobile_imagenet_config', 'nasnet_arg_scope', 'nasnet_cifar_arg_scope',
    'nasnet_mobile_arg_scope', 'nasnet_large_arg_scope', 'build_nasnet_cifar',
    'build_nasnet_mobile', 'build_nasnet_large', 'endpoint_names',
    'build_cell_network', 'resolve_config', 'NASNET_CELLS',
]


@dataclasses.dataclass
class NasNetConfig:
  """The hyper-parameters of a NASNet / PNASNet (the original's HParams).

  Attributes:
    stem_multiplier: multiplies the stem's 32 (ImageNet) or
      `num_conv_filters` (CIFAR) channels.
    dense_dropout_keep_prob: dropout keep probability before the logits.
    num_cells: the number of normal cells.
    filter_scaling_rate: channel growth at each reduction.
    num_conv_filters: the base channel count of the cells.
    drop_path_keep_prob: the final drop-path keep probability (1.0: none).
    use_aux_head: whether training builds the auxiliary head.
    num_reduction_layers: the number of reduction steps among the cells.
    data_format: 'NHWC' or 'NCHW'.
    skip_reduction_layer_input: whether the cell after a reduction reads
      the state before the reduction's input (large models) instead of the
      reduction's input.
    total_training_steps: steps over which drop path ramps up.
    use_bounded_activation: relu6 and clipping instead of relu.
  """
  # What the published networks differ by.
  stem_multiplier: float
  num_cells: int
  num_conv_filters: int
  drop_path_keep_prob: float
  skip_reduction_layer_input: int
  # What they share, except where a config says otherwise.
  dense_dropout_keep_prob: float = 0.5
  filter_scaling_rate: float = 2.0
  use_aux_head: int = 1
  num_reduction_layers: int = 2
  data_format: str = 'NHWC'
  total_training_steps: int = 250000
  use_bounded_activation: bool = False

  def set_hparam(self, name, value):
    """Sets one hyper-parameter, as `HParams.set_hparam` did.

    Raises:
      ValueError: if `name` is not a hyper-parameter.
    """
    valid = [f.name for f in dataclasses.fields(self)]
    if name not in valid:
      raise ValueError(f'Unknown NASNet hyper-parameter {name!r}; valid: '
                       f'{", ".join(valid)}.')
    setattr(self, name, value)

  def override_from_dict(self, values):
    """Sets several hyper-parameters from a dict; returns self."""
    for name, value in values.items():
      self.set_hparam(name, value)
    return self

  def values(self):
    """Returns the hyper-parameters as a dict."""
    return dataclasses.asdict(self)


def cifar_config():
  """The NASNet-A 6@768 CIFAR-10 configuration."""
  return NasNetConfig(
      stem_multiplier=3.0, num_cells=18, num_conv_filters=32,
      drop_path_keep_prob=0.6, skip_reduction_layer_input=0,
      dense_dropout_keep_prob=1.0,
      # 600 epochs with a batch size of 32: drop path strengthens over
      # the course of training.
      total_training_steps=937500)


def large_imagenet_config():
  """The NASNet-A 6@4032 ImageNet configuration."""
  return NasNetConfig(stem_multiplier=3.0, num_cells=18,
                      num_conv_filters=168, drop_path_keep_prob=0.7,
                      skip_reduction_layer_input=1)


def mobile_imagenet_config():
  """The NASNet-A 4@1056 ImageNet configuration."""
  return NasNetConfig(stem_multiplier=1.0, num_cells=12, num_conv_filters=44,
                      drop_path_keep_prob=1.0, skip_reduction_layer_input=0)


def resolve_config(config, default_config, is_training):
  """Returns a private copy of the config to build with.

  Args:
    config: None (use `default_config()`), a `NasNetConfig` (or any
      HParams-like object with the same attributes, deep-copied), or a dict
      of hyper-parameters overriding `default_config()`.
    default_config: the network's config function.
    is_training: outside training drop path is switched off
      (`drop_path_keep_prob` = 1), as the original's `_update_hparams`.

  Returns:
    A config object the caller may modify.

  Raises:
    ValueError: if a dict names an unknown hyper-parameter.
  """
  if config is None:
    hparams = default_config()
  elif isinstance(config, dict):
    hparams = default_config().override_from_dict(config)
  else:
    hparams = copy.deepcopy(config)
  if not is_training:
    hparams.set_hparam('drop_path_keep_prob', 1.0)
  return hparams


def nasnet_arg_scope(weight_decay, batch_norm_decay, batch_norm_epsilon):
  """The arg_scope of every NASNet and PNASNet; they differ by its constants.

  Args:
    weight_decay: the L2 weight decay of every weight.
    batch_norm_decay: decay of the batch-norm moving averages.
    batch_norm_epsilon: added to the variance to avoid dividing by zero.

  Returns:
    An `arg_scope`: FAN_OUT variance scaling, no biases or activation in the
    convolutions, batch norm with a scale.
  """
  batch_norm_params = {
      'decay': batch_norm_decay,
      'epsilon': batch_norm_epsilon,
      'scale': True,
      'fused': True,
  }
  weights_regularizer = slim.l2_regularizer(weight_decay)
  weights_initializer = slim.variance_scaling_initializer(mode='FAN_OUT')
  with slim.arg_scope([slim.fully_connected, slim.conv2d,
                       slim.separable_conv2d],
                      weights_regularizer=weights_regularizer,
                      weights_initializer=weights_initializer):
    with slim.arg_scope([slim.fully_connected], activation_fn=None,
                        scope='FC'):
      with slim.arg_scope([slim.conv2d, slim.separable_conv2d],
                          activation_fn=None, biases_initializer=None):
        with slim.arg_scope([slim.batch_norm], **batch_norm_params) as sc:
          return sc


# Each network's defaults (`weight_decay=` etc. may still be passed).
nasnet_cifar_arg_scope = zoo.wrapped_partial(
    nasnet_arg_scope, weight_decay=5e-4, batch_norm_decay=0.9,
    batch_norm_epsilon=1e-5)
nasnet_mobile_arg_scope = zoo.wrapped_partial(
    nasnet_arg_scope, weight_decay=4e-5, batch_norm_decay=0.9997,
    batch_norm_epsilon=1e-3)
nasnet_large_arg_scope = zoo.wrapped_partial(
    nasnet_arg_scope, weight_decay=5e-5, batch_norm_decay=0.9997,
    batch_norm_epsilon=1e-3)


def _activation(hparams):
  return tf.nn.relu6 if hparams.use_bounded_activation else tf.nn.relu


def _build_aux_head(net, end_points, num_classes, hparams, scope):
  """The auxiliary classifier every NASNet / PNASNet trains with.

  Sets `end_points['AuxLogits']`.
  """
  activation_fn = _activation(hparams)
  with tf1.variable_scope(scope):
    aux_logits = tf.identity(net)
    with tf1.variable_scope('aux_logits'):
      aux_logits = slim.avg_pool2d(aux_logits, [5, 5], stride=3,
                                   padding='VALID')
      aux_logits = slim.conv2d(aux_logits, 128, [1, 1], scope='proj')
      aux_logits = slim.batch_norm(aux_logits, scope='aux_bn0')
      aux_logits = activation_fn(aux_logits)
      # The remaining feature map, convolved away by a VALID conv.
      shape = aux_logits.shape
      shape = shape[1:3] if hparams.data_format == 'NHWC' else shape[2:4]
      aux_logits = slim.conv2d(aux_logits, 768, shape, padding='VALID')
      aux_logits = slim.batch_norm(aux_logits, scope='aux_bn1')
      aux_logits = activation_fn(aux_logits)
      aux_logits = slim.flatten(aux_logits)
      aux_logits = slim.fully_connected(aux_logits, num_classes)
      end_points['AuxLogits'] = aux_logits


def _imagenet_stem(inputs, hparams, stem_cell, current_step=None):
  """The ImageNet stem: a strided 3x3 conv and two reduction cells."""
  num_stem_cells = 2
  num_stem_filters = int(32 * hparams.stem_multiplier)
  # 331 x 331 x 3 -> 165 x 165 x 96 (large); 224 -> 111 x 111 x 32 (mobile)
  net = slim.conv2d(inputs, num_stem_filters, [3, 3], stride=2, scope='conv0',
                    padding='VALID')
  net = slim.batch_norm(net, scope='conv0_bn')

  cell_outputs = [None, net]
  filter_scaling = 1.0 / (hparams.filter_scaling_rate**num_stem_cells)
  for cell_num in range(num_stem_cells):
    net = stem_cell(net, scope=f'cell_stem_{cell_num}',
                    filter_scaling=filter_scaling, stride=2,
                    prev_layer=cell_outputs[-2], cell_num=cell_num,
                    current_step=current_step)
    cell_outputs.append(net)
    filter_scaling *= hparams.filter_scaling_rate
  return net, cell_outputs


def _cifar_stem(inputs, hparams):
  """The CIFAR stem: one 3x3 conv."""
  num_stem_filters = int(hparams.num_conv_filters * hparams.stem_multiplier)
  net = slim.conv2d(inputs, num_stem_filters, 3, scope='l1_stem_3x3')
  net = slim.batch_norm(net, scope='l1_stem_bn')
  return net, [None, net]


def _head(net, end_points, num_classes, hparams):
  """The classifier: activation, global pool, dropout, 'FC', softmax.

  Builds under the 'final_layer' scope (exported names
  'final_layer/FC/BiasAdd' and 'final_layer/predictions').

  Returns:
    (output, end_points) as the network returns them: the logits, the
    pooled features when `num_classes` is 0 or None or `final_endpoint` is
    'global_pool', or the softmax when it is 'Predictions'.
  """
  with tf1.variable_scope('final_layer'):
    net = _activation(hparams)(net)
    net = nasnet_utils.global_avg_pool(net)
    if end_points.add('global_pool', net) or not num_classes:
      return net, end_points
    net = slim.dropout(net, hparams.dense_dropout_keep_prob, scope='dropout')
    logits = slim.fully_connected(net, num_classes)
    # The original returned the dropout output when asked to stop at
    # 'Logits' or 'Predictions'; here every stop returns its end point.
    end_points.add('Logits', logits)
    predictions = tf.nn.softmax(logits, name='predictions')
    if end_points.add('Predictions', predictions):
      return predictions, end_points
  return logits, end_points


def endpoint_names(hparams, reduction_cells=True):
  """The end points a network with `hparams` can stop at, in build order."""
  names = ['Stem']
  reduction_indices = nasnet_utils.calc_reduction_layers(
      hparams.num_cells, hparams.num_reduction_layers)
  for cell_num in range(hparams.num_cells):
    if reduction_cells and cell_num in reduction_indices:
      names.append(f'Reduction_Cell_{reduction_indices.index(cell_num)}')
    names.append(f'Cell_{cell_num}')
  return names + ['global_pool', 'Logits', 'Predictions']


def build_cell_network(images, num_classes, hparams, cell_types, stem,
                       is_training, final_endpoint, current_step, name):
  """Builds a NASNet or a PNASNet: stem, cells, auxiliary head, classifier.

  The one builder of the family; `build_nasnet_*` and
  `pnasnet.build_pnasnet_*` call it with their config and cells.

  Args:
    images: a [batch, height, width, 3] tensor (transposed to NCHW here if
      `hparams.data_format` says so).
    num_classes: the number of classes; 0 or None returns the pooled
      features (end point 'global_pool').
    hparams: the resolved config (see `resolve_config`).
    cell_types: (normal cell class, reduction cell class). NASNet builds a
      reduction cell before the normal cell at each reduction point (and
      its ImageNet stem of them); PNASNet passes None for the reduction
      cell and strides its normal cell there instead (and in its stem).
    stem: 'imagenet' (a strided 3x3 conv and two reduction cells) or
      'cifar' (one 3x3 conv).
    is_training: builds dropout, drop path, batch-norm updates and the
      auxiliary head ('AuxLogits') when True.
    final_endpoint: stop at this end point ('Stem', 'Cell_<i>',
      'Reduction_Cell_<i>', 'global_pool', 'Logits', 'Predictions') and
      return its tensor; None builds the whole network.
    current_step: the training step scheduling drop path (a scalar tensor);
      None uses the graph's global step.
    name: the network's name, for error messages.

  Returns:
    (logits, end_points): logits [batch, num_classes] (or the end point
    `final_endpoint`) and a dict of end points ('Predictions' is the
    softmax, op 'final_layer/predictions').

  Raises:
    ValueError: for an unknown `final_endpoint`, `stem` or
      `hparams.data_format`, before anything is built.
  """
  normal_cell_type, reduction_cell_type = cell_types
  if hparams.data_format not in ('NHWC', 'NCHW'):
    raise ValueError(f"{name}: config.data_format must be 'NHWC' or 'NCHW'; "
                     f'received {hparams.data_format!r}.')
  if stem not in ('imagenet', 'cifar'):
    raise ValueError(f"{name}: stem must be 'imagenet' or 'cifar'; received "
                     f'{stem!r}.')
  if final_endpoint is not None:
    zoo.check_final_endpoint(
        final_endpoint,
        endpoint_names(hparams, reduction_cell_type is not None), name)
  if hparams.data_format == 'NCHW':
    images = tf.transpose(a=images, perm=[0, 3, 1, 2])

  # Drop path scales with a cell's depth among all cells: the normal cells,
  # the two stem cells on ImageNet and, as in the original whatever
  # num_reduction_layers says, two reduction cells in NASNet.
  total_num_cells = (hparams.num_cells + (2 if stem == 'imagenet' else 0) +
                     (2 if reduction_cell_type else 0))
  cell_args = (hparams.num_conv_filters, hparams.drop_path_keep_prob,
               total_num_cells, hparams.total_training_steps,
               hparams.use_bounded_activation)
  normal_cell = normal_cell_type(*cell_args)
  reduction_cell = reduction_cell_type and reduction_cell_type(*cell_args)
  if (is_training and current_step is None and
      hparams.drop_path_keep_prob < 1.0):
    current_step = nasnet_utils.global_step_at_root()

  with slim.arg_scope([slim.dropout, nasnet_utils.drop_path, slim.batch_norm],
                      is_training=is_training), \
       slim.arg_scope([slim.avg_pool2d, slim.max_pool2d, slim.conv2d,
                       slim.batch_norm, slim.separable_conv2d,
                       nasnet_utils.factorized_reduction,
                       nasnet_utils.global_avg_pool,
                       nasnet_utils.get_channel_index,
                       nasnet_utils.get_channel_dim],
                      data_format=hparams.data_format):
    end_points = zoo.EndPoints(final_endpoint=final_endpoint)
    reduction_indices = nasnet_utils.calc_reduction_layers(
        hparams.num_cells, hparams.num_reduction_layers)
    if stem == 'imagenet':
      net, cell_outputs = _imagenet_stem(images, hparams,
                                         reduction_cell or normal_cell,
                                         current_step=current_step)
    else:
      net, cell_outputs = _cifar_stem(images, hparams)
    if end_points.add('Stem', net):
      return net, end_points

    # The auxiliary head follows the cell before the second reduction.
    aux_head_cell_idxes = []
    if len(reduction_indices) >= 2:
      aux_head_cell_idxes.append(reduction_indices[1] - 1)

    filter_scaling = 1.0
    # true_cell_num counts the stem cells too (for drop path).
    true_cell_num = 2 if stem == 'imagenet' else 0
    activation_fn = _activation(hparams)
    prev_layer = None
    for cell_num in range(hparams.num_cells):
      is_reduction = cell_num in reduction_indices
      strided = is_reduction and reduction_cell is None
      if hparams.skip_reduction_layer_input:
        prev_layer = cell_outputs[-2]
      if is_reduction:
        filter_scaling *= hparams.filter_scaling_rate
      if is_reduction and not strided:
        reduction_num = reduction_indices.index(cell_num)
        net = reduction_cell(net, scope=f'reduction_cell_{reduction_num}',
                             filter_scaling=filter_scaling, stride=2,
                             prev_layer=cell_outputs[-2],
                             cell_num=true_cell_num,
                             current_step=current_step)
        if end_points.add(f'Reduction_Cell_{reduction_num}', net):
          return net, end_points
        true_cell_num += 1
        cell_outputs.append(net)
      # As in the original PNASNet, a strided cell without
      # skip_reduction_layer_input keeps the previous cell's prev_layer.
      if not hparams.skip_reduction_layer_input and not strided:
        prev_layer = cell_outputs[-2]
      net = normal_cell(net, scope=f'cell_{cell_num}',
                        filter_scaling=filter_scaling,
                        stride=2 if strided else 1,
                        prev_layer=prev_layer, cell_num=true_cell_num,
                        current_step=current_step)
      if end_points.add(f'Cell_{cell_num}', net):
        return net, end_points
      true_cell_num += 1
      if (hparams.use_aux_head and cell_num in aux_head_cell_idxes and
          num_classes and is_training):
        aux_net = activation_fn(net)
        _build_aux_head(aux_net, end_points, num_classes, hparams,
                        scope=f'aux_{cell_num}')
      cell_outputs.append(net)

    return _head(net, end_points, num_classes, hparams)


NASNET_CELLS = (nasnet_utils.NasNetANormalCell,
                nasnet_utils.NasNetAReductionCell)


def build_nasnet_cifar(images, num_classes, is_training=True,
                       final_endpoint=None, config=None, current_step=None):
  """NASNet-A 6@768 for CIFAR-10's 32 x 32 images.

  A single 3x3 conv as stem, then 18 normal cells of 32 base filters with
  a reduction cell before the 7th and the 13th; drop path keeps 0.6 of the
  paths by the end of training.

  Config: `cifar_config()`. Arguments and result: see the module
  docstring.
  """
  hparams = resolve_config(config, cifar_config, is_training)
  return build_cell_network(images, num_classes, hparams, NASNET_CELLS,
                            'cifar', is_training, final_endpoint,
                            current_step, name='build_nasnet_cifar')


def build_nasnet_mobile(images, num_classes, is_training=True,
                        final_endpoint=None, config=None, current_step=None):
  """NASNet-A 4@1056, the mobile ImageNet network, at 224 x 224.

  A strided 3x3 conv and two reduction cells as stem, then 12 normal cells
  of 44 base filters with a reduction cell before the 5th and the 9th; no
  drop path.

  Config: `mobile_imagenet_config()`. Arguments and result: see the module
  docstring.
  """
  hparams = resolve_config(config, mobile_imagenet_config, is_training)
  return build_cell_network(images, num_classes, hparams, NASNET_CELLS,
                            'imagenet', is_training, final_endpoint,
                            current_step, name='build_nasnet_mobile')


def build_nasnet_large(images, num_classes, is_training=True,
                       final_endpoint=None, config=None, current_step=None):
  """NASNet-A 6@4032, the large ImageNet network, at 331 x 331.

  The ImageNet stem (96 filters), then 18 normal cells of 168 base filters
  with reduction cells before the 7th and the 13th; each cell after a
  reduction reads the state before the reduction's input.

  Config: `large_imagenet_config()`. Arguments and result: see the module
  docstring.
  """
  hparams = resolve_config(config, large_imagenet_config, is_training)
  return build_cell_network(images, num_classes, hparams, NASNET_CELLS,
                            'imagenet', is_training, final_endpoint,
                            current_step, name='build_nasnet_large')


build_nasnet_cifar.default_image_size = 32
build_nasnet_mobile.default_image_size = 224
build_nasnet_large.default_image_size = 331
