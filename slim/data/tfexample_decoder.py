"""Decodes serialized `tf.train.Example` protos into named items.

A `TFExampleDecoder` pairs the features to parse (`keys_to_features`, the
`tf.io.FixedLenFeature` / `VarLenFeature` specs of the Example) with item
handlers that turn parsed features into items:

    keys_to_features = {
        'image/encoded': tf.io.FixedLenFeature((), tf.string, ''),
        'image/format': tf.io.FixedLenFeature((), tf.string, 'png'),
        'image/class/label': tf.io.FixedLenFeature((), tf.int64, 0),
    }
    items_to_handlers = {
        'image': Image(),                       # image/encoded + image/format
        'label': Tensor('image/class/label'),
    }
    decoder = TFExampleDecoder(keys_to_features, items_to_handlers)
    image, label = decoder.decode(serialized_example, ['image', 'label'])

Handlers build graph ops only when `tensors_to_item` is called, so the same
decoder can be used in a plain graph and inside `tf.data.Dataset.map`.
"""
import abc

import tensorflow as tf

from slim.data import data_decoder

__all__ = [
    'BackupHandler', 'BoundingBox', 'Image', 'ItemHandler',
    'ItemHandlerCallback', 'LookupTensor', 'SparseTensor', 'Tensor',
    'TFExampleDecoder',
]

_RAW_FORMATS = ('raw', 'RAW')


class ItemHandler(abc.ABC):
  """Turns a set of parsed features (by key) into one item."""

  def __init__(self, keys):
    """Creates the handler.

    Args:
      keys: the feature key (a string) or keys (a list) the handler reads.
    """
    if isinstance(keys, (tuple, list)):
      self._keys = list(keys)
    else:
      self._keys = [keys]

  @property
  def keys(self):
    """The feature keys this handler reads."""
    return self._keys

  @abc.abstractmethod
  def tensors_to_item(self, keys_to_tensors):
    """Builds the item from the parsed features.

    Args:
      keys_to_tensors: a dict feature key -> Tensor or SparseTensor, holding
        at least `self.keys`.

    Returns:
      The item, a Tensor.
    """


class ItemHandlerCallback(ItemHandler):
  """A handler that calls `func(keys_to_tensors)`."""

  def __init__(self, keys, func):
    """Creates the handler.

    Args:
      keys: the feature key or keys passed to `func`.
      func: a callable taking a dict feature key -> tensor and returning the
        item.
    """
    super().__init__(keys)
    self._func = func

  def tensors_to_item(self, keys_to_tensors):
    return self._func(keys_to_tensors)


class Tensor(ItemHandler):
  """A feature as a dense tensor, optionally reshaped."""

  def __init__(self, tensor_key, shape_keys=None, shape=None, default_value=0):
    """Creates the handler.

    Args:
      tensor_key: the feature key of the tensor.
      shape_keys: optional feature key(s) whose values, concatenated, give
        the tensor's shape (e.g. ['image/height', 'image/width']).
      shape: optional static shape to reshape to. At most one of `shape` and
        `shape_keys` may be given.
      default_value: the value of missing entries when a sparse feature is
        made dense.

    Raises:
      ValueError: if both `shape` and `shape_keys` are given.
    """
    if shape_keys is not None and shape is not None:
      raise ValueError('Tensor: give at most one of shape_keys and shape; '
                       f'received shape_keys={shape_keys!r} and '
                       f'shape={shape!r}.')
    if isinstance(shape_keys, str):
      shape_keys = [shape_keys]
    self._tensor_key = tensor_key
    self._shape_keys = shape_keys
    self._shape = shape
    self._default_value = default_value
    keys = [tensor_key]
    if shape_keys:
      keys.extend(shape_keys)
    super().__init__(keys)

  def tensors_to_item(self, keys_to_tensors):
    tensor = keys_to_tensors[self._tensor_key]
    shape = self._shape
    if self._shape_keys:
      shape_dims = []
      for key in self._shape_keys:
        dim = keys_to_tensors[key]
        if isinstance(dim, tf.SparseTensor):
          dim = tf.sparse.to_dense(dim)
        shape_dims.append(tf.reshape(dim, [-1]))
      shape = tf.concat(shape_dims, axis=0)
    if isinstance(tensor, tf.SparseTensor):
      if shape is not None:
        tensor = tf.sparse.reshape(tensor, shape)
      tensor = tf.sparse.to_dense(tensor, self._default_value)
    elif shape is not None:
      tensor = tf.reshape(tensor, shape)
    return tensor


