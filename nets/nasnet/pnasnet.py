"""PNASNet-5 (mobile and large), checkpoint-exact.

Liu et al., "Progressive Neural Architecture Search",
https://arxiv.org/abs/1712.00559.

PNASNet is built by NASNet's builder (`nasnet.build_cell_network`: stem,
cell loop, auxiliary head, classifier) with NASNet's cell machinery
(`nasnet_utils.FixedCell`); it differs by its cell table and by striding
its normal cell where NASNet inserts a reduction cell.
"""
from nets import zoo
from nets.nasnet import nasnet
from nets.nasnet import nasnet_utils

__all__ = [
    'PNasNetNormalCell', 'large_imagenet_config', 'mobile_imagenet_config',
    'pnasnet_large_arg_scope', 'pnasnet_mobile_arg_scope',
    'build_pnasnet_large', 'build_pnasnet_mobile',
]


def large_imagenet_config():
  """The PNASNet-5 large ImageNet configuration."""
  return nasnet.NasNetConfig(stem_multiplier=3.0, num_cells=12,
                             num_conv_filters=216, drop_path_keep_prob=0.6,
                             skip_reduction_layer_input=1)


def mobile_imagenet_config():
  """The PNASNet-5 mobile ImageNet configuration."""
  return nasnet.NasNetConfig(stem_multiplier=1.0, num_cells=9,
                             num_conv_filters=54, drop_path_keep_prob=1.0,
                             skip_reduction_layer_input=1)


# NASNet's arg_scope with PNASNet's defaults (`weight_decay=` etc. may
# still be passed).
pnasnet_large_arg_scope = zoo.wrapped_partial(
    nasnet.nasnet_arg_scope, weight_decay=4e-5, batch_norm_decay=0.9997,
    batch_norm_epsilon=0.001)
pnasnet_mobile_arg_scope = pnasnet_large_arg_scope


class PNasNetNormalCell(nasnet_utils.FixedCell):
  """The PNASNet-5 cell (strided where the network reduces)."""

  OPERATIONS = (
      'separable_5x5_2', 'max_pool_3x3', 'separable_7x7_2', 'max_pool_3x3',
      'separable_5x5_2', 'separable_3x3_2', 'separable_3x3_2',
      'max_pool_3x3', 'separable_3x3_2', 'none')
  USED_HIDDENSTATES = (1, 1, 0, 0, 0, 0, 0)
  HIDDENSTATE_INDICES = (1, 1, 0, 0, 0, 0, 4, 0, 1, 0)


# PNASNet has no reduction cell: its normal cell strides at the reductions.
PNASNET_CELLS = (PNasNetNormalCell, None)


def build_pnasnet_large(images, num_classes, is_training=True,
                        final_endpoint=None, config=None, current_step=None):
  """PNASNet-5 large for 331 x 331 ImageNet images.

  The ImageNet stem (96 filters, its two cells the strided PNASNet cell),
  then 12 cells of 216 base filters, the 5th and the 9th strided; drop
  path keeps 0.6 of the paths by the end of training.

  Config: `large_imagenet_config()`. Arguments and result: see
  `nets.nasnet.nasnet`'s module docstring.
  """
  hparams = nasnet.resolve_config(config, large_imagenet_config, is_training)
  return nasnet.build_cell_network(images, num_classes, hparams,
                                   PNASNET_CELLS, 'imagenet', is_training,
                                   final_endpoint, current_step,
                                   name='build_pnasnet_large')


def build_pnasnet_mobile(images, num_classes, is_training=True,
                         final_endpoint=None, config=None, current_step=None):
  """PNASNet-5 mobile for 224 x 224 ImageNet images.

  A 32-filter ImageNet stem, then 9 cells of 54 base filters with the 4th
  and the 7th strided; no drop path.

  Config: `mobile_imagenet_config()`. Arguments and result: see
  `nets.nasnet.nasnet`'s module docstring.
  """
  hparams = nasnet.resolve_config(config, mobile_imagenet_config, is_training)
  return nasnet.build_cell_network(images, num_classes, hparams,
                                   PNASNET_CELLS, 'imagenet', is_training,
                                   final_endpoint, current_step,
                                   name='build_pnasnet_mobile')


build_pnasnet_large.default_image_size = 331
build_pnasnet_mobile.default_image_size = 224
