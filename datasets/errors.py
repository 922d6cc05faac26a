"""The one error class that dataset downloads and converters raise for users.

A `DatasetError` means the user (or the user's environment) has to act: a flag
is wrong, a folder is empty, the network is down, a checksum does not match,
the disk is full. Its message is one sentence that says what was received and
what to do. `download_and_convert_data.py` prints it as a single line and
exits nonzero; anything else that escapes is a bug and keeps its traceback.
"""


class DatasetError(ValueError):
  """A user-facing problem while downloading or converting a dataset."""
