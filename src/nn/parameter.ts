// Parameter and Buffer: tensors owned by a module. Neither is recorded by
// scopes; they live until the module (or the caller) disposes them.
import { native } from '../tensor/native.js';
import { Tensor } from '../tensor/tensor.js';

/** A trainable tensor of a module: requires grad, found by namedParameters(). */
export class Parameter extends Tensor {
  /** Takes a detached copy-free alias of `data` (PyTorch's nn.Parameter(data)). */
  constructor(data: Tensor, requiresGrad = true) {
    super(native.detach(data.handle));
    native.setRequiresGrad(this.handle, requiresGrad);
  }
}

/** Non-trainable state of a module (running statistics, counters), saved in its state dict. */
export class Buffer extends Tensor {
  constructor(data: Tensor) {
    super(native.detach(data.handle));
  }
}

/** @internal A Parameter made from a temporary tensor, which is disposed (the storage lives on in the Parameter). */
export function parameterFrom(data: Tensor, requiresGrad = true): Parameter {
  const p = new Parameter(data, requiresGrad);
  data.dispose();
  return p;
}

/** @internal A Buffer made from a temporary tensor, which is disposed. */
export function bufferFrom(data: Tensor): Buffer {
  const b = new Buffer(data);
  data.dispose();
  return b;
}
