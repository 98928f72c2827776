import type * as ZwaveJs from 'zwave-js';
import type { ZWaveController, ZWaveNode } from 'zwave-js';
import { FieldgateError } from '../../src/errors.js';
import type { Logger } from '../../src/logger.js';
import { NODE_STATUS } from './availability.js';

/** What removing a node needs from the adapter. */
export interface ExclusionDeps {
  controller: ZWaveController;
  /** zwave-js's enums (`ExclusionStrategy`), from the adapter's lazily loaded module. */
  zwave: Pick<typeof ZwaveJs, 'ExclusionStrategy'>;
  /** How long the node has to answer exclusion (its button pressed) before removal gives up. */
  timeoutMs: number;
  log: Logger;
}

/**
 * Takes `node` out of the Z-Wave network. A node the controller already counts as dead cannot take part, so
 * it is dropped from the controller's list (`removeFailedNode`); a live node must be excluded, which in
 * Z-Wave needs the node's own consent: the controller listens for `timeoutMs` while the operator presses
 * the device's button. Resolves once the controller has forgotten the node; throws `FG_DEVICE_NOT_REMOVED`
 * when it still knows it (no button press in time, a different node left instead), so the operator learns
 * the device is still joined.
 */
export async function removeNode(node: ZWaveNode, deps: ExclusionDeps): Promise<void> {
  const { controller, log } = deps;
  const status: number = node.status;
  if (status === NODE_STATUS.dead) {
    try {
      await controller.removeFailedNode(node.id);
      log.info({ nodeId: node.id }, 'The dead Z-Wave node was removed from the controller.');
      return;
    } catch (e) {
      // zwave-js pings the node first; if it answered after all, it has to be excluded like a live one.
      log.info({ nodeId: node.id, err: e }, 'The Z-Wave node is not dead after all; excluding it instead.');
    }
  }
  await exclude(node, deps);
}

async function exclude(node: ZWaveNode, deps: ExclusionDeps): Promise<void> {
  const { controller, log } = deps;
  let settle: (removedId: number | undefined) => void = () => undefined;
  const outcome = new Promise<number | undefined>((resolve) => (settle = resolve));
  const onRemoved = (removed: ZWaveNode): void => settle(removed.id);
  const onStopped = (): void => settle(undefined);
  const timer = setTimeout(onStopped, deps.timeoutMs);
  controller.on('node removed', onRemoved);
  controller.on('exclusion failed', onStopped);
  try {
    const isStarted = await controller.beginExclusion({ strategy: deps.zwave.ExclusionStrategy.ExcludeOnly });
    if (!isStarted)
      throw new FieldgateError(
        'FG_DEVICE_NOT_REMOVED',
        'the Z-Wave controller is busy including or excluding',
        { context: { inclusionState: controller.inclusionState } },
      );
    log.info(
      { nodeId: node.id, timeoutMs: deps.timeoutMs },
      'Z-Wave exclusion started; press the device’s button (or its exclusion sequence) now.',
    );
    const removedId = await outcome;
    if (removedId !== node.id) {
      throw new FieldgateError(
        'FG_DEVICE_NOT_REMOVED',
        removedId === undefined
          ? `Z-Wave node ${node.id} did not answer exclusion in time; it is still in the network`
          : `Z-Wave node ${removedId} left instead of node ${node.id}`,
        { context: { nodeId: node.id } },
      );
    }
  } finally {
    clearTimeout(timer);
    controller.off('node removed', onRemoved);
    controller.off('exclusion failed', onStopped);
    // Exclusion must never stay armed: a node that is pressed later would leave unasked.
    await controller.stopExclusion().catch(() => false);
  }
}