class LookupTensor(Tensor):
  """A feature mapped through a lookup table (e.g. class text -> id)."""

  def __init__(self, tensor_key, table, shape_keys=None, shape=None,
               default_value=''):
    """Creates the handler.

    Args:
      tensor_key: the feature key of the tensor to look up.
      table: a lookup table (e.g. `tf.lookup.StaticHashTable`). A provider
        whose decoder captures a table initializes its iterator through the
        TABLE_INITIALIZERS collection.
      shape_keys: see `Tensor`.
      shape: see `Tensor`.
      default_value: see `Tensor`.
    """
    self._table = table
    super().__init__(tensor_key, shape_keys, shape, default_value)

  def tensors_to_item(self, keys_to_tensors):
    return self._table.lookup(super().tensors_to_item(keys_to_tensors))


class BackupHandler(ItemHandler):
  """Uses `handler`'s item, or `backup`'s when that item is empty."""

  def __init__(self, handler, backup):
    """Creates the handler.

    Args:
      handler: the primary ItemHandler.
      backup: the ItemHandler used when the primary item has no elements.

    Raises:
      TypeError: if either is not an ItemHandler.
    """
    for name, value in (('handler', handler), ('backup', backup)):
      if not isinstance(value, ItemHandler):
        raise TypeError(f'BackupHandler: {name} must be an ItemHandler; '
                        f'received {type(value).__name__}.')
    self._handler = handler
    self._backup = backup
    super().__init__(handler.keys + backup.keys)

  def tensors_to_item(self, keys_to_tensors):
    item = self._handler.tensors_to_item(keys_to_tensors)
    return tf.cond(
        tf.equal(tf.size(item), 0),
        lambda: self._backup.tensors_to_item(keys_to_tensors),
        lambda: item)


class SparseTensor(ItemHandler):
  """A SparseTensor assembled from index, value and shape features."""

  def __init__(self, indices_key=None, values_key=None, shape_key=None,
               shape=None, densify=False, default_value=0):
    """Creates the handler.

    Args:
      indices_key: feature key of the indices (default 'indices').
      values_key: feature key of the values (default 'values').
      shape_key: optional feature key of the dense shape.
      shape: optional static dense shape, used when `shape_key` is None.
      densify: return a dense tensor instead of a SparseTensor.
      default_value: the fill value when densifying.
    """
    self._indices_key = indices_key or 'indices'
    self._values_key = values_key or 'values'
    self._shape_key = shape_key
    self._shape = shape
    self._densify = densify
    self._default_value = default_value
    keys = [self._indices_key, self._values_key]
    if shape_key:
      keys.append(shape_key)
    super().__init__(keys)

  def tensors_to_item(self, keys_to_tensors):
    indices = keys_to_tensors[self._indices_key]
    values = keys_to_tensors[self._values_key]
    if self._shape_key:
      shape = keys_to_tensors[self._shape_key]
      if isinstance(shape, tf.SparseTensor):
        shape = tf.sparse.to_dense(shape)
    elif self._shape is not None:
      shape = tf.constant(self._shape, tf.int64)
    else:
      shape = indices.dense_shape
    # The index feature's values become the last index column; its own
    # leading columns (all but its position column) are kept.
    ids = tf.cast(indices.values, tf.int64)
    new_indices = tf.concat(
        [indices.indices[:, :-1], tf.reshape(ids, [-1, 1])], axis=1)
    tensor = tf.SparseTensor(new_indices, values.values,
                             tf.cast(shape, tf.int64))
    if self._densify:
      tensor = tf.sparse.to_dense(tensor, self._default_value)
    return tensor


