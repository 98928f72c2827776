import type * as ZwaveJs from 'zwave-js';
import type {
  Driver,
  PlannedProvisioningEntry,
  SmartStartProvisioningEntry,
  ZWaveController,
} from 'zwave-js';
import type { ProvisioningEntry } from '../adapter.js';
import { FieldgateError, errorMessage } from '../../src/errors.js';
import { SECURITY_CLASS } from './s2-pairing.js';

type Zwave = Pick<typeof ZwaveJs, 'parseQRCodeString' | 'QRCodeVersion' | 'ProvisioningEntryStatus'>;

const DSK = /^\d{5}(-\d{5}){7}$/;
const QR = /^90\d{50,}$/;

/** SmartStart devices are S2 devices; a bare DSK says nothing of which classes, so all three are granted. */
const S2_CLASSES = [
  SECURITY_CLASS.s2AccessControl,
  SECURITY_CLASS.s2Authenticated,
  SECURITY_CLASS.s2Unauthenticated,
];

const CLASS_NAMES: Readonly<Record<number, string>> = {
  [SECURITY_CLASS.s2Unauthenticated]: 's2Unauthenticated',
  [SECURITY_CLASS.s2Authenticated]: 's2Authenticated',
  [SECURITY_CLASS.s2AccessControl]: 's2AccessControl',
  [SECURITY_CLASS.s0Legacy]: 's0Legacy',
};

/**
 * The provisioning entry for a SmartStart QR code (`90…`, the digits under the code on the label) or a DSK
 * (`12345-…-12345`). The QR code's requested security classes are granted as requested. A QR code of
 * version "S2" (not SmartStart) is refused: that device must be paired by hand (`fieldgate pair --dsk`).
 * @throws FieldgateError `FG_USAGE` for anything else, or a QR code whose checksum does not match.
 */
export async function provisioningEntryFor(code: string, zwave: Zwave): Promise<PlannedProvisioningEntry> {
  const text = code.trim();
  if (DSK.test(text)) return { dsk: text, securityClasses: [...S2_CLASSES] };
  if (!QR.test(text))
    throw new FieldgateError(
      'FG_USAGE',
      'expected a SmartStart QR code (the digits starting with 90 under the code) or a DSK (8 groups of 5 digits)',
    );
  let info: Awaited<ReturnType<Zwave['parseQRCodeString']>>;
  try {
    info = await zwave.parseQRCodeString(text);
  } catch (e) {
    throw new FieldgateError('FG_USAGE', `not a valid Z-Wave QR code: ${errorMessage(e)}`, { cause: e });
  }
  if (info.version !== zwave.QRCodeVersion.SmartStart)
    throw new FieldgateError(
      'FG_USAGE',
      'this QR code is for S2 pairing, not SmartStart: pair the device with `fieldgate pair --adapter <name> --dsk <its DSK>`',
    );
  return { ...info, securityClasses: [...info.requestedSecurityClasses] };
}

/** One provisioning entry as the gateway shows it. */
export function toProvisioningEntry(
  entry: SmartStartProvisioningEntry,
  zwave: Zwave,
  deviceIdOf: (nodeId: number) => string,
): ProvisioningEntry {
  const shown: ProvisioningEntry = {
    dsk: entry.dsk,
    securityClasses: entry.securityClasses.map((c) => CLASS_NAMES[c] ?? `class${c}`),
    status: entry.status === zwave.ProvisioningEntryStatus.Inactive ? 'inactive' : 'active',
  };
  if ('nodeId' in entry && typeof entry.nodeId === 'number') shown.device = deviceIdOf(entry.nodeId);
  const product = entry as Partial<Record<'manufacturerId' | 'productType' | 'productId', number>>;
  if (
    product.manufacturerId !== undefined &&
    product.productType !== undefined &&
    product.productId !== undefined
  )
    shown.product = [product.manufacturerId, product.productType, product.productId]
      .map((n) => `0x${n.toString(16).padStart(4, '0')}`)
      .join(':');
  return shown;
}

/**
 * Adds `code` to the controller's SmartStart list (zwave-js keeps it in its network cache, so it survives
 * restarts); the controller includes the device by itself when it powers up in range. An entry with the
 * same DSK is replaced.
 */
export async function provision(
  controller: ZWaveController,
  code: string,
  zwave: Zwave,
): Promise<PlannedProvisioningEntry> {
  const entry = await provisioningEntryFor(code, zwave);
  try {
    controller.provisionSmartStartNode(entry);
  } catch (e) {
    throw new FieldgateError('FG_USAGE', `the controller refused the entry: ${errorMessage(e)}`, {
      cause: e,
    });
  }
  return entry;
}

/**
 * Takes the controller out of SmartStart listening mode before its driver is destroyed; the entries stay
 * and the next driver listens again once it has started.
 *
 * zwave-js (15.29) turns listening back on whenever its controller goes idle while an entry is active. When
 * that request fails because the driver is being destroyed (the gateway stops, or the stick was lost while
 * the request was on its way), the failure sets the controller idle, which requests listening again, which
 * fails at once: a loop of promise callbacks that never yields, so timers, I/O and SIGTERM never run again.
 * `disableSmartStart` clears the "listen again" flag before its first await, which ends that loop.
 */
export function leaveSmartStartListening(driver: Driver): void {
  let controller: unknown;
  try {
    controller = driver.controller;
  } catch {
    return; // No controller yet (the driver never got that far): nothing is listening.
  }
  // Declared private in zwave-js's types; the integration test `smartstart.test.ts` (SIGTERM while the stick
  // has not answered a listen request) fails if a zwave-js upgrade renames it.
  const disable = (controller as { disableSmartStart?: unknown }).disableSmartStart;
  if (typeof disable !== 'function') return;
  void (disable as () => Promise<unknown>).call(controller).catch(() => undefined);
}
