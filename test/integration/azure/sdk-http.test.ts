import { Http } from 'azure-iot-device-http';
import { describeSdkTransport } from './sdk-suite.js';

describeSdkTransport({
  name: 'http',
  Transport: Http,
  settles: true,
  batches: true,
  methods: false,
});
