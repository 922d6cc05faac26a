"""Imported by every entry point before TensorFlow: hides its C++ banners.

TensorFlow reads TF_CPP_MIN_LOG_LEVEL once, when its libraries load, so this
must run before the first `import tensorflow`. Level 1 hides the C++ INFO
lines (the CPU-instructions banner, MLIR pass and tf.data notes) and keeps
C++ warnings and errors. A value the user set is left alone
(TF_CPP_MIN_LOG_LEVEL=0 shows everything).

Some start-up notices ignore the variable: they are written by absl's C++
logging before it is initialised, once by each of TensorFlow's two shared
libraries ("All log messages before absl::InitializeLog()", the oneDNN
notice, the CUDA-stub notice), and a machine without a GPU driver gets an
error line for the failed `cuInit` when the devices are first listed.
TensorFlow offers no switch for them, so importing this module imports
TensorFlow and lists the devices with file descriptor 2 sent to a temporary
file, then writes back every line that is not one of those notices.
`download_and_convert_data.py` imports this module only when a converter
needs TensorFlow, so that its `--help` stays instant.
"""
import os
import re
import sys
import tempfile

os.environ.setdefault('TF_CPP_MIN_LOG_LEVEL', '1')

# The lines written while TensorFlow loads and first lists its devices that
# say nothing a user can act on (on a machine without a GPU).
_STARTUP_NOTICES = re.compile(
    r'All log messages before absl::InitializeLog\(\) is called'
    r'|oneDNN custom operations are on'
    r'|cudart_stub\.cc.*Could not find cuda drivers'
    r'|cuda_platform\.cc.*failed call to cuInit'
    r'|cuda_executor\.cc.*could not open file to read NUMA node')


def startup_lines_to_keep(text):
  """Returns the lines of `text` (what TensorFlow wrote while loading) that
  are not its start-up notices, each once, in their order."""
  kept = []
  for line in text.splitlines(keepends=True):
    if _STARTUP_NOTICES.search(line) or line in kept:
      continue
    kept.append(line)
  return ''.join(kept)


def import_tensorflow():
  """Imports TensorFlow and lists its devices without the start-up notices.

  Returns:
    The tensorflow module.
  """
  if ('tensorflow' in sys.modules
      or os.environ.get('TF_CPP_MIN_LOG_LEVEL') == '0'):
    import tensorflow  # pylint: disable=g-import-not-at-top
    return tensorflow
  sys.stderr.flush()
  saved_stderr = os.dup(2)
  with tempfile.TemporaryFile(mode='w+b') as captured:
    os.dup2(captured.fileno(), 2)
    failed = True
    try:
      import tensorflow  # pylint: disable=g-import-not-at-top
      tensorflow.config.list_physical_devices()
      failed = False
    finally:
      sys.stderr.flush()
      os.dup2(saved_stderr, 2)
      os.close(saved_stderr)
      captured.seek(0)
      text = captured.read().decode('utf-8', 'replace')
      # A failed import keeps everything: the notices may explain it.
      sys.stderr.write(text if failed else startup_lines_to_keep(text))
      sys.stderr.flush()
  return tensorflow


import_tensorflow()
