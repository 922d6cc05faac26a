"""The contract of a data provider: the items of one example, by name.

    provider = SomeProvider(...)
    image, label = provider.get(['image', 'label'])

Tensors returned by separate `get` calls belong to the same example.
"""
import abc

__all__ = ['DataProvider']


class DataProvider(abc.ABC):
  """Maps item names to the tensors of one example.

  Subclasses fill `items_to_tensors` (a dict item name -> tensor) and the
  number of samples; `get` then selects from it.
  """

  def __init__(self, items_to_tensors, num_samples):
    """Creates the provider.

    Args:
      items_to_tensors: a dict mapping item names to tensors.
      num_samples: the number of samples in the underlying dataset.
    """
    self._items_to_tensors = items_to_tensors
    self._num_samples = num_samples

  def get(self, items):
    """Returns the tensors of `items`, in the same order.

    Args:
      items: a list or tuple of item names.

    Returns:
      A list of tensors.

    Raises:
      TypeError: if `items` is not a list or tuple.
      ValueError: if an item is not provided.
    """
    self._validate_items(items)
    return [self._items_to_tensors[item] for item in items]

  def list_items(self):
    """Returns the names of the items this provider can give, as a list."""
    return list(self._items_to_tensors)

  def num_samples(self):
    """Returns the number of samples in the dataset."""
    return self._num_samples

  def _validate_items(self, items):
    if not isinstance(items, (list, tuple)):
      raise TypeError('items must be a list or tuple of item names; received '
                      f'{items!r} of type {type(items).__name__}.')
    valid_items = self.list_items()
    for item in items:
      if item not in valid_items:
        raise ValueError(f'items: unknown item {item!r}; valid items are '
                         f'{sorted(valid_items)}.')
