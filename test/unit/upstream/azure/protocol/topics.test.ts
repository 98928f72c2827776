import { describe, expect, it } from 'vitest';
import {
  c2dFilter,
  c2dPropertyBag,
  eventsTopic,
  methodResponseTopic,
  METHODS_FILTER,
  mqttClientId,
  mqttUsername,
  parseMethodTopic,
  TWIN_DESIRED_FILTER,
  TWIN_RESPONSE_FILTER,
} from '../../../../../src/upstream/azure/protocol/topics.js';

// The topic strings of Microsoft's "Communicate with an IoT hub using the MQTT protocol"
// (docs/clouds/azure-iot-hub.md#mqtt-topics), filled in for device `device1`.
describe('IoT Hub MQTT topics (documented strings)', () => {
  it('names the username {host}/{deviceId}/?api-version=…', () => {
    expect(mqttUsername('myhub.azure-devices.net', 'device1')).toBe(
      'myhub.azure-devices.net/device1/?api-version=2021-04-12',
    );
  });

  it('publishes D2C on devices/{id}/messages/events/{property_bag}', () => {
    expect(eventsTopic('device1', '$.ct=application%2Fjson&$.ce=utf-8')).toBe(
      'devices/device1/messages/events/$.ct=application%2Fjson&$.ce=utf-8',
    );
  });

  it('names a module identity {deviceId}/{moduleId} in the client id, username and events topic', () => {
    expect(mqttClientId('device1', 'module1')).toBe('device1/module1');
    expect(mqttUsername('myhub.azure-devices.net', 'device1', 'module1')).toBe(
      'myhub.azure-devices.net/device1/module1/?api-version=2021-04-12',
    );
    expect(eventsTopic('device1', '', 'module1')).toBe('devices/device1/modules/module1/messages/events/');
  });

  it('subscribes C2D on devices/{id}/messages/devicebound/# and reads the bag after the prefix', () => {
    expect(c2dFilter('device1')).toBe('devices/device1/messages/devicebound/#');
    expect(c2dPropertyBag('device1', 'devices/device1/messages/devicebound/%24.mid=42&cmd=reboot')).toBe(
      '%24.mid=42&cmd=reboot',
    );
    expect(c2dPropertyBag('device1', 'devices/device2/messages/devicebound/%24.mid=42')).toBeUndefined();
  });

  it('receives direct methods on $iothub/methods/POST/{method}/?$rid={rid} and answers on …/res/{status}', () => {
    expect(METHODS_FILTER).toBe('$iothub/methods/POST/#');
    expect(parseMethodTopic('$iothub/methods/POST/reboot/?$rid=1')).toEqual({ method: 'reboot', rid: '1' });
    expect(parseMethodTopic('$iothub/methods/res/200/?$rid=1')).toBeUndefined();
    expect(methodResponseTopic(200, '1')).toBe('$iothub/methods/res/200/?$rid=1');
  });

  it('subscribes to twin responses and desired patches', () => {
    expect(TWIN_RESPONSE_FILTER).toBe('$iothub/twin/res/#');
    expect(TWIN_DESIRED_FILTER).toBe('$iothub/twin/PATCH/properties/desired/#');
  });
});
