"""Hostile inputs for the tests of the paths that read users' images.

`write_huge_png` writes a real, valid PNG of 20000x20000 pixels in a few tens
of KB (1-bit, all black, streamed through zlib, so writing it costs no
memory); decoding it to RGB would take 1.2 GB. `peak_rss_mb` runs a command
in a fresh wrapper process and reports the peak RSS of its children alone.
"""
import json
import os
import struct
import subprocess
import sys
import zlib

_PNG_MAGIC = b'\x89PNG\r\n\x1a\n'

# Runs argv[2:] with inherited stdio, then writes its exit status and the
# peak RSS (ru_maxrss, KiB on Linux) of this wrapper's children to argv[1].
_WRAPPER = '''
import json, resource, subprocess, sys
code = subprocess.call(sys.argv[2:])
rss = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
with open(sys.argv[1], 'w') as f:
  json.dump({'returncode': code, 'maxrss_kb': rss}, f)
'''


def _png_chunk(kind, data):
  return (struct.pack('>I', len(data)) + kind + data
          + struct.pack('>I', zlib.crc32(kind + data)))


def write_huge_png(path, width=20000, height=20000):
  """Writes a valid all-black 1-bit grayscale PNG of width x height.

  Returns:
    The file's size in bytes.
  """
  row = b'\0' * (1 + (width + 7) // 8)  # Filter byte 0, then the bits.
  compressor = zlib.compressobj(9)
  idat = b''.join(compressor.compress(row) for _ in range(height))
  idat += compressor.flush()
  header = struct.pack('>IIBBBBB', width, height, 1, 0, 0, 0, 0)
  data = (_PNG_MAGIC + _png_chunk(b'IHDR', header) + _png_chunk(b'IDAT', idat)
          + _png_chunk(b'IEND', b''))
  with open(path, 'wb') as f:
    f.write(data)
  return len(data)


def peak_rss_mb(args, result_path, cwd=None, env=None, timeout=300):
  """Runs `args` under a fresh wrapper; (CompletedProcess, peak RSS in MB).

  The wrapper has no other children, so the peak is that of `args` alone
  (and of anything it starts).

  Args:
    args: the command, a list.
    result_path: a scratch file for the wrapper's report.
    cwd: working directory.
    env: environment.
    timeout: seconds.
  """
  result = subprocess.run(
      [sys.executable, '-c', _WRAPPER, str(result_path)] + list(args),
      cwd=cwd, env=env, capture_output=True, text=True, timeout=timeout)
  with open(result_path) as f:
    report = json.load(f)
  os.remove(result_path)
  result.returncode = report['returncode']
  return result, report['maxrss_kb'] / 1024.0
