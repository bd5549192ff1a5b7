// Neural-network building blocks, as torch.nn.
export { Module, type StateDict, type LoadStateDictOptions } from './module.js';
export { Parameter, Buffer } from './parameter.js';
