import { TWIN_DESIRED_FILTER, TWIN_RESPONSE_FILTER } from '../../src/upstream/azure/protocol/topics.js';
import { TwinPatchError, parsePatch, type DesiredPatch, type TwinStore } from './twin-store.js';

/**
 * The twin side of the emulator's MQTT front end (docs/clouds/azure-iot-hub.md#mqtt-topics): answers a
 * device's GET and reported
 * PATCH on `$iothub/twin/res/{status}/?$rid={rid}[&$version={v}]`, and names the topic a desired patch
 * is pushed on. Pure apart from the store it is given.
 */

export { TWIN_DESIRED_FILTER, TWIN_RESPONSE_FILTER };

export interface MqttReply {
  topic: string;
  payload: Buffer;
}

const GET = /^\$iothub\/twin\/GET\/\?\$rid=([^&]+)$/;
const PATCH_REPORTED = /^\$iothub\/twin\/PATCH\/properties\/reported\/\?\$rid=([^&]+)$/;

/**
 * The response to a device's publish on a `$iothub/twin/` topic, or an Error for a topic the hub does not
 * serve (the front end closes the connection for it, as for any topic outside the ACL).
 */
export function answerTwinRequest(
  twins: TwinStore,
  deviceId: string,
  topic: string,
  payload: Buffer,
): MqttReply | Error {
  const get = GET.exec(topic);
  if (get !== null) {
    return { topic: responseTopic(200, get[1]!), payload: Buffer.from(JSON.stringify(twins.read(deviceId))) };
  }
  const patch = PATCH_REPORTED.exec(topic);
  if (patch === null) return new Error(`publishing to ${topic} is not allowed`);
  const rid = patch[1]!;
  try {
    const version = twins.patchReported(deviceId, parsePatch(payload));
    return { topic: responseTopic(204, rid, version), payload: Buffer.alloc(0) };
  } catch (e) {
    if (!(e instanceof TwinPatchError)) throw e;
    // The Node SDK treats a response body with `errorCode` as the error's detail.
    const body = { errorCode: e.status * 1000 + 1, message: e.message };
    return { topic: responseTopic(e.status, rid), payload: Buffer.from(JSON.stringify(body)) };
  }
}

/** Where a desired patch goes to a subscribed device. */
export function desiredPatchMessage(patch: DesiredPatch): MqttReply {
  return {
    topic: `$iothub/twin/PATCH/properties/desired/?$version=${patch.$version}`,
    payload: Buffer.from(JSON.stringify(patch)),
  };
}

function responseTopic(status: number, rid: string, version?: number): string {
  return `$iothub/twin/res/${status}/?$rid=${rid}${version === undefined ? '' : `&$version=${version}`}`;
}
