export { writeFileAtomic } from './atomic.js';
export { OutputError, outputError } from './write_errors.js';
export {
  saveSafetensors,
  loadSafetensors,
  serializeSafetensors,
  deserializeSafetensors,
  type TensorMap,
  type SafetensorsContents,
} from './safetensors.js';
