"""Returns a dataset split by name: `get_dataset('flowers', 'train', dir)`.

`datasets_map` maps each name to its module, which has a `get_split` (as in
the original slim, so `datasets_map['flowers'].get_split(...)` works); each
module's `DESCRIPTOR` holds the facts (see datasets/descriptor.py). The
names and modules come from the one record per dataset, datasets/registry.py.
"""
from datasets import registry

__all__ = ['datasets_map', 'get_dataset', 'get_descriptor']

datasets_map = {record.name: record.descriptor()
                for record in registry.DATASETS}


def _dataset_module(name):
  if name not in datasets_map:
    raise ValueError(f'dataset_name: unknown dataset {name!r}; valid names '
                     f'are {sorted(datasets_map)}.')
  return datasets_map[name]


def get_descriptor(name):
  """Returns the `DatasetDescriptor` of dataset `name`.

  Raises:
    ValueError: if the name is unknown.
  """
  return _dataset_module(name).DESCRIPTOR


def get_dataset(name, split_name, dataset_dir, file_pattern=None,
                reader=None):
  """Returns a split of a dataset.

  Args:
    name: the dataset name, one of `datasets_map`.
    split_name: the split, e.g. 'train' or 'validation'.
    dataset_dir: the directory holding the converted TFRecords.
    file_pattern: overrides the dataset's file pattern (`%s` is the split).
    reader: how to read a file; None reads TFRecords (see
      `slim.dataset.Dataset`).

  Returns:
    A `slim.dataset.Dataset`.

  Raises:
    ValueError: if the name or split is unknown, dataset_dir is unusable or
      no file matches the split's pattern.
  """
  return _dataset_module(name).get_split(split_name, dataset_dir,
                                         file_pattern, reader)
