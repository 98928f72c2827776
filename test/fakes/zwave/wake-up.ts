import { WakeUpCCWakeUpNotification } from '@zwave-js/cc';
import { createMockZWaveRequestFrame, type MockNode } from '@zwave-js/testing';

/** The battery node wakes up (timer or button) and tells the controller so, as a real one does. */
export async function wakeUp(node: MockNode): Promise<void> {
  await node.sendToController(
    createMockZWaveRequestFrame(new WakeUpCCWakeUpNotification({ nodeId: node.controller.ownNodeId }), {
      ackRequested: false,
    }),
  );
}
