// Kernel backends: the reference is always there; the others register here.
export * from './backend.js';
export {
  registerBackend,
  setBackend,
  withBackend,
  getBackend,
  activeBackend,
  setAutoChooser,
  getBackendByName,
  ownKernels,
  backendNames,
  describeBackend,
  backendCalls,
  disposeBackends,
  referenceBackend,
} from './registry.js';
export { jsBackend } from './js.js';
