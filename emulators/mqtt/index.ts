/**
 * The MQTT broker emulator's public API: an in-process aedes broker for the demo (`emulators.mqtt.enabled`)
 * and the tests. Not part of the release; the daemon loads it with `import()` only when the demo enables it.
 */
export { startMqttBroker, type MqttBroker, type MqttBrokerOptions } from './broker.js';
