import { describeDaemonAgainstHub } from './daemon-suite.js';

describeDaemonAgainstHub('https');