class Image(ItemHandler):
  """An encoded image (JPEG, PNG, GIF, BMP or raw bytes) as a tensor.

  The format feature selects raw decoding for 'raw'/'RAW'; every other value
  ('jpeg', 'JPEG', 'jpg', 'png', 'PNG', ...) is decoded from the bytes'
  header, so a wrong format string does not break decoding. JPEGs go through
  `tf.io.decode_jpeg` so that `dct_method` applies.
  """

  def __init__(self, image_key=None, format_key=None, shape=None, channels=3,
               dtype=tf.uint8, repeated=False, dct_method=''):
    """Creates the handler.

    Args:
      image_key: feature key of the encoded bytes (default 'image/encoded').
      format_key: feature key of the format string (default 'image/format').
      shape: optional shape [height, width, channels] the image is reshaped
        to; required for raw images, which carry no shape.
      channels: number of color channels to decode to (0: as stored).
      dtype: the output dtype. Decoded images are cast to it; raw bytes are
        reinterpreted as it.
      repeated: the feature holds a list of images; the item is then a stack
        of them (all must have the same shape).
      dct_method: JPEG decoding method, '' (system default), 'INTEGER_FAST'
        or 'INTEGER_ACCURATE'.
    """
    self._image_key = image_key or 'image/encoded'
    self._format_key = format_key or 'image/format'
    self._shape = shape
    self._channels = channels
    self._dtype = tf.as_dtype(dtype)
    self._repeated = repeated
    self._dct_method = dct_method
    super().__init__([self._image_key, self._format_key])

  def tensors_to_item(self, keys_to_tensors):
    image_buffer = keys_to_tensors[self._image_key]
    image_format = keys_to_tensors[self._format_key]
    if self._repeated:
      return tf.map_fn(lambda buffer: self._decode(buffer, image_format),
                       image_buffer, fn_output_signature=self._dtype)
    return self._decode(image_buffer, image_format)

  def _decode(self, image_buffer, image_format):
    channels = self._channels or None

    def decode_raw():
      image = tf.io.decode_raw(image_buffer, out_type=self._dtype)
      if self._shape is None:
        check = tf.debugging.Assert(
            tf.constant(False),
            ['Image: an image with format "raw" needs the `shape` argument '
             'of slim.tfexample_decoder.Image, since raw bytes carry no '
             'height or width.'])
        with tf.control_dependencies([check]):
          return tf.zeros([0, 0, channels or 1], self._dtype)
      return tf.reshape(image, self._shape)

    def decode_jpeg():
      return tf.cast(
          tf.io.decode_jpeg(image_buffer, channels=self._channels or 0,
                            dct_method=self._dct_method), self._dtype)

    def decode_other():
      return tf.cast(
          tf.io.decode_image(image_buffer, channels=self._channels or 0,
                             expand_animations=False), self._dtype)

    def decode_encoded():
      return tf.cond(tf.io.is_jpeg(image_buffer), decode_jpeg, decode_other,
                     name='cond_jpeg')

    is_raw = tf.reduce_any(
        tf.equal(image_format, tf.constant(_RAW_FORMATS)))
    image = tf.cond(is_raw, decode_raw, decode_encoded, name='cond_raw')
    image.set_shape([None, None, channels])
    if self._shape is not None:
      image = tf.reshape(image, self._shape)
    return image


