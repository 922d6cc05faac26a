"""Checks that a .tflite file is whole before an interpreter opens it.

`tf.lite.Interpreter` maps the FlatBuffer and follows its offsets without
verifying them (TensorFlow exposes no verifier publicly): a truncated or
damaged file crashes the process (segmentation fault) instead of raising.
`check_tflite_file` walks the model's tables, vectors and strings as the
TFLite schema (tensorflow/lite/schema/schema.fbs) lays them out and checks
that each lies inside the file, so such a file ends in one clear error.
"""
import struct

from image_classifier import fileio

# The 4-byte FlatBuffer file identifier of TFLite models, at bytes 4..8.
IDENTIFIER = b'TFL3'

# Per table, its fields that reference other objects, by field index:
# ('table', name) a table, ('tables', name) a vector of tables, ('vector',
# element size) a vector of scalars, ('string',) a string; name None for a
# table whose fields are not followed (a union's options).
_SCHEMA = {
    'Model': {1: ('tables', 'OperatorCode'), 2: ('tables', 'SubGraph'),
              3: ('string',), 4: ('tables', 'Buffer'), 5: ('vector', 4),
              6: ('tables', 'Metadata'), 7: ('tables', 'SignatureDef')},
    'OperatorCode': {1: ('string',)},
    'SubGraph': {0: ('tables', 'Tensor'), 1: ('vector', 4),
                 2: ('vector', 4), 3: ('tables', 'Operator'),
                 4: ('string',)},
    'Tensor': {0: ('vector', 4), 3: ('string',),
               4: ('table', 'QuantizationParameters'),
               6: ('table', None), 7: ('vector', 4),
               9: ('tables', None)},
    'QuantizationParameters': {0: ('vector', 4), 1: ('vector', 4),
                               2: ('vector', 4), 3: ('vector', 8),
                               5: ('table', None)},
    'Operator': {1: ('vector', 4), 2: ('vector', 4), 4: ('table', None),
                 5: ('vector', 1), 7: ('vector', 1), 8: ('vector', 4),
                 12: ('table', None)},
    'Buffer': {0: ('vector', 1)},
    'Metadata': {0: ('string',)},
    'SignatureDef': {0: ('tables', 'TensorMap'), 1: ('tables', 'TensorMap'),
                     2: ('string',)},
    'TensorMap': {0: ('string',)},
}

# Data kept after the FlatBuffer (models over 2 GB): (offset field, size
# field) of the tables that can point there, both uint64.
_EXTERNAL_DATA = {'Buffer': (1, 2), 'Operator': (9, 10)}


class _Damaged(Exception):
  """An offset or length of the model points outside the file."""


class _Reader:
  """Bounds-checked reads of a FlatBuffer's scalars and objects."""

  def __init__(self, data):
    self.data = data

  def _scalar(self, fmt, pos):
    size = struct.calcsize(fmt)
    if pos < 0 or pos + size > len(self.data):
      raise _Damaged(f'a value at byte {pos:,} is outside it')
    return struct.unpack_from(fmt, self.data, pos)[0]

  def _span(self, start, length, what):
    if start < 0 or start + length > len(self.data):
      raise _Damaged(f'{what} at bytes {start:,}..{start + length:,} is '
                     'outside it')

  def fields(self, table):
    """{field index: absolute position} of a table's present fields."""
    vtable = table - self._scalar('<i', table)
    vtable_size = self._scalar('<H', vtable)
    table_size = self._scalar('<H', vtable + 2)
    if vtable_size < 4 or vtable_size % 2:
      raise _Damaged(f'the table header at byte {vtable:,} is invalid')
    self._span(vtable, vtable_size, 'a table header')
    self._span(table, table_size, 'a table')
    positions = {}
    for index in range((vtable_size - 4) // 2):
      offset = self._scalar('<H', vtable + 4 + 2 * index)
      if offset:
        if offset >= table_size:
          raise _Damaged(f'the table at byte {table:,} has a field past '
                         'its end')
        positions[index] = table + offset
    return positions

  def target(self, position):
    """The absolute position an offset field points at."""
    return position + self._scalar('<I', position)

  def vector(self, position, element_size):
    """The start and length of the vector (or string) at `position`."""
    start = self.target(position)
    length = self._scalar('<I', start)
    self._span(start + 4, length * element_size, 'a vector')
    return start + 4, length

  def uint64(self, position):
    return self._scalar('<Q', position)


def _check_table(reader, table, name, depth=0):
  """Checks a table and, by `_SCHEMA`, everything it references."""
  if depth > 16:
    raise _Damaged('its tables nest too deep')
  fields = reader.fields(table)
  for index, kind in _SCHEMA.get(name, {}).items():
    if index not in fields:
      continue
    position = fields[index]
    if kind[0] in ('string', 'vector'):
      reader.vector(position, kind[1] if kind[0] == 'vector' else 1)
    elif kind[0] == 'table':
      _check_table(reader, reader.target(position), kind[1], depth + 1)
    else:
      start, length = reader.vector(position, 4)
      for i in range(length):
        _check_table(reader, reader.target(start + 4 * i), kind[1],
                     depth + 1)
  if name in _EXTERNAL_DATA:
    offset_field, size_field = _EXTERNAL_DATA[name]
    if offset_field in fields and size_field in fields:
      offset = reader.uint64(fields[offset_field])
      size = reader.uint64(fields[size_field])
      if offset > 1 and offset + size > len(reader.data):
        raise _Damaged(f'{size:,} bytes of data at byte {offset:,} are '
                       'outside it')


def check_tflite_file(path):
  """Fails unless `path` is a whole TFLite FlatBuffer.

  Checks the size, the 'TFL3' identifier, and that every table, vector and
  string the model's schema reaches (subgraphs, tensors, operators,
  buffers, signatures) lies inside the file; for weights kept after the
  FlatBuffer, that they do too.

  Args:
    path: the .tflite file.

  Raises:
    ValueError: naming the file, if it cannot be read or is truncated or
      damaged.
  """
  try:
    data = fileio.read_bytes(path)
  except OSError as e:
    raise ValueError(f'cannot read {path}: {e.strerror or e}.') from e
  if len(data) < 8 or data[4:8] != IDENTIFIER:
    raise ValueError(f'{path} is not a TFLite model (no {IDENTIFIER.decode()} '
                     'identifier at bytes 4..8).')
  reader = _Reader(data)
  try:
    _check_table(reader, reader.target(0), 'Model')
  except _Damaged as e:
    raise ValueError(
        f'{path} is truncated or damaged (a file of {len(data):,} bytes: '
        f'{e}); export it again with tools/export_saved_model.py '
        '--tflite_file.') from None
