import { Mqtt } from 'azure-iot-device-mqtt';
import { describeSdkTransport } from './sdk-suite.js';

describeSdkTransport({
  name: 'mqtt',
  Transport: Mqtt,
  settles: false,
  batches: false,
  methods: true,
});
