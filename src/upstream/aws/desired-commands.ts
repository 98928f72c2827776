import type { AwsUpstreamConfig } from '../../config/upstreams/aws.js';
import type { CommandResult } from '../../model.js';

export type DesiredMapping = AwsUpstreamConfig['shadows']['desired'];

/** A device command derived from one field of a shadow's delta. */
export interface DesiredCommand {
  field: string;
  value: unknown;
  name: string;
  args: Record<string, unknown>;
}

/** The `reported` key under which failed desired changes are explained, per field. */
export const COMMAND_ERRORS_KEY = 'commandErrors';

/**
 * The command that brings a device to a desired field's value (config `shadows.desired`): a per-value
 * command (`state: true` → `on`), a command taking the value as an argument (`interval: 60` →
 * `setInterval {seconds: 60}`), or, for fields without an entry, `set` with `{<field>: value}`. Returns
 * undefined when the field has a per-value table that lacks this value: the device cannot be told.
 */
export function commandForDesired(
  field: string,
  value: unknown,
  mapping: DesiredMapping,
): DesiredCommand | undefined {
  const rule = mapping[field];
  if (rule === undefined) return { field, value, name: 'set', args: { [field]: value } };
  if (rule.values !== undefined) {
    const name = rule.values[JSON.stringify(value)];
    return name === undefined ? undefined : { field, value, name, args: {} };
  }
  if (rule.command === undefined) return undefined;
  return { field, value, name: rule.command, args: { [rule.arg]: value } };
}

/**
 * The `reported` patch that reflects a desired command's outcome. On success the field takes the value
 * the device confirmed (`result.data[field]`) or else the desired one, so the delta clears; any earlier
 * error for the field is removed. On failure the field is left as the device last reported it and the
 * reason goes under `reported.commandErrors.<field>`, where the application that set `desired` sees it.
 */
export function reportedAfter(
  command: { field: string; value: unknown },
  result: CommandResult,
): Record<string, unknown> {
  const { field } = command;
  if (result.status === 'ok') {
    const confirmed = result.data?.[field];
    return { [field]: confirmed ?? command.value, [COMMAND_ERRORS_KEY]: { [field]: null } };
  }
  return {
    [COMMAND_ERRORS_KEY]: {
      [field]: { status: result.status, ...(result.detail === undefined ? {} : { detail: result.detail }) },
    },
  };
}
