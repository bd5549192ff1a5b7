// Every backbone a configuration can name, as an explicit list of their
// definitions. Config validation, `perennial list`, docs/configuration.md and
// the runner all read this list; adding a backbone is adding its file and
// one line here.
import { cnnDefinition } from './cnn.js';
import type { BackboneConfigOf } from './definition.js';
import { mlpDefinition } from './mlp.js';
import { resnet18Definition } from './resnet.js';

/** Every backbone a configuration's `backbone.name` can name. */
export const BACKBONE_DEFINITIONS = [mlpDefinition, cnnDefinition, resnet18Definition] as const;

type Definitions = (typeof BACKBONE_DEFINITIONS)[number];

/** The names accepted in `backbone.name`. */
export type BackboneName = Definitions['name'];

/** A validated `backbone` section: a backbone's name and its options, defaults filled. */
export type BackboneConfig = BackboneConfigOf<Definitions>;

/** The backbones the definitions build. */
export type ConfiguredBackbone = ReturnType<Definitions['create']>;

/** A fresh backbone for inputs of `inputShape` ([C, H, W]; the MLP flattens it) from a validated `backbone` section. */
export function createBackbone(config: BackboneConfig, inputShape: readonly number[]): ConfiguredBackbone {
  for (const definition of BACKBONE_DEFINITIONS) {
    const made = definition.createIfNamed(config, inputShape);
    if (made !== null) return made;
  }
  throw new Error(`unknown backbone '${config.name}' (known: ${BACKBONE_DEFINITIONS.map((d) => d.name).join(', ')})`);
}
