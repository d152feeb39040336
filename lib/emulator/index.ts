// Public entry of `ofauth-upload-stream/emulator`: a strict local OFAuth upload server.
export { startEmulator } from './server';
export {
  DEFAULT_EMULATOR_API_KEY,
  DEFAULT_FORGET_AFTER_MS,
  DEFAULT_MAX_HELD_PARTS,
  DEFAULT_MAX_REQUEST_LOG,
  DEFAULT_PART_SIZE,
} from './options';
export { partRanges } from './plan-maker';
export { pseudoRandomBytes } from './prng';
export { MALFORMED_PLAN_KINDS, malformPlan, type MalformedPlanKind } from './malformed-plans';
export type {
  ByteRange,
  Emulator,
  EmulatorHashing,
  EmulatorMode,
  EmulatorModeAlias,
  EmulatorOptions,
  EmulatorPlanPart,
  EmulatorRateLimit,
  EmulatorStats,
  FaultAction,
  FaultRoute,
  FaultRule,
  InitPlan,
  MediaObject,
  MediaType,
  PlanContext,
  PlanlessInit,
  RandomFaultKind,
  RandomFaults,
  RequestRecord,
  RouteName,
  StoredMedia,
  StoredPart,
  UploadType,
} from './types';
