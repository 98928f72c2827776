import { Amqp } from 'azure-iot-device-amqp';
import { describeSdkTransport } from './sdk-suite.js';

describeSdkTransport({
  name: 'amqp',
  Transport: Amqp,
  settles: true,
  batches: false,
  methods: true,
});
