import type * as ZwaveJs from 'zwave-js';
import type { InclusionResult, InclusionUserCallbacks, ZWaveController, ZWaveNode } from 'zwave-js';
import type { PairingSecrets } from '../adapter.js';
import type { Logger } from '../../src/logger.js';
import type { ZwaveOptions } from './options.js';
import { grantFor, pinFor } from './s2-pairing.js';

/** What an inclusion window needs from the adapter. */
export interface InclusionWindowDeps {
  controller: ZWaveController;
  /** zwave-js's enums (`InclusionStrategy`), from the adapter's lazily loaded module. */
  zwave: Pick<typeof ZwaveJs, 'InclusionStrategy'>;
  options: Pick<ZwaveOptions, 'securityKeys' | 'allowedDsks'>;
  log: Logger;
}

/**
 * One pairing window on one controller: inclusion is armed until the window ends or is closed, and re-armed
 * once each joined node is interviewed (a Z-Wave controller includes one node per inclusion). S2 questions are answered at
 * once from the window's secrets and the configured allow-list, never by waiting for a person, so a window
 * cannot hang; when the window ends, inclusion stops even if nobody joined.
 */
export class InclusionWindow {
  private isOpen = false;
  private timer: NodeJS.Timeout | undefined;
  /** The inclusion start in flight, if any: closing waits for it, or a late start would stay armed. */
  private arming: Promise<void> = Promise.resolve();
  private closing: Promise<void> | undefined;
  private readonly onNodeAdded = (node: ZWaveNode, result: InclusionResult): void => {
    if (result.lowSecurity === true)
      this.deps.log.warn(
        { nodeId: node.id, reason: result.lowSecurityReason },
        'A Z-Wave node joined with less security than it asked for.',
      );
    else this.deps.log.info({ nodeId: node.id }, 'A Z-Wave node joined; interviewing it.');
    // zwave-js holds a new node's interview while inclusion is armed, so the next one is invited only after.
    const rearm = (): void => {
      if (this.isOpen) this.arming = this.arm();
    };
    node.once('interview completed', rearm);
    node.once('interview failed', rearm);
  };

  constructor(
    private readonly deps: InclusionWindowDeps,
    private readonly secrets: PairingSecrets,
  ) {}

  /** Arms inclusion for `seconds`; resolves once the controller listens for joining nodes. */
  async open(seconds: number): Promise<void> {
    this.isOpen = true;
    this.deps.controller.on('node added', this.onNodeAdded);
    this.timer = setTimeout(() => void this.close(), seconds * 1000);
    this.timer.unref();
    this.arming = this.arm();
    await this.arming;
    this.deps.log.info({ seconds }, 'Z-Wave inclusion window open.');
  }

  /**
   * Stops inclusion; resolves once the controller has left inclusion mode. Every call, including those
   * while the window's own timer is closing it, waits for the same stop. Safe after the controller is gone.
   */
  close(): Promise<void> {
    this.closing ??= this.stop();
    return this.closing;
  }

  private async stop(): Promise<void> {
    this.isOpen = false;
    clearTimeout(this.timer);
    this.deps.controller.off('node added', this.onNodeAdded);
    await this.arming;
    // A node that is mid-bootstrap finishes joining; only the invitation to new ones ends here.
    await this.deps.controller.stopInclusion().catch(() => false);
    this.deps.log.info('Z-Wave inclusion window closed.');
  }

  private async arm(): Promise<void> {
    try {
      await this.deps.controller.beginInclusion({
        strategy: this.deps.zwave.InclusionStrategy.Default,
        userCallbacks: this.userCallbacks(),
      });
    } catch (e) {
      // Re-arming fails while the previous node is still bootstrapping; the window stays open regardless.
      this.deps.log.warn({ err: e }, 'Z-Wave inclusion could not be started.');
    }
  }

  private userCallbacks(): InclusionUserCallbacks {
    const { options, log } = this.deps;
    return {
      grantSecurityClasses: (requested) => {
        const grant = grantFor(requested.securityClasses, options.securityKeys);
        log.info(
          { requested: requested.securityClasses, granted: grant.securityClasses },
          'S2 classes granted.',
        );
        return Promise.resolve(grant as Awaited<ReturnType<InclusionUserCallbacks['grantSecurityClasses']>>);
      },
      validateDSKAndEnterPIN: (partialDsk) => {
        const pin = pinFor(partialDsk, this.secrets, options.allowedDsks);
        if (pin === undefined)
          log.warn(
            { dsk: partialDsk },
            'No PIN or allowed DSK matches the joining Z-Wave node; it joins without S2 authentication.',
          );
        return Promise.resolve(pin ?? false);
      },
      abort: () => log.warn('zwave-js gave up waiting for the S2 answers; the node joins insecurely.'),
    };
  }
}
