/**
 * The AWS IoT Core emulator's public API, for the tests and `fieldgate emulate aws`: an MQTT 3.1.1 broker
 * over mutual TLS with IoT Core's rules, HTTPS publish, shadows and IoT Jobs. It shares only the pure
 * protocol core (`src/upstream/aws/protocol/`) with the connector. Not part of the release.
 */
export {
  startAwsEmulator,
  GATEWAY_POLICY,
  EMULATOR_SERVER_NAMES,
  type AwsEmulator,
  type AwsEmulatorOptions,
} from './emulator.js';
export { EMULATOR_SERVICE_CREDENTIALS, EMULATOR_ACCOUNT, EMULATOR_REGION } from './data-plane.js';
export { DISCARDED_TOPIC } from './broker.js';
export { openEmulatorState } from './state-dir.js';
export { startJobInbox, type JobInbox } from './job-inbox.js';
export { createCertificateAuthority, issueCertificate, fingerprintOf, type KeyPair } from './certs.js';
export { gatewayThingPolicy, leafShadowStatements, isAllowed, type PolicyDocument } from './policy.js';
export {
  applyUpdate,
  computeDelta,
  emptyShadow,
  parseUpdateRequest,
  type JsonObject,
  type ShadowRecord,
} from './shadow-document.js';
export { filterMatches, publishViolation, subscribeViolation, PublishRate } from './broker-rules.js';
