/**
 * The MQTT property bag of IoT Hub topics (docs/clouds/azure-iot-hub.md#property-bag): `k1=v1&k2=v2`, each
 * key and value
 * percent-encoded. System properties start with `$.` (`$.mid`, `$.ct`…); the Node SDK writes `$` as `%24`
 * and the docs write it literally, so decoding accepts both. A key without `=` has a null value.
 */
export type PropertyBag = Record<string, string | null>;

/** Encode like the Node SDK's `querystring.stringify`: `$` becomes `%24`, space `%20`. */
export function formatPropertyBag(properties: Readonly<Record<string, string>>): string {
  return Object.entries(properties)
    .map(([key, value]) => `${encodeURIComponent(key)}=${encodeURIComponent(value)}`)
    .join('&');
}

/** Decode a bag; a malformed escape keeps its text as is rather than failing the message. */
export function parsePropertyBag(bag: string): PropertyBag {
  const properties: PropertyBag = {};
  for (const pair of bag.split('&')) {
    if (pair === '') continue;
    const at = pair.indexOf('=');
    if (at < 0) properties[decode(pair)] = null;
    else properties[decode(pair.slice(0, at))] = decode(pair.slice(at + 1));
  }
  return properties;
}

function decode(text: string): string {
  try {
    return decodeURIComponent(text);
  } catch {
    return text;
  }
}
