import type { Logger } from '../../src/logger.js';
import { startIotBroker, type IotBroker } from './broker.js';
import { createCertificateAuthority, fingerprintOf, issueCertificate, type KeyPair } from './certs.js';
import { startHttpsPublish } from './https-publish.js';
import { startDataPlane } from './data-plane.js';
import { Meter } from './meter.js';
import { gatewayThingPolicy, type PolicyDocument } from './policy.js';
import { Registry } from './registry.js';
import { JobsService } from './jobs-service.js';
import { ShadowService } from './shadow-service.js';

/** The name under which the emulator files its default gateway policy. */
export const GATEWAY_POLICY = 'fieldgate-gateway';

export interface AwsEmulatorOptions {
  host: string;
  /** MQTT port (IoT Core: 8883); 0 picks a free one. */
  mqttPort: number;
  /** HTTPS publish port (IoT Core: 8443); 0 picks a free one. */
  httpsPort: number;
  /**
   * Port of the service APIs over HTTPS with SigV4 (the IoT data plane: shadows and Publish; CreateJob and
   * DescribeJobExecution), for a service app using the official SDK; 0 picks a free one, absent: none.
   */
  dataPort?: number;
  log: Logger;
  /** The CA and endpoint certificate; minted afresh when absent. */
  ca?: KeyPair;
  server?: KeyPair;
  registry?: Registry;
  connectDenial?: 'close' | 'connack';
  /**
   * Require ALPN `x-amzn-mqtt-ca` on the MQTT port, as IoT Core does on port 443
   * (docs/clouds/aws-iot-core.md#endpoints-and-authentication); default: when `mqttPort` is 443.
   */
  requireAlpn?: boolean;
  /** How long the shadow service takes to answer a request; default 5 ms, 0 answers synchronously. */
  shadowLatencyMs?: number;
  /** Length of a Jobs step-timeout "minute"; tests shorten it. Default 60,000 ms. */
  jobsMinuteMs?: number;
  /**
   * The broker's clock (publish-rate windows, CONNECT spacing) and the meter's; tests freeze it so
   * that a rate limit does not depend on how fast the machine is.
   */
  now?: () => number;
}

export interface AwsEmulator {
  broker: IotBroker;
  mqttPort: number;
  httpsPort: number;
  /** The service APIs' port, when `dataPort` was given. */
  dataPort?: number;
  registry: Registry;
  meter: Meter;
  /** The Device Shadow service; the cloud side sets `desired` through it. */
  shadows: ShadowService;
  /** The Jobs service; the cloud side creates jobs and reads executions through it. */
  jobs: JobsService;
  /** The CA devices must trust (`caFile`) and whose certificates the emulator accepts. */
  ca: KeyPair;
  /**
   * Mint a device certificate for `thing`, register it as active and attach `policy` (default: the
   * gateway thing policy with the literal thing name, which also allows HTTPS publish).
   */
  mintDevice(thing: string, policy?: PolicyDocument): Promise<KeyPair>;
  close(): Promise<void>;
}

/** The endpoint certificate's names: connect with `servername: localhost` (or the IP, with SNI set). */
export const EMULATOR_SERVER_NAMES = ['localhost', '127.0.0.1'];

/**
 * A local, device-side AWS IoT Core (docs/clouds/aws-iot-core.md#what-the-emulator-must-do): the MQTT broker
 * with mutual TLS, policies and
 * IoT Core's limits, HTTPS publish into the same broker, a registry and metering counters.
 */
export async function startAwsEmulator(options: AwsEmulatorOptions): Promise<AwsEmulator> {
  const ca = options.ca ?? (await createCertificateAuthority());
  const server =
    options.server ??
    (await issueCertificate(ca, {
      commonName: 'localhost',
      usage: 'server',
      altNames: EMULATOR_SERVER_NAMES,
    }));
  const registry = options.registry ?? new Registry();
  const meter = new Meter(options.now);
  const broker = await startIotBroker({
    host: options.host,
    port: options.mqttPort,
    ca,
    server,
    registry,
    meter,
    log: options.log,
    ...(options.connectDenial === undefined ? {} : { connectDenial: options.connectDenial }),
    ...(options.now === undefined ? {} : { now: options.now }),
    ...(options.requireAlpn === undefined ? {} : { requireAlpn: options.requireAlpn }),
  });
  const shadows = new ShadowService({
    aedes: broker.aedes,
    meter,
    log: options.log,
    hasThing: (thing) => registry.hasThing(thing),
    ...(options.shadowLatencyMs === undefined ? {} : { latencyMs: options.shadowLatencyMs }),
  });
  const jobs = new JobsService({
    aedes: broker.aedes,
    deliverTo: (clientId, topic, payload) => broker.deliverTo(clientId, topic, payload),
    log: options.log,
    ...(options.jobsMinuteMs === undefined ? {} : { minuteMs: options.jobsMinuteMs }),
  });
  const https = await startHttpsPublish({
    host: options.host,
    port: options.httpsPort,
    ca,
    server,
    registry,
    meter,
    aedes: broker.aedes,
    log: options.log,
  });
  const dataPlane =
    options.dataPort === undefined
      ? undefined
      : await startDataPlane({
          host: options.host,
          port: options.dataPort,
          server,
          shadows,
          jobs,
          aedes: broker.aedes,
          meter,
          log: options.log,
          ...(options.now === undefined ? {} : { now: options.now }),
        });
  const mintDevice = async (thing: string, policy?: PolicyDocument): Promise<KeyPair> => {
    const pair = await issueCertificate(ca, { commonName: thing, usage: 'client' });
    const policyName = policy === undefined ? `${GATEWAY_POLICY}-${thing}` : `policy-${thing}`;
    registry.putPolicy(policyName, policy ?? gatewayThingPolicy(thing));
    registry.registerCertificate(fingerprintOf(pair.certPem), thing, [policyName]);
    return pair;
  };
  return {
    broker,
    mqttPort: broker.port,
    httpsPort: https.port,
    ...(dataPlane === undefined ? {} : { dataPort: dataPlane.port }),
    registry,
    meter,
    shadows,
    jobs,
    ca,
    mintDevice,
    close: async () => {
      jobs.close();
      await dataPlane?.close();
      await https.close();
      await broker.close();
    },
  };
}
