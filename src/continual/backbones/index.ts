// The backbones: what they share, each backbone's class and definition, and
// the registry that lists them.
export { BackboneBase, type LayerParameters, type ParameterOverrides, type WeightedModule, type ActivationName, ACTIVATIONS } from './common.js';
export { type BackboneConfigOf, type BackboneDefinition, type DefinedBackbone, defineBackbone, instantiateBackbone } from './definition.js';
export { BACKBONE_DEFINITIONS, type BackboneConfig, type BackboneName, type ConfiguredBackbone, createBackbone } from './registry.js';
export { MLP, type MLPOptions, mlpDefinition } from './mlp.js';
export { CNN, type CNNOptions, cnnDefinition } from './cnn.js';
export { ResNet18, BasicBlock, resnet18Definition } from './resnet.js';
