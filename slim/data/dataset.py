"""`Dataset`: the description of a dataset split that a provider reads.

    dataset = slim.dataset.Dataset(
        data_sources='/data/flowers/flowers_train_*.tfrecord',
        reader=tf.data.TFRecordDataset,
        decoder=slim.tfexample_decoder.TFExampleDecoder(keys, handlers),
        num_samples=3320,
        items_to_descriptions={'image': 'A color image.', 'label': '0-4'},
        num_classes=5, labels_to_names={0: 'daisy', ...})

It is a plain record: extra keyword arguments become attributes
(`dataset.num_classes`, `dataset.labels_to_names`, ...).
"""

__all__ = ['Dataset']


class Dataset:
  """A dataset split: files, how to read them, how to decode a record.

  Attributes:
    data_sources: a file pattern, a file name, or a list of either.
    reader: how to read records from one file. Either a callable
      `reader(filename, **reader_kwargs)` returning a `tf.data.Dataset` of
      serialized records (such as `tf.data.TFRecordDataset`, the default when
      None), or the legacy `tf.compat.v1.TFRecordReader` class, which is read
      as TFRecords.
    decoder: a `slim.data_decoder.DataDecoder`, usually a `TFExampleDecoder`.
    num_samples: the number of samples in the split.
    items_to_descriptions: a dict item name -> human readable description.
    Any keyword argument given to the constructor (num_classes,
    labels_to_names, ...) is an attribute too.
  """

  def __init__(self, data_sources, reader, decoder, num_samples,
               items_to_descriptions, **kwargs):
    """Creates the record.

    Args:
      data_sources: a file pattern, a file name, or a list of either.
      reader: see the class docstring; None means TFRecords.
      decoder: a `DataDecoder`.
      num_samples: the number of samples in the split.
      items_to_descriptions: a dict item name -> description.
      **kwargs: extra attributes, e.g. `num_classes`, `labels_to_names`.
    """
    kwargs['data_sources'] = data_sources
    kwargs['reader'] = reader
    kwargs['decoder'] = decoder
    kwargs['num_samples'] = num_samples
    kwargs['items_to_descriptions'] = items_to_descriptions
    self.__dict__.update(kwargs)

  def __repr__(self):
    fields = ', '.join(f'{k}={v!r}' for k, v in sorted(self.__dict__.items())
                       if k not in ('decoder', 'labels_to_names',
                                    'items_to_descriptions'))
    return f'Dataset({fields})'
