import { CommandClasses } from '@zwave-js/core';
import { ccCaps, type MockNode, type MockNodeBehavior } from '@zwave-js/testing';
import type { MockStick } from './mock-stick.js';

type NodeOptions = Parameters<MockStick['addNode']>[0];
type CommandClassList = NonNullable<NonNullable<NodeOptions['capabilities']>['commandClasses']>;

/**
 * A mains-powered plug as the mock controller takes it (for `addNode` or `joinOnNextInclusion`): a binary
 * switch, off until the host sets it, with manufacturer and product ids and firmware `1.7` for the
 * interview to report, and `extra` command classes.
 */
export function plugNode(id: number, extra: CommandClassList = []): NodeOptions {
  return {
    id,
    capabilities: {
      manufacturerId: 0x0086,
      productType: 0x0003,
      productId: 0x0060,
      firmwareVersion: '1.7',
      commandClasses: [
        CommandClasses.Version,
        CommandClasses['Manufacturer Specific'],
        ccCaps({ ccId: CommandClasses['Binary Switch'], isSupported: true, version: 2, defaultValue: false }),
        ...extra,
      ],
    },
  };
}

/** Node 2, already in the network: a plug that also reports an air temperature of 21.5 °C. */
export function addSwitchWithThermometer(stick: MockStick): Promise<MockNode> {
  const thermometer = ccCaps({
    ccId: CommandClasses['Multilevel Sensor'],
    isSupported: true,
    version: 11,
    sensors: { 1: { supportedScales: [0] } },
    getValue: () => 21.5,
  });
  return stick.addNode(plugNode(2, [thermometer]));
}

/**
 * Node 2, already in the network: a plug with two configuration parameters (1: LED brightness, 1 byte,
 * default 10; 2: report interval, 2 bytes, default 60) and ids no device-database entry has, so the
 * parameters come from the device's own answers. `behaviors` see the frames it receives.
 */
export function addConfigurablePlug(stick: MockStick, behaviors: MockNodeBehavior[] = []): Promise<MockNode> {
  const configuration = ccCaps({
    ccId: CommandClasses.Configuration,
    isSupported: true,
    version: 4,
    parameters: [
      { '#': 1, valueSize: 1, minValue: 0, maxValue: 99, defaultValue: 10, name: 'LED brightness' },
      { '#': 2, valueSize: 2, minValue: 0, maxValue: 3600, defaultValue: 60, name: 'Report interval' },
    ],
  });
  const plug = plugNode(2, [configuration]);
  return stick.addNode(
    { ...plug, capabilities: { ...plug.capabilities, manufacturerId: 0x7ff0, productType: 1, productId: 1 } },
    behaviors,
  );
}
