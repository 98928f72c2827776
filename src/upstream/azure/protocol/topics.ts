/**
 * IoT Hub's fixed MQTT topics for one device identity (docs/clouds/azure-iot-hub.md#mqtt-topics). Pure.
 */

/** The api-version the Node device SDK puts in the username. */
export const API_VERSION = '2021-04-12';

export const METHODS_FILTER = '$iothub/methods/POST/#';

/**
 * The device twin's response and desired-patch topics. Subscribe to both before the first request: the hub
 * answers only to a live subscription.
 */
export const TWIN_RESPONSE_FILTER = '$iothub/twin/res/#';
export const TWIN_DESIRED_FILTER = '$iothub/twin/PATCH/properties/desired/#';

/**
 * The MQTT client id: the device id, or `{deviceId}/{moduleId}` for a module identity
 * (docs/clouds/azure-iot-hub.md#module-identities).
 */
export function mqttClientId(deviceId: string, moduleId?: string): string {
  return moduleId === undefined ? deviceId : `${deviceId}/${moduleId}`;
}

/**
 * `{host}/{clientId}/?api-version=…` (client id as `mqttClientId`): the hub host even when the TCP target
 * is an Edge or emulator.
 */
export function mqttUsername(hostName: string, deviceId: string, moduleId?: string): string {
  return `${hostName}/${mqttClientId(deviceId, moduleId)}/?api-version=${API_VERSION}`;
}

/** `devices/{d}` or `devices/{d}/modules/{m}`: where an identity's topics, links and SAS resource live. */
export function identityPath(deviceId: string, moduleId?: string): string {
  return moduleId === undefined ? `devices/${deviceId}` : `devices/${deviceId}/modules/${moduleId}`;
}

export function eventsTopic(deviceId: string, propertyBag: string, moduleId?: string): string {
  return `${identityPath(deviceId, moduleId)}/messages/events/${propertyBag}`;
}

export function c2dFilter(deviceId: string): string {
  return `devices/${deviceId}/messages/devicebound/#`;
}

/** The property bag of a C2D topic, or undefined when the topic is not this device's C2D topic. */
export function c2dPropertyBag(deviceId: string, topic: string): string | undefined {
  const prefix = `devices/${deviceId}/messages/devicebound/`;
  return topic.startsWith(prefix) ? topic.slice(prefix.length) : undefined;
}

/** `$iothub/methods/POST/{method}/?$rid={rid}` → its method name and request id. */
export function parseMethodTopic(topic: string): { method: string; rid: string } | undefined {
  const match = /^\$iothub\/methods\/POST\/([^/]+)\/\?\$rid=(.+)$/.exec(topic);
  if (match === null) return undefined;
  return { method: match[1]!, rid: match[2]! };
}

export function methodResponseTopic(status: number, rid: string): string {
  return `$iothub/methods/res/${status}/?$rid=${rid}`;
}
