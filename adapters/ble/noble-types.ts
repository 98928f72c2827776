import type { EventEmitter } from 'node:events';

/**
 * The part of @abandonware/noble 1.9.2 that the adapter uses, typed here because the package ships types
 * only for its default singleton, not for `with-custom-binding` instances.
 */

export type NobleState =
  'unknown' | 'resetting' | 'unsupported' | 'unauthorized' | 'poweredOff' | 'poweredOn';

export interface NobleAdvertisement {
  localName?: string | undefined;
  serviceData?: { uuid: string; data: Buffer }[] | undefined;
  manufacturerData?: Buffer | undefined;
  serviceUuids?: string[] | undefined;
}

export interface NobleCharacteristic extends EventEmitter {
  readonly uuid: string;
  readonly _serviceUuid: string;
  readAsync(): Promise<Buffer>;
  writeAsync(data: Buffer, withoutResponse: boolean): Promise<void>;
  subscribeAsync(): Promise<void>;
}

export interface NoblePeripheral extends EventEmitter {
  readonly address: string;
  readonly connectable: boolean;
  readonly rssi: number;
  readonly state: 'error' | 'connecting' | 'connected' | 'disconnecting' | 'disconnected';
  readonly advertisement: NobleAdvertisement;
  connectAsync(): Promise<void>;
  disconnectAsync(): Promise<void>;
  cancelConnect(): void;
  discoverSomeServicesAndCharacteristicsAsync(
    serviceUuids: string[],
    characteristicUuids: string[],
  ): Promise<{ characteristics: NobleCharacteristic[] }>;
}

export interface Noble extends EventEmitter {
  readonly state: NobleState;
  startScanningAsync(serviceUuids: string[], allowDuplicates: boolean): Promise<void>;
  stopScanningAsync(): Promise<void>;
  /**
   * noble's HCI bindings; touched only to detach their SIGINT handler and to hear raw advertising reports
   * (see radio.ts).
   */
  readonly _bindings: { onSigIntBinded?: () => void; _hci?: EventEmitter };
}
