"""The contract of a data decoder: one serialized record in, named items out.

    decoder = SomeDecoder(...)
    image, label = decoder.decode(serialized_record, ['image', 'label'])

A decoder describes the items it can produce (`list_items`) and builds the
ops that produce them (`decode`); it owns no state, so a provider may call
`decode` inside a `tf.data` map function.
"""
import abc

__all__ = ['DataDecoder']


class DataDecoder(abc.ABC):
  """Turns a serialized record into a list of tensors, one per item."""

  @abc.abstractmethod
  def decode(self, data, items):
    """Decodes `data` into the tensors for `items`.

    Args:
      data: a scalar string tensor holding one serialized record.
      items: the item names to decode, a list of strings.

    Returns:
      A list of tensors, one per item, in the order of `items`.
    """

  @abc.abstractmethod
  def list_items(self):
    """Returns the names of the items this decoder can produce."""
