import { access, constants } from 'node:fs/promises';

/**
 * Why a coordinator on `port` could not be opened, when the cause is the serial device itself; undefined
 * for network coordinators (`tcp://`), auto-detection (no port) and ports that look usable.
 *
 * zigbee-herdsman reports a missing or forbidden serial device only as a failed protocol start (for
 * EmberZNet: "Failed to start EZSP layer with status=HOST_FATAL_ERROR"), which tells an operator nothing,
 * so after a failed open the adapter asks the file system.
 */
export async function serialPortProblem(port: string | undefined): Promise<string | undefined> {
  if (port === undefined || /^[a-z]+:\/\//i.test(port)) return undefined;
  try {
    await access(port, constants.R_OK | constants.W_OK);
    return undefined;
  } catch (e) {
    const code = (e as { code?: unknown }).code;
    if (code === 'ENOENT') return `serial port ${port} does not exist (is the coordinator plugged in?)`;
    if (code === 'EACCES' || code === 'EPERM') {
      return `no permission to open serial port ${port} (the service user needs the dialout group)`;
    }
    return undefined;
  }
}