class BoundingBox(ItemHandler):
  """Boxes from four float-list features, as a [num_boxes, 4] tensor.

  With the default keys the columns are [ymin, xmin, ymax, xmax], the order
  `tf.image.draw_bounding_boxes` and slim's preprocessing expect.
  """

  def __init__(self, keys=None, prefix=''):
    """Creates the handler.

    Args:
      keys: the four coordinate names, in output column order (default
        ['ymin', 'xmin', 'ymax', 'xmax']).
      prefix: prepended to each name to form the feature key, e.g.
        'image/object/bbox/'.

    Raises:
      ValueError: if `keys` does not hold exactly four names.
    """
    if keys is None:
      keys = ['ymin', 'xmin', 'ymax', 'xmax']
    elif len(keys) != 4:
      raise ValueError('BoundingBox: keys must hold 4 names (e.g. ymin, xmin, '
                       f'ymax, xmax); received {len(keys)}: {list(keys)!r}.')
    self._prefix = prefix
    self._full_keys = [prefix + key for key in keys]
    super().__init__(self._full_keys)

  def tensors_to_item(self, keys_to_tensors):
    sides = []
    for key in self._full_keys:
      side = keys_to_tensors[key]
      if isinstance(side, tf.SparseTensor):
        side = side.values
      sides.append(tf.reshape(side, [-1]))
    return tf.stack(sides, axis=1)


class TFExampleDecoder(data_decoder.DataDecoder):
  """Decodes a serialized tf.train.Example into the items of its handlers."""

  def __init__(self, keys_to_features, items_to_handlers):
    """Creates the decoder.

    Args:
      keys_to_features: a dict feature key -> `tf.io.FixedLenFeature`,
        `VarLenFeature`, `FixedLenSequenceFeature` or `SparseFeature`, as
        for `tf.io.parse_single_example`.
      items_to_handlers: a dict item name -> ItemHandler.

    Raises:
      TypeError: if a handler is not an ItemHandler.
      ValueError: if a handler reads a key missing from `keys_to_features`.
    """
    for item, handler in items_to_handlers.items():
      if not isinstance(handler, ItemHandler):
        raise TypeError(f'items_to_handlers[{item!r}] must be an ItemHandler;'
                        f' received {type(handler).__name__}.')
      missing = [key for key in handler.keys if key not in keys_to_features]
      if missing:
        raise ValueError(
            f'items_to_handlers[{item!r}] reads feature keys {missing} that '
            'keys_to_features does not define; defined keys are '
            f'{sorted(keys_to_features)}.')
    self._keys_to_features = dict(keys_to_features)
    self._items_to_handlers = dict(items_to_handlers)

  @property
  def keys_to_features(self):
    """The feature specs parsed from each Example."""
    return self._keys_to_features

  @property
  def items_to_handlers(self):
    """The handler of each item."""
    return self._items_to_handlers

  def list_items(self):
    """Returns the names of the decodable items, as a list."""
    return list(self._items_to_handlers)

  def decode(self, serialized_example, items=None):
    """Decodes one serialized Example.

    Args:
      serialized_example: a scalar string tensor.
      items: the item names to decode; None or empty decodes all of them.

    Returns:
      A list of tensors, one per item, in the order of `items` (of
      `list_items()` when `items` is None).

    Raises:
      ValueError: if an item is unknown.
    """
    if not items:
      items = self.list_items()
    unknown = [item for item in items if item not in self._items_to_handlers]
    if unknown:
      raise ValueError(f'items: unknown items {unknown}; valid items are '
                       f'{sorted(self._items_to_handlers)}.')
    example = tf.io.parse_single_example(serialized_example,
                                         self._keys_to_features)
    for key in sorted(self._keys_to_features):
      spec = self._keys_to_features[key]
      if isinstance(spec, tf.io.FixedLenFeature):
        example[key] = tf.reshape(example[key], spec.shape)
    outputs = []
    for item in items:
      handler = self._items_to_handlers[item]
      keys_to_tensors = {key: example[key] for key in handler.keys}
      outputs.append(handler.tensors_to_item(keys_to_tensors))
    return outputs
