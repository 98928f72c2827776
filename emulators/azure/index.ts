/**
 * The Azure IoT Hub emulator's public API, for the tests, the benchmarks and `fieldgate emulate azure`.
 * It speaks IoT Hub's device side over MQTT, AMQP and HTTPS and shares only the pure protocol core
 * (`src/upstream/azure/protocol/`) with the connector. Not part of the release.
 */
export { AzureHubEmulator, type AzureHubOptions } from './hub.js';
export { HubRegistry } from './registry.js';
export { d2cContent, summarizeD2c, type D2cRecord } from './d2c-record.js';
export { C2dQueues, QueueDepthExceededError } from './c2d-queue.js';
export { HubMeter } from './meter.js';
export { checkSasToken } from './sas-check.js';
export { certificateMatchesDevice } from './x509-check.js';
