"""slim.data: datasets, decoders and providers (TF-Slim's `slim.data`).

A `Dataset` names its files, a reader and a decoder; a `DataDecoder` (here
`TFExampleDecoder`) turns one serialized record into named tensors; a
`DataProvider` (here `DatasetDataProvider`, built on tf.data) reads, shuffles
and decodes the records and hands out the items of one example.
`parallel_reader` reads raw (key, record) pairs from many files at once, with
TF-Slim's `parallel_read` API.
"""
from slim.data import data_decoder
from slim.data import data_provider
from slim.data import dataset
from slim.data import dataset_data_provider
from slim.data import parallel_reader
from slim.data import tfexample_decoder

__all__ = ['data_decoder', 'data_provider', 'dataset',
           'dataset_data_provider', 'parallel_reader', 'tfexample_decoder']
