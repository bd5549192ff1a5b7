export { writeFileAtomic } from './atomic.js';
export {
  saveSafetensors,
  loadSafetensors,
  serializeSafetensors,
  deserializeSafetensors,
  type TensorMap,
  type SafetensorsContents,
} from './safetensors.js';
