"""slim.data: datasets, decoders and providers (TF-Slim's `slim.data`).

A `Dataset` names its files, a reader and a decoder; a `DataDecoder` (here
`TFExampleDecoder`) turns one serialized record into named tensors; a
`DataProvider` (here `DatasetDataProvider`, built on tf.data) reads, shuffles
and decodes the records and hands out the items of one example.
"""
from slim.data import data_decoder
from slim.data import data_provider
from slim.data import dataset
from slim.data import dataset_data_provider
from slim.data import tfexample_decoder

__all__ = ['data_decoder', 'data_provider', 'dataset',
           'dataset_data_provider', 'tfexample_decoder']
