// The tensor engine: tensors, creation, autograd, random numbers, scopes.
export { Tensor, handleOf, type Device, type Shape, type TensorLike, type NestedArray, type ValuesIndices, type IndexSpec } from './tensor.js';
export { type DType, DTYPES, isFloating, type AnyTypedArray } from './dtype.js';
export * from './creation.js';
export * from './functions.js';
export { noGrad, enableGrad, isGradEnabled, grad, type GradOptions } from './autograd.js';
export { manualSeed, getRngState, setRngState } from './random.js';
export { setNumThreads, getNumThreads, cuda, buildConfig, liveTensorCount, linearKernels, setLinearKernels, type LinearKernels } from './runtime.js';
export { tidy, keep, scopeDepth } from './scope.js';
