"""Plain-numpy references for the layer tests (no TensorFlow in here)."""
import itertools
import math

import numpy as np


def same_padding(size, kernel, stride):
  """TF 'SAME' padding: (output size, pad before, pad after) for one axis."""
  out = math.ceil(size / stride)
  total = max((out - 1) * stride + kernel - size, 0)
  return out, total // 2, total - total // 2


def conv(x, w, stride=1, rate=1, padding='SAME'):
  """N-d cross-correlation of channels-last `x` [N, *S, C] with w [*K, C, O]."""
  n = x.ndim - 2
  stride = [stride] * n if np.isscalar(stride) else list(stride)
  rate = [rate] * n if np.isscalar(rate) else list(rate)
  kernel = w.shape[:n]
  eff = [(k - 1) * r + 1 for k, r in zip(kernel, rate)]
  pads, outs = [], []
  for d in range(n):
    size = x.shape[1 + d]
    if padding.upper() == 'SAME':
      out, before, after = same_padding(size, eff[d], stride[d])
    else:
      out, before, after = math.ceil((size - eff[d] + 1) / stride[d]), 0, 0
    outs.append(out)
    pads.append((before, after))
  xp = np.pad(x, [(0, 0)] + pads + [(0, 0)])
  result = np.zeros([x.shape[0]] + outs + [w.shape[-1]], np.float64)
  for idx in itertools.product(*[range(k) for k in kernel]):
    window = tuple(
        slice(idx[d] * rate[d],
              idx[d] * rate[d] + (outs[d] - 1) * stride[d] + 1, stride[d])
        for d in range(n))
    patch = xp[(slice(None),) + window + (slice(None),)]
    result += np.tensordot(patch, w[idx], axes=([-1], [0]))
  return result


def depthwise_conv(x, w, stride=1, rate=1, padding='SAME'):
  """Depthwise conv: x [N, H, W, C], w [kh, kw, C, M] -> C * M channels."""
  channels, multiplier = w.shape[2], w.shape[3]
  outs = []
  for c in range(channels):
    for m in range(multiplier):
      outs.append(conv(x[..., c:c + 1], w[:, :, c:c + 1, m:m + 1], stride,
                       rate, padding))
  return np.concatenate(outs, axis=-1)


def conv_transpose(x, w, stride, padding):
  """N-d transposed conv: x [N, *S, C_in], w [*K, C_out, C_in]."""
  n = x.ndim - 2
  stride = [stride] * n if np.isscalar(stride) else list(stride)
  kernel = w.shape[:n]
  full = [(s - 1) * st + k for s, st, k in zip(x.shape[1:-1], stride, kernel)]
  result = np.zeros([x.shape[0]] + full + [w.shape[-2]], np.float64)
  for pos in itertools.product(*[range(s) for s in x.shape[1:-1]]):
    for idx in itertools.product(*[range(k) for k in kernel]):
      target = tuple(p * st + i for p, st, i in zip(pos, stride, idx))
      result[(slice(None),) + target] += x[(slice(None),) + pos] @ w[idx].T
  crop = []
  for d in range(n):
    size = x.shape[1 + d]
    if padding == 'SAME':
      out = size * stride[d]
      # The forward conv from `out` to `size` would pad this much in front.
      _, before, _ = same_padding(out, kernel[d], stride[d])
    else:
      out = size * stride[d] + max(kernel[d] - stride[d], 0)
      before = 0
    crop.append(slice(before, before + out))
  return result[(slice(None),) + tuple(crop)]


def pool(x, kernel, stride, padding, mode):
  """N-d max/avg pooling of channels-last x; 'SAME' avg counts valid cells."""
  n = x.ndim - 2
  kernel = [kernel] * n if np.isscalar(kernel) else list(kernel)
  stride = [stride] * n if np.isscalar(stride) else list(stride)
  outs, befores = [], []
  for d in range(n):
    size = x.shape[1 + d]
    if padding == 'SAME':
      out, before, _ = same_padding(size, kernel[d], stride[d])
    else:
      out, before = math.ceil((size - kernel[d] + 1) / stride[d]), 0
    outs.append(out)
    befores.append(before)
  result = np.zeros([x.shape[0]] + outs + [x.shape[-1]], np.float64)
  for pos in itertools.product(*[range(o) for o in outs]):
    window = []
    for d in range(n):
      start = pos[d] * stride[d] - befores[d]
      window.append(slice(max(start, 0),
                          min(start + kernel[d], x.shape[1 + d])))
    patch = x[(slice(None),) + tuple(window) + (slice(None),)]
    axes = tuple(range(1, n + 1))
    value = patch.max(axis=axes) if mode == 'max' else patch.mean(axis=axes)
    result[(slice(None),) + pos] = value
  return result
