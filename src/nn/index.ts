// Neural-network building blocks, as torch.nn.
export { Module, type StateDict, type LoadStateDictOptions } from './module.js';
export { Parameter, Buffer } from './parameter.js';
/** Stateless functions of tensors, as torch.nn.functional: activations, convolution, pooling, normalisation, dropout and losses. */
export * as functional from './functional.js';
/** Parameter initialisers, as torch.nn.init, drawing the same values as PyTorch after the same seed. */
export * as init from './init.js';
export { Linear, Identity, type LinearOptions } from './layers/linear.js';
export { Conv2d, type Conv2dOptions } from './layers/conv.js';
export { BatchNorm1d, BatchNorm2d, type BatchNormOptions } from './layers/batchnorm.js';
export { Dropout } from './layers/dropout.js';
export { ReLU, LeakyReLU, Sigmoid, Tanh, GELU, Softmax, LogSoftmax } from './layers/activation.js';
export { MaxPool2d, AvgPool2d, AdaptiveAvgPool2d } from './layers/pooling.js';
export { Flatten } from './layers/flatten.js';
export { Sequential, ModuleList, type UnaryModule } from './layers/container.js';
export { CrossEntropyLoss, NLLLoss, MSELoss, type WeightedLossOptions } from './layers/loss.js';
