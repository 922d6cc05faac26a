"""TF-Slim's layers on TensorFlow core ops, split by concept.

  conv.py           convolution (1/2/3-d), in-plane, transposed, separable
  core.py           fully_connected, bias_add, dropout, flatten, softmax,
                    one_hot_encoding, unit_norm, repeat, stack
  normalization.py  batch_norm, layer_norm
  pooling.py        max/avg pooling, 2-d and 3-d
  utils.py          output aliases and collections (end_points helpers)

Every layer is `add_arg_scope`-decorated and keeps TF-Slim's argument
names, order and defaults, scope names, variable names and op names, so
checkpoints and exported node names carry over. `slim/__init__.py` serves
the names in `__all__` flat (`slim.conv2d`, `slim.utils`, ...).
"""
from slim.layers import conv
from slim.layers import core
from slim.layers import normalization
from slim.layers import pooling
from slim.layers import utils
from slim.layers.conv import *  # pylint: disable=wildcard-import
from slim.layers.core import *  # pylint: disable=wildcard-import
from slim.layers.normalization import *  # pylint: disable=wildcard-import
from slim.layers.pooling import *  # pylint: disable=wildcard-import
from slim.layers.utils import convert_collection_to_dict

__all__ = sorted(
    conv.__all__ + core.__all__ + normalization.__all__ + pooling.__all__ +
    # `slim.utils.convert_collection_to_dict(...)` is how upstream network
    # code builds end_points, so `utils` is served flat as well.
    ['convert_collection_to_dict', 'utils'])
