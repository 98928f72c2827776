import { describe, expect, it } from 'vitest';
import { gatewayThingPolicy, isAllowed, type PolicyDocument } from '../../../../emulators/aws/index.js';

const thingPolicy = [gatewayThingPolicy()];
const asThing = { clientId: 'gw-1', thingName: 'gw-1' };

describe('IoT policy evaluation', () => {
  it.each([
    ['iot:Connect', 'gw-1', asThing, true],
    ['iot:Connect', 'gw-2', { clientId: 'gw-2', thingName: 'gw-2' }, true],
    // A client id that is not a thing attached to the certificate leaves the ThingName variable unset.
    ['iot:Connect', 'intruder', { clientId: 'intruder' }, false],
    ['iot:Publish', 'dt/fieldgate/gw-1/sim:thermo-01', asThing, true],
    ['iot:Publish', 'dt/fieldgate/gw-2/sim:thermo-01', asThing, false],
    ['iot:Publish', 'dt/fieldgate/gw-1', asThing, true],
    ['iot:Publish', 'dt/fieldgate/gw-2', asThing, false],
    ['iot:Publish', '$aws/rules/ingest/gw-1', asThing, true],
    ['iot:Subscribe', 'cmd/fieldgate/gw-1/+/req', asThing, true],
    ['iot:Subscribe', 'cmd/fieldgate/gw-1/#', asThing, false],
    ['iot:Receive', 'cmd/fieldgate/gw-1/sim:switch-01/req', asThing, true],
    ['iot:Receive', 'cmd/fieldgate/gw-2/sim:switch-01/req', asThing, false],
  ] as const)('%s %s → %s', (action, name, subject, allowed) => {
    expect(isAllowed(thingPolicy, action, name, subject)).toBe(allowed);
  });

  it('lets an explicit deny win over any allow, and denies by default', () => {
    const policies: PolicyDocument[] = [
      { Statement: [{ Effect: 'Allow', Action: 'iot:*', Resource: '*' }] },
      { Statement: [{ Effect: 'Deny', Action: 'iot:Publish', Resource: 'arn:aws:iot:*:*:topic/secret/*' }] },
    ];
    expect(isAllowed(policies, 'iot:Publish', 'public/x', { clientId: 'c' })).toBe(true);
    expect(isAllowed(policies, 'iot:Publish', 'secret/x', { clientId: 'c' })).toBe(false);
    expect(isAllowed([], 'iot:Connect', 'c', { clientId: 'c' })).toBe(false);
  });

  it('treats MQTT wildcards in a resource as plain characters', () => {
    const policies: PolicyDocument[] = [
      {
        Statement: [
          { Effect: 'Allow', Action: 'iot:Subscribe', Resource: 'arn:aws:iot:*:*:topicfilter/a/+' },
        ],
      },
    ];
    expect(isAllowed(policies, 'iot:Subscribe', 'a/+', { clientId: 'c' })).toBe(true);
    expect(isAllowed(policies, 'iot:Subscribe', 'a/b', { clientId: 'c' })).toBe(false);
  });
});
