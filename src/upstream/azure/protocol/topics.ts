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

/** `{host}/{deviceId}/?api-version=…`: the hub host even when the TCP target is an Edge or emulator. */
export function mqttUsername(hostName: string, deviceId: string): string {
  return `${hostName}/${deviceId}/?api-version=${API_VERSION}`;
}

export function eventsTopic(deviceId: string, propertyBag: string): string {
  return `devices/${deviceId}/messages/events/${propertyBag}`;
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
